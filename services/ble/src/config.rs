//! The `[ble]` section of roomsense.toml: read as written, then validated into what the service
//! runs on. Runtime changes arrive later as ESPresense `/set` commands (see [`NodeSettings`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::settings::NodeSettings;
use crate::domain::text::slugify;

/// The `[ble]` section as the user wrote it. Every field has the documented default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BleConfig {
    /// Room name; its slug is the `<room>` topic segment (`Living Room` → `living_room`).
    /// Default: `[node] room`. Restart to change.
    pub room: Option<String>,
    /// BlueZ adapter name (`hci0`); unset = BlueZ's default adapter. Restart to change.
    pub adapter: Option<String>,
    /// Most devices tracked at once; least recently seen (random MACs first) are evicted.
    /// Default 10000. Restart to change.
    pub max_devices: usize,
    /// Re-arm discovery when no advertisement arrived for this long, ms. Default 60000.
    pub no_advert_timeout_ms: u64,
    /// Devices farther than this are not reported (0 = off), m. Default 16. Runtime: `/set`.
    pub max_distance: f32,
    /// Path-loss exponent, 1–5. Default 2.7. Runtime: `/set`.
    pub absorption: f32,
    /// RSSI of a 0 dBm transmitter at 1 m, dBm. Default −65. Runtime: `/set`.
    pub ref_rssi: i16,
    /// Receiver adjustment subtracted from raw RSSI, dB. Default 0. Runtime: `/set`.
    pub rx_adj_rssi: i16,
    /// Power byte of the node's iBeacon, dBm. Default −59. Runtime: `/set`.
    pub tx_ref_rssi: i16,
    /// Movement that allows an early report, m. Default 0.5. Runtime: `/set`.
    pub skip_distance: f32,
    /// Report period per device, ms. Default 5000. Runtime: `/set`.
    pub skip_ms: u64,
    /// Forget devices unseen this long, ms. Default 150000. Runtime: `/set` (`forget_ms`).
    pub forget_ms: u64,
    /// Only report ids with these prefixes (space-separated; empty = all). Runtime: `/set`.
    pub include: String,
    /// Never report ids with these prefixes. Runtime: `/set`.
    pub exclude: String,
    /// Count ids with these prefixes (telemetry `count`). Runtime: `/set`.
    pub count_ids: String,
    /// MACs (12 hex) reported as `known:<mac>`. Runtime: `/set`.
    pub known_macs: String,
    /// IRKs (`irk:<32 hex>`, 32 hex or keychain base64) to resolve private addresses.
    /// Runtime: `/set` and `espresense/settings/irk:<hex>/config`, effective at once.
    pub known_irks: Vec<String>,
    /// Start counting within this distance, m. Default 2. Runtime: `/set`.
    pub count_enter: f32,
    /// Stop counting beyond this distance, m. Default 4. Runtime: `/set`.
    pub count_exit: f32,
    /// Stop counting when unseen this long, ms. Default 10000. Runtime: `/set`.
    pub count_ms: u64,
}

impl Default for BleConfig {
    fn default() -> Self {
        let s = NodeSettings::default();
        BleConfig {
            room: None,
            adapter: None,
            max_devices: 10_000,
            no_advert_timeout_ms: 60_000,
            max_distance: s.max_distance,
            absorption: s.absorption,
            ref_rssi: s.ref_rssi,
            rx_adj_rssi: s.rx_adj_rssi,
            tx_ref_rssi: s.tx_ref_rssi,
            skip_distance: s.skip_distance,
            skip_ms: s.skip_ms,
            forget_ms: s.forget_ms,
            include: String::new(),
            exclude: String::new(),
            count_ids: String::new(),
            known_macs: String::new(),
            known_irks: Vec::new(),
            count_enter: s.count_enter,
            count_exit: s.count_exit,
            count_ms: s.count_ms,
        }
    }
}

impl BleConfig {
    /// What `roomsense demo` runs its BLE node with: the demo trace's phone IRK is known, and
    /// Apple devices nearby are counted.
    pub fn demo() -> BleConfig {
        BleConfig {
            known_irks: vec![format!("irk:{}", crate::sources::demo::DEMO_IRK)],
            count_ids: "apple:".into(),
            ..BleConfig::default()
        }
    }
}

/// One problem found by [`BleConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Key path, e.g. `ble.absorption`.
    pub key: String,
    /// What is wrong and what would be valid.
    pub message: String,
}

/// The validated configuration the service runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidBleConfig {
    /// Room name as written (for display and HA's suggested area).
    pub room_name: String,
    /// Room slug, the `<room>` topic segment.
    pub room: String,
    /// BlueZ adapter, if one was named.
    pub adapter: Option<String>,
    /// Device table bound.
    pub max_devices: usize,
    /// No-advert watchdog.
    pub no_advert_timeout: Duration,
    /// Initial node settings.
    pub settings: NodeSettings,
}

impl BleConfig {
    /// Checks every field with the same rules as the `/set` commands; returns all problems.
    /// `node_room` is the room when `room` is not set (`[node] room`).
    pub fn validate(&self, node_room: &str) -> Result<ValidBleConfig, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut settings = NodeSettings::default();
        let irks = self.known_irks.join(" ");
        let values: [(&str, String); 16] = [
            ("max_distance", self.max_distance.to_string()),
            ("absorption", self.absorption.to_string()),
            ("ref_rssi", self.ref_rssi.to_string()),
            ("rx_adj_rssi", self.rx_adj_rssi.to_string()),
            ("tx_ref_rssi", self.tx_ref_rssi.to_string()),
            ("skip_distance", self.skip_distance.to_string()),
            ("skip_ms", self.skip_ms.to_string()),
            ("forget_ms", self.forget_ms.to_string()),
            ("include", self.include.clone()),
            ("exclude", self.exclude.clone()),
            ("count_ids", self.count_ids.clone()),
            ("known_macs", self.known_macs.clone()),
            ("known_irks", irks),
            ("count_enter", self.count_enter.to_string()),
            ("count_exit", self.count_exit.to_string()),
            ("count_ms", self.count_ms.to_string()),
        ];
        for (key, value) in values {
            if let Err(e) = settings.apply(key, &value) {
                problems.push(ConfigProblem { key: format!("ble.{key}"), message: e.to_string() });
            }
        }
        let room_name = self.room.clone().unwrap_or_else(|| node_room.to_string());
        let room = slugify(&room_name);
        if room.is_empty() {
            problems.push(ConfigProblem {
                key: "ble.room".into(),
                message: "room needs at least one letter or digit".into(),
            });
        }
        if !(16..=1_000_000).contains(&self.max_devices) {
            problems.push(ConfigProblem {
                key: "ble.max_devices".into(),
                message: "value out of range 16..=1000000".into(),
            });
        }
        if self.no_advert_timeout_ms < 1000 {
            problems.push(ConfigProblem {
                key: "ble.no_advert_timeout_ms".into(),
                message: "must be at least 1000 ms".into(),
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(ValidBleConfig {
            room_name,
            room,
            adapter: self.adapter.clone().filter(|a| !a.is_empty()),
            max_devices: self.max_devices,
            no_advert_timeout: Duration::from_millis(self.no_advert_timeout_ms),
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_validates_to_the_firmware_defaults() {
        let v = BleConfig::default().validate("hallway").unwrap();
        assert_eq!(v.settings, NodeSettings::default());
        assert_eq!(v.room, "hallway");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let c = BleConfig {
            absorption: 9.0,
            known_irks: vec!["nope".into()],
            room: Some("!!".into()),
            ..BleConfig::default()
        };
        let keys: Vec<String> =
            c.validate("hall").unwrap_err().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["ble.absorption", "ble.known_irks", "ble.room"]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<BleConfig, _> = serde_json::from_str(r#"{"room":"Kitchen","absorbtion":3}"#);
        assert!(r.is_err());
        let c: BleConfig = serde_json::from_str(
            r#"{"room":"Living Room","known_irks":["irk:ec0234a357c8ad05341010a60a397d9b"]}"#,
        )
        .unwrap();
        let v = c.validate("hall").unwrap();
        assert_eq!((v.room.as_str(), v.settings.known_irks.len()), ("living_room", 1));
    }
}
