//! The node's per-device state machine: advert in, report decision out. Identity (address, IRK),
//! sticky ids, aliases, the distance filter, gating, counting, and the bounded device table.

use std::collections::HashMap;

use super::address::{Address, AddressType};
use super::advert::Advertisement;
use super::filter::RssiWindow;
use super::fingerprint::{SensorReading, default_rssi_1m, id_type, propose};
use super::gate::{GateParams, ReportGate};
use super::irk::{Irk, IrkTable};
use super::payload::{DeviceConfig, DevicePayload};
use super::settings::{NodeSettings, SettingChange};
use crate::error::{Error, SettingError};

/// The time of an event: monotonic for durations, wall clock for ESPresense's aligned slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic milliseconds (any origin).
    pub mono_ms: u64,
    /// Unix milliseconds.
    pub wall_ms: u64,
}

impl Now {
    /// One clock for both, as in a replay where the trace's timestamps are the clock.
    pub fn from_wall(wall_ms: u64) -> Now {
        Now { mono_ms: wall_ms, wall_ms }
    }
}

/// One report to publish to `espresense/devices/<id>/<room>`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceReport {
    /// The id, the topic's `<id>` segment.
    pub id: String,
    /// The id's idType (not in the v4 payload; for logs and tests).
    pub id_type: i16,
    /// The payload.
    pub payload: DevicePayload,
}

/// `espresense/devices/<id>/<room>`.
pub fn device_topic(id: &str, room: &str) -> String {
    format!("espresense/devices/{id}/{room}")
}

/// Counters since the last [`Tracker::take_stats`], for telemetry and health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Adverts handled.
    pub adverts: u64,
    /// Adverts rejected as corrupt before reaching the tracker (see [`Tracker::note_rejected`]).
    pub rejected: u64,
    /// Devices first seen.
    pub seen: u64,
    /// Reports produced.
    pub reported: u64,
    /// Devices evicted because the table was full.
    pub evicted: u64,
    /// Devices forgotten after `forget_ms`.
    pub forgotten: u64,
}

/// Result of a periodic [`Tracker::tick`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickOutcome {
    /// Devices counted now (the telemetry `count`).
    pub count: u32,
    /// Devices currently tracked.
    pub tracked: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DeviceKey {
    Addr(Address),
    Irk(Irk),
}

#[derive(Debug)]
struct Device {
    mac: Address,
    id: String,
    id_type: i16,
    /// The id (and its idType) the device derived itself, when `id` is an alias from a config.
    own_id: Option<(Box<str>, i16)>,
    name: Option<String>,
    cfg_name: bool,
    cfg_rssi: Option<i16>,
    cal_rssi: Option<i16>,
    md_rssi: Option<i16>,
    as_rssi: Option<i16>,
    sensor: Option<Box<SensorReading>>,
    window: RssiWindow,
    gate: ReportGate,
    first_seen_ms: u64,
    last_seen_ms: u64,
    seen: u32,
    hidden: bool,
    countable: bool,
    counting: bool,
    close: bool,
}

/// Upper bound on stored device configs (retained topics anyone on the broker can write).
const MAX_CONFIGS: usize = 4096;

/// The per-node BLE state machine. Pure: time comes in as [`Now`], output is plain data.
#[derive(Debug)]
pub struct Tracker {
    settings: NodeSettings,
    irks: IrkTable,
    config_irks: Vec<Irk>,
    configs: HashMap<String, DeviceConfig>,
    /// Boxed so empty buckets cost a key and a pointer, not a whole device.
    devices: HashMap<DeviceKey, Box<Device>>,
    resolved: HashMap<Address, Irk>,
    capacity: usize,
    stats: Stats,
}

impl Tracker {
    /// A tracker with `settings`, holding at most `capacity` devices (at least 16).
    pub fn new(settings: NodeSettings, capacity: usize) -> Tracker {
        let capacity = capacity.max(16);
        let mut t = Tracker {
            settings,
            irks: IrkTable::default(),
            config_irks: Vec::new(),
            configs: HashMap::new(),
            // Twice the bound: churn leaves tombstones, and hashbrown rehashes in place (instead
            // of doubling the table) only while the table is at most half full.
            devices: HashMap::with_capacity(capacity * 2),
            resolved: HashMap::with_capacity(capacity / 4),
            capacity,
            stats: Stats::default(),
        };
        t.rebuild_irks();
        t
    }

    /// The current settings.
    pub fn settings(&self) -> &NodeSettings {
        &self.settings
    }

    /// Number of devices tracked.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// No device tracked.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Number of IRKs known (settings and device configs).
    pub fn irk_count(&self) -> usize {
        self.irks.len()
    }

    /// Counts an advert the source rejected as corrupt.
    pub fn note_rejected(&mut self) {
        self.stats.rejected += 1;
    }

    /// Returns the counters and resets them.
    pub fn take_stats(&mut self) -> Stats {
        std::mem::take(&mut self.stats)
    }

    /// Handles one advertisement; returns the report to publish, if this advert yields one.
    pub fn handle(&mut self, adv: &Advertisement, now: Now) -> Option<DeviceReport> {
        self.stats.adverts += 1;
        let key = self.key_for(adv);
        if !self.devices.contains_key(&key) {
            self.make_room(now);
            let dev = self.new_device(key, adv, now);
            self.devices.insert(key, Box::new(dev));
            self.stats.seen += 1;
        }
        let s = &self.settings;
        let configs = &self.configs;
        let dev = self.devices.get_mut(&key).expect("device should have just been inserted");
        dev.mac = adv.addr;
        dev.seen = dev.seen.saturating_add(1);
        dev.last_seen_ms = now.mono_ms;

        let p = propose(adv, s.ref_rssi);
        dev.cal_rssi = p.cal_rssi.or(dev.cal_rssi);
        dev.md_rssi = p.md_rssi.or(dev.md_rssi);
        dev.as_rssi = p.as_rssi.or(dev.as_rssi);
        if let Some(r) = p.sensor {
            dev.sensor = Some(Box::new(r));
        }
        if let Some(n) = adv.name.as_deref()
            && !dev.cfg_name
            && dev.name.as_deref() != Some(n)
        {
            dev.name = Some(n.to_string());
        }
        if let Some((t, spec)) = p.best
            && t > dev.id_type
        {
            set_id(dev, spec.format(&adv.addr), t, s, configs, now);
        }

        dev.window.add(adv.rssi as i16 - s.rx_adj_rssi, now.mono_ms);
        // The estimate (a sort of the window) is needed only to count or to report; most adverts
        // of a reported device arrive while its gate cannot fire, and random MACs never report.
        let reportable = dev.id_type > id_type::RAND_MAC && !dev.hidden;
        let needs_estimate =
            dev.countable || (reportable && dev.gate.could_fire(now.wall_ms, s.skip_ms));
        if !needs_estimate {
            return None;
        }
        let rssi_1m = dev
            .cfg_rssi
            .or(dev.cal_rssi)
            .or(dev.md_rssi)
            .or(dev.as_rssi)
            .unwrap_or_else(|| default_rssi_1m(s.ref_rssi));
        let est = dev.window.estimate(now.mono_ms, rssi_1m as f32, s.absorption)?;
        let rx_adj = s.rx_adj_rssi as f32;
        if est.rssi > -40.0 + rx_adj {
            dev.close = true;
        } else if est.rssi < -50.0 + rx_adj {
            dev.close = false;
        }
        if dev.countable {
            if !dev.counting && est.distance <= s.count_enter {
                dev.counting = true;
            } else if dev.counting && est.distance > s.count_exit {
                dev.counting = false;
            }
        }

        let in_range =
            s.max_distance <= 0.0 || est.distance <= s.max_distance || dev.id.starts_with("node:");
        if !reportable || !in_range {
            return None;
        }
        let params = GateParams {
            skip_ms: s.skip_ms,
            skip_distance: s.skip_distance,
            max_divisor: s.max_divisor,
        };
        if !dev.gate.try_report(est.distance, now.wall_ms, &params) {
            return None;
        }
        self.stats.reported += 1;
        let sensor = dev.sensor.as_deref().copied().unwrap_or_default();
        let spread = dev.window.spread(rssi_1m as f32, s.absorption);
        let payload = DevicePayload {
            mac: dev.mac.to_hex(),
            id: dev.id.clone(),
            name: dev.name.clone(),
            rssi_1m,
            rssi: est.rssi,
            rx_adj: s.rx_adj_rssi,
            rssi_var: spread.rssi_var,
            distance: est.distance,
            var: spread.var,
            close: dev.close,
            interval_ms: now.mono_ms.saturating_sub(dev.first_seen_ms) / dev.seen.max(1) as u64,
            mv: sensor.mv,
            batt: sensor.batt,
            temp: sensor.temp,
            rh: sensor.rh,
        };
        Some(DeviceReport { id: dev.id.clone(), id_type: dev.id_type, payload })
    }

    /// Periodic housekeeping (call every ≤ 5 s): forgets devices unseen for `forget_ms`, stops
    /// counting devices unseen for `count_ms`, and returns the count.
    pub fn tick(&mut self, now: Now) -> TickOutcome {
        let forget = self.settings.forget_ms;
        let before = self.devices.len();
        self.devices.retain(|_, d| now.mono_ms.saturating_sub(d.last_seen_ms) <= forget);
        self.stats.forgotten += (before - self.devices.len()) as u64;
        if self.devices.len() < before {
            self.resolved.retain(|_, irk| self.devices.contains_key(&DeviceKey::Irk(*irk)));
        }
        let count_ms = self.settings.count_ms;
        let mut count = 0u32;
        for d in self.devices.values_mut() {
            if d.counting && now.mono_ms.saturating_sub(d.last_seen_ms) > count_ms {
                d.counting = false;
            }
            count += d.counting as u32;
        }
        TickOutcome { count, tracked: self.devices.len() }
    }

    /// Applies a `/set` command for this node; on error nothing changes.
    pub fn apply_setting(
        &mut self,
        key: &str,
        payload: &str,
        now: Now,
    ) -> Result<SettingChange, Error> {
        let change = self
            .settings
            .apply(key, payload)
            .map_err(|source: SettingError| Error::Setting { key: key.to_string(), source })?;
        match change {
            SettingChange::Irks => self.rebuild_irks(),
            SettingChange::Lists => self.refresh_ids(now),
            SettingChange::Tuning | SettingChange::Echo => {}
        }
        Ok(change)
    }

    /// Applies a retained `espresense/settings/<id>/config` (empty payload = delete). An `irk:` id
    /// adds its IRK at once; devices with that id (or aliased from it) pick the change up.
    pub fn apply_device_config(&mut self, id: &str, payload: &[u8], now: Now) -> Result<(), Error> {
        let bad = || Error::DeviceConfig { id: id.to_string() };
        let irk = match id.strip_prefix("irk:") {
            Some(_) => Some(Irk::parse(id).map_err(|_| bad())?),
            None => None,
        };
        if payload.iter().all(u8::is_ascii_whitespace) {
            self.configs.remove(id);
        } else {
            let cfg: DeviceConfig = serde_json::from_slice(payload).map_err(|_| bad())?;
            if self.configs.len() >= MAX_CONFIGS && !self.configs.contains_key(id) {
                return Err(bad());
            }
            self.configs.insert(id.to_string(), cfg);
            if let Some(irk) = irk
                && !self.config_irks.contains(&irk)
            {
                self.config_irks.push(irk);
                self.rebuild_irks();
            }
        }
        self.refresh_ids(now);
        Ok(())
    }

    fn key_for(&mut self, adv: &Advertisement) -> DeviceKey {
        let addr_key = DeviceKey::Addr(adv.addr);
        if adv.addr_type == AddressType::Public || adv.addr.is_static_random() {
            return addr_key;
        }
        if let Some(irk) = self.resolved.get(&adv.addr) {
            return DeviceKey::Irk(*irk);
        }
        if self.devices.contains_key(&addr_key) {
            return addr_key;
        }
        match self.irks.resolve(&adv.addr) {
            Some(irk) => {
                if self.resolved.len() >= self.capacity {
                    self.resolved.clear();
                }
                self.resolved.insert(adv.addr, irk);
                DeviceKey::Irk(irk)
            }
            None => addr_key,
        }
    }

    fn new_device(&self, key: DeviceKey, adv: &Advertisement, now: Now) -> Device {
        let s = &self.settings;
        let mac_hex = adv.addr.to_hex();
        let (id, t) = match key {
            DeviceKey::Irk(irk) => (irk.to_id(), id_type::KNOWN_IRK),
            DeviceKey::Addr(_) if s.known_macs.contains_exact(&mac_hex) => {
                (format!("known:{mac_hex}"), id_type::KNOWN_MAC)
            }
            DeviceKey::Addr(_) if adv.addr_type == AddressType::Public => {
                (mac_hex, id_type::PUBLIC_MAC)
            }
            DeviceKey::Addr(a) if a.is_static_random() => (mac_hex, id_type::RAND_STATIC_MAC),
            DeviceKey::Addr(_) => (mac_hex, id_type::RAND_MAC),
        };
        let mut dev = Device {
            mac: adv.addr,
            id: String::new(),
            id_type: 0,
            own_id: None,
            name: None,
            cfg_name: false,
            cfg_rssi: None,
            cal_rssi: None,
            md_rssi: None,
            as_rssi: None,
            sensor: None,
            window: RssiWindow::new(now.mono_ms),
            gate: ReportGate::new("", now.wall_ms, s.skip_ms),
            first_seen_ms: now.mono_ms,
            last_seen_ms: now.mono_ms,
            seen: 0,
            hidden: false,
            countable: false,
            counting: false,
            close: false,
        };
        set_id(&mut dev, id, t, s, &self.configs, now);
        dev
    }

    /// Keeps the table within `capacity`: forgets stale devices, then evicts the least recently
    /// seen eighth, unreportable (random-MAC) devices first, so a flood of one-shot random
    /// addresses cannot push out the devices being tracked.
    fn make_room(&mut self, now: Now) {
        if self.devices.len() < self.capacity {
            return;
        }
        let forget = self.settings.forget_ms;
        self.devices.retain(|_, d| now.mono_ms.saturating_sub(d.last_seen_ms) <= forget);
        if self.devices.len() < self.capacity {
            return;
        }
        let mut order: Vec<((bool, u64), DeviceKey)> = self
            .devices
            .iter()
            .map(|(k, d)| ((d.id_type > id_type::RAND_MAC, d.last_seen_ms), *k))
            .collect();
        let n = (self.capacity / 8).max(1);
        order.select_nth_unstable_by_key(n - 1, |(rank, _)| *rank);
        for (_, k) in &order[..n] {
            self.devices.remove(k);
        }
        self.stats.evicted += n as u64;
        self.resolved.retain(|_, irk| self.devices.contains_key(&DeviceKey::Irk(*irk)));
    }

    fn rebuild_irks(&mut self) {
        self.irks.clear();
        for irk in self.settings.known_irks.iter().chain(&self.config_irks) {
            self.irks.insert(*irk);
        }
        // Re-test unresolved private addresses against the new keys; resolved ones move to their
        // IRK identity (Bermuda does the same when an IRK is added).
        self.resolved.retain(|_, irk| self.irks.contains(irk));
        let movable: Vec<(Address, Irk)> = self
            .devices
            .keys()
            .filter_map(|k| match k {
                DeviceKey::Addr(a) => self.irks.resolve(a).map(|irk| (*a, irk)),
                DeviceKey::Irk(_) => None,
            })
            .collect();
        for (addr, irk) in movable {
            if let Some(mut dev) = self.devices.remove(&DeviceKey::Addr(addr)) {
                self.resolved.insert(addr, irk);
                let key = DeviceKey::Irk(irk);
                if !self.devices.contains_key(&key) {
                    if id_type::KNOWN_IRK > dev.id_type {
                        let now = Now { mono_ms: dev.last_seen_ms, wall_ms: 0 };
                        set_id(
                            &mut dev,
                            irk.to_id(),
                            id_type::KNOWN_IRK,
                            &self.settings,
                            &self.configs,
                            now,
                        );
                    }
                    self.devices.insert(key, dev);
                }
            }
        }
    }

    /// Re-derives ids, aliases and visibility after lists or device configs changed.
    fn refresh_ids(&mut self, now: Now) {
        let s = &self.settings;
        for dev in self.devices.values_mut() {
            let (own, own_type) = match dev.own_id.take() {
                Some((id, t)) => (String::from(id), t),
                None => (dev.id.clone(), dev.id_type),
            };
            let mac_hex = dev.mac.to_hex();
            let (own, t) = if own_type < id_type::KNOWN_MAC && s.known_macs.contains_exact(&mac_hex)
            {
                (format!("known:{mac_hex}"), id_type::KNOWN_MAC)
            } else {
                (own, own_type)
            };
            let had_cfg_name = dev.cfg_name;
            // set_id keeps the gate (slot, last reported distance) when the id is unchanged.
            set_id(dev, own, t, s, &self.configs, now);
            if had_cfg_name && !dev.cfg_name {
                dev.name = None;
            }
        }
    }
}

/// `setId`: takes `id` at `t`, or the alias its device config names (idType 250), and re-derives
/// what depends on the id (calibration, visibility, counting, report slot).
fn set_id(
    dev: &mut Device,
    id: String,
    t: i16,
    s: &NodeSettings,
    configs: &HashMap<String, DeviceConfig>,
    now: Now,
) {
    let cfg = configs.get(&id);
    let (new_id, new_type, own) = match cfg.and_then(|c| c.id.as_deref()) {
        Some(alias) if !alias.is_empty() && alias != id => {
            (alias.to_string(), id_type::ALIAS, Some((id.into_boxed_str(), t)))
        }
        _ => (id, t, None),
    };
    dev.cfg_rssi =
        cfg.and_then(|c| c.rssi_1m).or_else(|| configs.get(&new_id).and_then(|c| c.rssi_1m));
    match cfg.and_then(|c| c.name.clone()) {
        Some(name) => {
            dev.name = Some(name);
            dev.cfg_name = true;
        }
        None => dev.cfg_name = false,
    }
    dev.hidden =
        (!s.include.is_empty() && !s.include.matches(&new_id)) || s.exclude.matches(&new_id);
    dev.countable = s.count_ids.matches(&new_id);
    if !dev.countable {
        dev.counting = false;
    }
    if dev.id != new_id {
        dev.gate = ReportGate::new(&new_id, now.wall_ms, s.skip_ms);
        dev.id = new_id;
    }
    dev.id_type = new_type;
    dev.own_id = own;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hex;
    use crate::domain::uuid::BleUuid;

    const SPEC_IRK: &str = "ec0234a357c8ad05341010a60a397d9b";

    fn adv(addr: &str, t: AddressType, rssi: i8, ts: u64) -> Advertisement {
        Advertisement::new(ts, Address::parse(addr).unwrap(), t, rssi)
    }

    fn ibeacon(addr: &str, rssi: i8, ts: u64) -> Advertisement {
        let mut a = adv(addr, AddressType::Random, rssi, ts);
        a.mfg
            .push((0x004c, hex::decode("02152f234454cf6d4a0fadf2f4911ba9ffa600010002cc").unwrap()));
        a
    }

    fn settings() -> NodeSettings {
        NodeSettings { skip_ms: 0, ..NodeSettings::default() }
    }

    #[test]
    fn an_ibeacon_is_reported_with_its_power_as_rssi_at_one_metre() {
        let mut t = Tracker::new(settings(), 100);
        let r = t.handle(&ibeacon("5a:00:00:00:00:01", -52, 1000), Now::from_wall(1000)).unwrap();
        assert_eq!(r.id, "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-2");
        assert_eq!(r.payload.rssi_1m, -52);
        assert!((r.payload.distance - 1.0).abs() < 1e-4);
        assert_eq!(r.payload.mac, "5a0000000001");
    }

    #[test]
    fn a_random_mac_without_a_better_id_is_never_reported() {
        let mut t = Tracker::new(settings(), 100);
        assert!(
            t.handle(&adv("5a:00:00:00:00:01", AddressType::Random, -50, 0), Now::from_wall(0))
                .is_none()
        );
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn the_highest_id_type_sticks() {
        let mut t = Tracker::new(settings(), 100);
        let mut a = ibeacon("5a:00:00:00:00:01", -60, 0);
        a.name = Some("Tag".into());
        let first = t.handle(&a, Now::from_wall(0)).unwrap();
        let mut b = adv("5a:00:00:00:00:01", AddressType::Random, -60, 100);
        b.name = Some("Tag".into());
        let second = t.handle(&b, Now::from_wall(100)).unwrap();
        assert_eq!(first.id, second.id);
        assert_eq!(second.payload.name.as_deref(), Some("Tag"));
    }

    #[test]
    fn a_rotating_private_address_keeps_its_irk_identity_and_filter_state() {
        let s = NodeSettings { known_irks: vec![Irk::parse(SPEC_IRK).unwrap()], ..settings() };
        let mut t = Tracker::new(s, 100);
        let r1 = t
            .handle(&adv("70:81:94:0d:fb:aa", AddressType::Random, -70, 0), Now::from_wall(0))
            .unwrap();
        let r2 = t
            .handle(&adv("40:01:02:b2:12:da", AddressType::Random, -70, 1000), Now::from_wall(1000))
            .unwrap();
        assert_eq!(r1.id, format!("irk:{SPEC_IRK}"));
        assert_eq!(r2.id, r1.id);
        assert_eq!(r2.payload.mac, "400102b212da");
        assert_eq!(t.len(), 1);
        assert_eq!(r2.payload.interval_ms, 500, "filter state carried across the rotation");
    }

    #[test]
    fn an_irk_from_a_device_config_takes_effect_at_once() {
        let mut t = Tracker::new(settings(), 100);
        let a = adv("70:81:94:0d:fb:aa", AddressType::Random, -70, 0);
        assert!(t.handle(&a, Now::from_wall(0)).is_none());
        t.apply_device_config(
            &format!("irk:{SPEC_IRK}"),
            br#"{"id":"phone:al","name":"Al"}"#,
            Now::from_wall(1),
        )
        .unwrap();
        let r = t.handle(&a, Now::from_wall(2)).unwrap();
        assert_eq!(r.id, "phone:al");
        assert_eq!(r.payload.name.as_deref(), Some("Al"));
    }

    #[test]
    fn known_irks_set_takes_effect_without_restart() {
        let mut t = Tracker::new(settings(), 100);
        t.apply_setting("known_irks", &format!("irk:{SPEC_IRK}"), Now::from_wall(0)).unwrap();
        let r = t
            .handle(&adv("70:81:94:0d:fb:aa", AddressType::Random, -70, 0), Now::from_wall(0))
            .unwrap();
        assert_eq!(r.id, format!("irk:{SPEC_IRK}"));
    }

    #[test]
    fn an_alias_renames_and_a_deleted_config_restores_the_id() {
        let mut t = Tracker::new(settings(), 100);
        let id = "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-2";
        t.apply_device_config(
            id,
            br#"{"id":"keys","name":"Keys","rssi@1m":-60}"#,
            Now::from_wall(0),
        )
        .unwrap();
        let r = t.handle(&ibeacon("5a:00:00:00:00:01", -60, 0), Now::from_wall(0)).unwrap();
        assert_eq!((r.id.as_str(), r.payload.rssi_1m), ("keys", -60));
        t.apply_device_config(id, b"", Now::from_wall(1)).unwrap();
        let r = t.handle(&ibeacon("5a:00:00:00:00:01", -60, 2), Now::from_wall(2)).unwrap();
        assert_eq!((r.id.as_str(), r.id_type, r.payload.rssi_1m), (id, id_type::IBEACON, -52));
    }

    #[test]
    fn devices_beyond_max_distance_are_not_reported_except_node_ids() {
        let mut t = Tracker::new(NodeSettings { max_distance: 1.0, ..settings() }, 100);
        assert!(t.handle(&ibeacon("5a:00:00:00:00:01", -90, 0), Now::from_wall(0)).is_none());
        let id = "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-2";
        t.apply_device_config(id, br#"{"id":"node:hall"}"#, Now::from_wall(0)).unwrap();
        assert!(t.handle(&ibeacon("5a:00:00:00:00:01", -90, 1), Now::from_wall(1)).is_some());
    }

    #[test]
    fn include_and_exclude_hide_devices_by_prefix() {
        let mut t = Tracker::new(settings(), 100);
        t.apply_setting("exclude", "IBEACON:", Now::from_wall(0)).unwrap();
        assert!(t.handle(&ibeacon("5a:00:00:00:00:01", -60, 0), Now::from_wall(0)).is_none());
        t.apply_setting("exclude", "", Now::from_wall(0)).unwrap();
        t.apply_setting("include", "tile:", Now::from_wall(0)).unwrap();
        assert!(t.handle(&ibeacon("5a:00:00:00:00:01", -60, 1), Now::from_wall(1)).is_none());
        t.apply_setting("include", "iBeacon:", Now::from_wall(0)).unwrap();
        assert!(t.handle(&ibeacon("5a:00:00:00:00:01", -60, 2), Now::from_wall(2)).is_some());
    }

    #[test]
    fn counting_enters_near_exits_far_and_expires_unseen() {
        let mut s = settings();
        s.count_ids = crate::domain::settings::PrefixList::parse("ibeacon:");
        let mut t = Tracker::new(s, 100);
        t.handle(&ibeacon("5a:00:00:00:00:01", -52, 0), Now::from_wall(0));
        assert_eq!(t.tick(Now::from_wall(100)).count, 1);
        assert_eq!(t.tick(Now::from_wall(10_101)).count, 0, "unseen for count_ms");
        t.handle(&ibeacon("5a:00:00:00:00:01", -52, 20_000), Now::from_wall(20_000));
        assert_eq!(t.tick(Now::from_wall(20_000)).count, 1);
        for i in 1..40 {
            t.handle(
                &ibeacon("5a:00:00:00:00:01", -80, 20_000 + i * 100),
                Now::from_wall(20_000 + i * 100),
            );
        }
        assert_eq!(t.tick(Now::from_wall(24_000)).count, 0, "beyond count_exit");
    }

    #[test]
    fn unseen_devices_are_forgotten_after_forget_ms() {
        let mut t = Tracker::new(settings(), 100);
        t.handle(&ibeacon("5a:00:00:00:00:01", -52, 0), Now::from_wall(0));
        assert_eq!(t.tick(Now::from_wall(150_000)).tracked, 1);
        assert_eq!(t.tick(Now::from_wall(150_001)).tracked, 0);
    }

    #[test]
    fn a_flood_of_random_addresses_stays_within_capacity_and_keeps_tracked_devices() {
        let mut t = Tracker::new(settings(), 1000);
        t.handle(&ibeacon("5a:00:00:00:00:01", -52, 0), Now::from_wall(0));
        for i in 0..10_000u32 {
            let b = i.to_be_bytes();
            let a = Advertisement::new(
                1 + i as u64,
                Address([0x4a, 0xee, b[0], b[1], b[2], b[3]]),
                AddressType::Random,
                -80,
            );
            t.handle(&a, Now::from_wall(1 + i as u64));
            assert!(t.len() <= 1000);
        }
        assert!(
            t.handle(&ibeacon("5a:00:00:00:00:01", -52, 20_000), Now::from_wall(20_000)).is_some()
        );
        assert_eq!(t.take_stats().seen, 10_001);
    }

    #[test]
    fn tile_uuid_gives_a_mac_suffixed_id_and_its_tx_constant() {
        let mut t = Tracker::new(settings(), 100);
        let mut a = adv("e1:00:00:00:00:01", AddressType::Random, -69, 0);
        a.uuids.push(BleUuid::U16(0xfeed));
        let r = t.handle(&a, Now::from_wall(0)).unwrap();
        assert_eq!((r.id.as_str(), r.payload.rssi_1m), ("tile:e10000000001", -69));
    }
}
