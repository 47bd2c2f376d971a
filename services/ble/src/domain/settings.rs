//! The node settings ESPresense exposes over MQTT: defaults, `/set` commands with validation, and
//! the retained snapshot. A rejected value leaves the setting as it was.

use super::irk::Irk;
use crate::error::SettingError;

/// A space-separated list matched by case-insensitive prefix (`include`, `exclude`, `query`,
/// `count_ids`, `known_macs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixList {
    raw: String,
    lowered: Vec<String>,
}

impl PrefixList {
    /// Parses the list as written.
    pub fn parse(raw: &str) -> PrefixList {
        let raw = raw.trim().to_string();
        let lowered = raw.split_whitespace().map(str::to_ascii_lowercase).collect();
        PrefixList { raw, lowered }
    }

    /// Whether `id` starts with one of the entries (ignoring ASCII case).
    pub fn matches(&self, id: &str) -> bool {
        let b = id.as_bytes();
        self.lowered
            .iter()
            .any(|p| b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
    }

    /// Whether `id` equals one of the entries (ignoring ASCII case).
    pub fn contains_exact(&self, id: &str) -> bool {
        self.lowered.iter().any(|p| p.eq_ignore_ascii_case(id))
    }

    /// The list as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.lowered.is_empty()
    }
}

/// The node's ESPresense settings; defaults from the firmware's `defaults.h` (v4).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSettings {
    /// Devices farther than this are not reported (0 = off), metres. Default 16.
    pub max_distance: f32,
    /// Path-loss exponent. Default 2.7.
    pub absorption: f32,
    /// RSSI of a 0 dBm transmitter at 1 m, dBm. Default −65.
    pub ref_rssi: i16,
    /// Receiver adjustment, subtracted from every raw RSSI, dB. Default 0.
    pub rx_adj_rssi: i16,
    /// Power byte of the node's own iBeacon, dBm. Default −59.
    pub tx_ref_rssi: i16,
    /// Movement that allows an early report, metres. Default 0.5.
    pub skip_distance: f32,
    /// Report period, ms. Default 5000.
    pub skip_ms: u64,
    /// Largest divisor of `skip_ms` for early reports. Default 10.
    pub max_divisor: u8,
    /// Devices unseen this long are forgotten, ms. Default 150000.
    pub forget_ms: u64,
    /// GATT re-query period (kept for the snapshot; this node does not query), s. Default 300.
    pub requery_s: u64,
    /// Only ids matching these prefixes are reported (empty = all).
    pub include: PrefixList,
    /// Ids matching these prefixes are never reported.
    pub exclude: PrefixList,
    /// Ids to query over GATT (accepted, echoed; not acted on).
    pub query: PrefixList,
    /// Ids that are counted.
    pub count_ids: PrefixList,
    /// MACs (12 hex) reported as `known:<mac>`.
    pub known_macs: PrefixList,
    /// IRKs to resolve private addresses with, effective at once.
    pub known_irks: Vec<Irk>,
    /// The `known_irks` text as written, for the snapshot.
    pub known_irks_raw: String,
    /// A counted device starts counting within this distance, metres. Default 2.
    pub count_enter: f32,
    /// A counted device stops counting beyond this distance, metres. Default 4.
    pub count_exit: f32,
    /// A counted device stops counting when unseen this long, ms. Default 10000.
    pub count_ms: u64,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            max_distance: 16.0,
            absorption: 2.7,
            ref_rssi: -65,
            rx_adj_rssi: 0,
            tx_ref_rssi: -59,
            skip_distance: 0.5,
            skip_ms: 5000,
            max_divisor: 10,
            forget_ms: 150_000,
            requery_s: 300,
            include: PrefixList::default(),
            exclude: PrefixList::default(),
            query: PrefixList::default(),
            count_ids: PrefixList::default(),
            known_macs: PrefixList::default(),
            known_irks: Vec::new(),
            known_irks_raw: String::new(),
            count_enter: 2.0,
            count_exit: 4.0,
            count_ms: 10_000,
        }
    }
}

/// What a successful `/set` changed, so the caller knows what to redo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingChange {
    /// A number used by the filter or the gate.
    Tuning,
    /// `include`/`exclude`/`count_ids`/`known_macs`: ids and visibility must be re-derived.
    Lists,
    /// `known_irks`: the IRK table must be rebuilt.
    Irks,
    /// Nothing this crate acts on (`query`, `requery_ms`).
    Echo,
}

fn number(payload: &str, min: f64, max: f64) -> Result<f64, SettingError> {
    let v: f64 = payload.trim().parse().map_err(|_| SettingError::NotANumber)?;
    if !v.is_finite() {
        return Err(SettingError::NotANumber);
    }
    if v < min || v > max {
        return Err(SettingError::OutOfRange { min, max });
    }
    Ok(v)
}

impl NodeSettings {
    /// Applies `espresense/rooms/<room>/<key>/set` with `payload`. Accepts ESPresense's keys and
    /// ESPresense-companion's spellings (`forget_after_ms`, `count_min_dist`, `count_max_dist`).
    /// On error nothing changes.
    pub fn apply(&mut self, key: &str, payload: &str) -> Result<SettingChange, SettingError> {
        use SettingChange::*;
        match key {
            "max_distance" => self.max_distance = number(payload, 0.0, 100.0)? as f32,
            "absorption" => self.absorption = number(payload, 1.0, 5.0)? as f32,
            "ref_rssi" => self.ref_rssi = number(payload, -100.0, 100.0)?.round() as i16,
            "rx_adj_rssi" => self.rx_adj_rssi = number(payload, -100.0, 100.0)?.round() as i16,
            "tx_ref_rssi" => self.tx_ref_rssi = number(payload, -100.0, 0.0)?.round() as i16,
            "skip_distance" => self.skip_distance = number(payload, 0.0, 100.0)? as f32,
            "skip_ms" => self.skip_ms = number(payload, 0.0, 3_600_000.0)? as u64,
            "max_divisor" => self.max_divisor = number(payload, 2.0, 10.0)? as u8,
            "forget_ms" | "forget_after_ms" => {
                self.forget_ms = number(payload, 1000.0, 86_400_000.0)? as u64
            }
            "requery_ms" => {
                self.requery_s = (number(payload, 30_000.0, 3_600_000.0)? / 1000.0) as u64;
                return Ok(Echo);
            }
            "count_enter" | "count_min_dist" => {
                let v = number(payload, 0.0, 100.0)? as f32;
                self.count_enter = v;
            }
            "count_exit" | "count_max_dist" => {
                self.count_exit = number(payload, 0.0, 100.0)? as f32
            }
            "count_ms" => self.count_ms = number(payload, 0.0, 86_400_000.0)? as u64,
            "include" => {
                self.include = PrefixList::parse(payload);
                return Ok(Lists);
            }
            "exclude" => {
                self.exclude = PrefixList::parse(payload);
                return Ok(Lists);
            }
            "count_ids" => {
                self.count_ids = PrefixList::parse(payload);
                return Ok(Lists);
            }
            "known_macs" => {
                self.known_macs = PrefixList::parse(payload);
                return Ok(Lists);
            }
            "query" => {
                self.query = PrefixList::parse(payload);
                return Ok(Echo);
            }
            "known_irks" => {
                let irks =
                    payload.split_whitespace().map(Irk::parse).collect::<Result<Vec<_>, _>>()?;
                self.known_irks = irks;
                self.known_irks_raw = payload.trim().to_string();
                return Ok(Irks);
            }
            "max_fingerprints" => return Err(SettingError::ReadOnly),
            _ => return Err(SettingError::UnknownKey),
        }
        Ok(Tuning)
    }

    /// The retained snapshot ESPresense publishes to `espresense/rooms/<room>/<key>` (after
    /// `name`, which the caller adds), in firmware order.
    pub fn snapshot(&self) -> Vec<(&'static str, String)> {
        vec![
            ("max_distance", fmt_num(self.max_distance)),
            ("absorption", fmt_num(self.absorption)),
            ("tx_ref_rssi", self.tx_ref_rssi.to_string()),
            ("rx_adj_rssi", self.rx_adj_rssi.to_string()),
            ("query", self.query.as_str().to_string()),
            ("include", self.include.as_str().to_string()),
            ("exclude", self.exclude.as_str().to_string()),
            ("known_macs", self.known_macs.as_str().to_string()),
            ("known_irks", self.known_irks_raw.clone()),
            ("count_ids", self.count_ids.as_str().to_string()),
        ]
    }
}

/// Numbers as the firmware's `String(float)`: two decimals.
fn fmt_num(v: f32) -> String {
    format!("{v:.2}")
}

/// A parsed `espresense/rooms/<room>/<key>/set` topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetTopic<'a> {
    /// The room segment; `*` addresses every node.
    pub room: &'a str,
    /// The setting key.
    pub key: &'a str,
}

impl<'a> SetTopic<'a> {
    /// Parses a set topic; `None` for anything else.
    pub fn parse(topic: &'a str) -> Option<SetTopic<'a>> {
        let rest = topic.strip_prefix("espresense/rooms/")?.strip_suffix("/set")?;
        let (room, key) = rest.split_once('/')?;
        (!room.is_empty() && !key.is_empty() && !key.contains('/'))
            .then_some(SetTopic { room, key })
    }

    /// Whether the command is for the node in `room` (its slug), directly or via the `*` room.
    pub fn is_for(&self, room: &str) -> bool {
        self.room == "*" || self.room == room
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companion_spellings_set_the_same_settings() {
        let mut s = NodeSettings::default();
        s.apply("forget_after_ms", "60000").unwrap();
        s.apply("count_min_dist", "1.5").unwrap();
        s.apply("count_max_dist", "3").unwrap();
        assert_eq!((s.forget_ms, s.count_enter, s.count_exit), (60_000, 1.5, 3.0));
        s.apply("forget_ms", "70000").unwrap();
        s.apply("count_enter", "1").unwrap();
        s.apply("count_exit", "5").unwrap();
        assert_eq!((s.forget_ms, s.count_enter, s.count_exit), (70_000, 1.0, 5.0));
    }

    #[test]
    fn invalid_values_are_rejected_and_leave_the_setting_unchanged() {
        let mut s = NodeSettings::default();
        assert_eq!(s.apply("absorption", "abc"), Err(SettingError::NotANumber));
        assert_eq!(
            s.apply("absorption", "9"),
            Err(SettingError::OutOfRange { min: 1.0, max: 5.0 })
        );
        assert_eq!(s.apply("absorption", "NaN"), Err(SettingError::NotANumber));
        assert!(s.apply("known_irks", "irk:00 zz").is_err());
        assert_eq!(s.apply("nonsense", "1"), Err(SettingError::UnknownKey));
        assert_eq!(s, NodeSettings::default());
    }

    #[test]
    fn prefix_lists_match_case_insensitively() {
        let l = PrefixList::parse(" iBeacon: irk:AB ");
        assert!(l.matches("ibeacon:1234"));
        assert!(l.matches("irk:abcd"));
        assert!(!l.matches("irk:a"));
        assert!(!l.matches("apple:1005"));
        assert_eq!(l.as_str(), "iBeacon: irk:AB");
    }

    #[test]
    fn set_topics_address_a_room_or_every_room() {
        let t = SetTopic::parse("espresense/rooms/*/absorption/set").unwrap();
        assert!(t.is_for("kitchen") && t.key == "absorption");
        let t = SetTopic::parse("espresense/rooms/office/max_distance/set").unwrap();
        assert!(t.is_for("office") && !t.is_for("kitchen"));
        assert_eq!(SetTopic::parse("espresense/rooms/office/max_distance"), None);
        assert_eq!(SetTopic::parse("espresense/rooms//x/set"), None);
    }

    #[test]
    fn the_snapshot_echoes_settings_with_two_decimals() {
        let s = NodeSettings::default();
        let snap = s.snapshot();
        assert_eq!(snap[0], ("max_distance", "16.00".to_string()));
        assert_eq!(snap[1], ("absorption", "2.70".to_string()));
    }
}
