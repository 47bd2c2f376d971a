//! The locator: every device's readings and estimator, `not_home` time-outs, counters.
//!
//! One `Locator` per house. The shell feeds it every `espresense/devices/…` message with the
//! time it arrived ([`Locator::handle`]) and calls [`Locator::tick`] about once a second; both
//! return plain data to publish. Steady-state updates do not allocate.

use std::collections::HashMap;
use std::sync::Arc;

use super::calibration::BeaconLog;
use super::estimator::{self, Estimator, Reading};
use super::house::House;
use super::message::{self, Message, Rejection, Report};
use crate::config::{EstimatorKind, LocatorSettings};

/// Where a device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// In this room (index into [`House::rooms`]).
    Room(usize),
    /// Heard, but in no room (outside every polygon, or the house has no rooms).
    Unknown,
    /// Not heard by any node for `tracking.away_timeout_ms`.
    NotHome,
}

/// The published state of one device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceLocation {
    /// Device id as in the ESPresense topic.
    pub id: String,
    /// Room, unknown, or `not_home`.
    pub place: Place,
    /// Floor index into [`House::floors`], if known.
    pub floor: Option<usize>,
    /// Position (m), if the estimator computes one.
    pub point: Option<[f64; 3]>,
    /// How sure the estimator is, 0 to 1.
    pub confidence: f64,
    /// Indexes of the nodes whose reports were used.
    pub nodes: Vec<usize>,
    /// When a node last heard the device (ms, caller's clock).
    pub last_seen_ms: u64,
}

impl DeviceLocation {
    /// The state string: the room id, `not_home`, or `unknown`.
    pub fn state<'h>(&self, house: &'h House) -> &'h str {
        match self.place {
            Place::Room(r) => &house.rooms[r].id,
            Place::Unknown => "unknown",
            Place::NotHome => "not_home",
        }
    }
}

/// What one message did.
#[derive(Debug, PartialEq)]
pub enum Handled<'a> {
    /// A device's location was updated: publish it.
    Located(&'a DeviceLocation),
    /// A node-to-node beacon was logged for calibration.
    Beacon,
    /// Not a location message (e.g. a battery report); nothing to do.
    Ignored,
    /// Refused; counted in [`Counters`].
    Rejected(Rejection),
}

/// Message counters, for the locator's health entity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Device updates that produced a location.
    pub located: u64,
    /// Node beacons logged.
    pub beacons: u64,
    /// Messages ignored (not location reports).
    pub ignored: u64,
    /// Rejections, indexed like [`Rejection::ALL`].
    pub rejected: [u64; Rejection::ALL.len()],
}

impl Counters {
    /// How many messages were rejected for `why`.
    pub fn rejected(&self, why: Rejection) -> u64 {
        Rejection::ALL.iter().position(|r| *r == why).map_or(0, |i| self.rejected[i])
    }

    fn reject(&mut self, why: Rejection) {
        if let Some(i) = Rejection::ALL.iter().position(|r| *r == why) {
            self.rejected[i] += 1;
        }
    }
}

#[derive(Debug)]
struct Device {
    location: DeviceLocation,
    readings: Vec<Option<Reading>>,
    estimator: Box<dyn Estimator>,
}

/// Locates every tracked device of one house.
#[derive(Debug)]
pub struct Locator {
    house: Arc<House>,
    settings: LocatorSettings,
    kind: EstimatorKind,
    devices: Vec<Device>,
    index: HashMap<String, usize>,
    current: Vec<Option<Reading>>,
    beacons: BeaconLog,
    counters: Counters,
}

impl Locator {
    /// A locator for `house` using estimator `kind`.
    pub fn new(house: Arc<House>, settings: LocatorSettings, kind: EstimatorKind) -> Self {
        let n = house.nodes.len();
        Locator {
            beacons: BeaconLog::new(&house),
            house,
            settings,
            kind,
            devices: Vec::new(),
            index: HashMap::new(),
            current: vec![None; n],
            counters: Counters::default(),
        }
    }

    /// The house this locator runs on.
    pub fn house(&self) -> &House {
        &self.house
    }

    /// The estimator in use.
    pub fn kind(&self) -> EstimatorKind {
        self.kind
    }

    /// Counters since start.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The node-to-node beacons seen so far, for calibration proposals.
    pub fn beacons(&self) -> &BeaconLog {
        &self.beacons
    }

    /// Every tracked device's current location.
    pub fn devices(&self) -> impl Iterator<Item = &DeviceLocation> {
        self.devices.iter().map(|d| &d.location)
    }

    /// Handles one MQTT message that arrived at `now_ms`.
    pub fn handle(&mut self, topic: &str, payload: &[u8], now_ms: u64) -> Handled<'_> {
        match message::decode(topic, payload) {
            Err(why) => {
                self.counters.reject(why);
                Handled::Rejected(why)
            }
            Ok(Message::Other) => {
                self.counters.ignored += 1;
                Handled::Ignored
            }
            Ok(Message::Beacon { tx, rx, report }) => {
                match self.beacons.record(&self.house, tx, rx, &report, now_ms) {
                    Ok(()) => {
                        self.counters.beacons += 1;
                        Handled::Beacon
                    }
                    Err(why) => {
                        self.counters.reject(why);
                        Handled::Rejected(why)
                    }
                }
            }
            Ok(Message::Device { device, node, report }) => {
                self.report(device, node, report, now_ms)
            }
        }
    }

    /// Folds one decoded device report in (what [`Locator::handle`] does after decoding).
    pub fn report(&mut self, device: &str, node: &str, report: Report, now_ms: u64) -> Handled<'_> {
        match self.try_report(device, node, report, now_ms) {
            Ok(slot) => {
                self.counters.located += 1;
                Handled::Located(&self.devices[slot].location)
            }
            Err(why) => {
                self.counters.reject(why);
                Handled::Rejected(why)
            }
        }
    }

    fn try_report(
        &mut self,
        device: &str,
        node: &str,
        report: Report,
        now_ms: u64,
    ) -> Result<usize, Rejection> {
        let node = self.house.node(node).ok_or(Rejection::UnknownNode)?;
        if report.distance_m > self.settings.tracking.max_distance_m {
            return Err(Rejection::OutOfRange);
        }
        let slot = match self.index.get(device) {
            Some(&slot) => slot,
            None => self.admit(device)?,
        };
        let d = &mut self.devices[slot];
        d.readings[node] =
            Some(Reading { distance_m: report.distance_m, var_m2: report.var_m2, at_ms: now_ms });
        let max_age = self.settings.tracking.report_max_age_ms;
        let loc = &mut d.location;
        loc.nodes.clear();
        for (i, (cur, r)) in self.current.iter_mut().zip(&d.readings).enumerate() {
            *cur = r.filter(|r| now_ms.saturating_sub(r.at_ms) <= max_age);
            if cur.is_some() {
                loc.nodes.push(i);
            }
        }
        loc.last_seen_ms = now_ms;
        if let Some(fix) = d.estimator.update(&self.house, &self.current, now_ms) {
            loc.place = fix.room.map_or(Place::Unknown, Place::Room);
            loc.floor = fix.floor;
            loc.point = fix.point;
            loc.confidence = fix.confidence;
        }
        Ok(slot)
    }

    fn admit(&mut self, device: &str) -> Result<usize, Rejection> {
        let t = &self.settings.tracking;
        let lower_prefix = |p: &String| {
            device.len() >= p.len()
                && device.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        };
        if (!t.include.is_empty() && !t.include.iter().any(lower_prefix))
            || t.exclude.iter().any(lower_prefix)
        {
            return Err(Rejection::NotTracked);
        }
        if self.devices.len() >= t.max_devices {
            return Err(Rejection::TooManyDevices);
        }
        let n = self.house.nodes.len();
        self.devices.push(Device {
            location: DeviceLocation {
                id: device.to_owned(),
                place: Place::Unknown,
                floor: None,
                point: None,
                confidence: 0.0,
                nodes: Vec::with_capacity(n),
                last_seen_ms: 0,
            },
            readings: vec![None; n],
            estimator: estimator::build(self.kind, &self.house, &self.settings),
        });
        let slot = self.devices.len() - 1;
        self.index.insert(device.to_owned(), slot);
        Ok(slot)
    }

    /// Sends devices nobody has heard for `away_timeout_ms` to `not_home`; calls `changed` with
    /// each one that just left. Call about once a second.
    pub fn tick(&mut self, now_ms: u64, mut changed: impl FnMut(&DeviceLocation)) {
        let away = self.settings.tracking.away_timeout_ms;
        for d in &mut self.devices {
            let loc = &mut d.location;
            if loc.place != Place::NotHome && now_ms.saturating_sub(loc.last_seen_ms) > away {
                loc.place = Place::NotHome;
                loc.confidence = 1.0;
                loc.nodes.clear();
                d.readings.iter_mut().for_each(|r| *r = None);
                changed(loc);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LocateConfig;

    fn locator(kind: EstimatorKind) -> Locator {
        let text = r#"
[locate.floors.ground]
z_min_m = 0.0
z_max_m = 3.0
[locate.rooms.kitchen]
floor = "ground"
polygon = [[0, 0], [4, 0], [4, 4], [0, 4]]
connects = ["hall"]
[locate.rooms.hall]
floor = "ground"
polygon = [[4, 0], [8, 0], [8, 4], [4, 4]]
[locate.nodes.kitchen]
point = [2.0, 2.0, 2.0]
[locate.nodes.hall]
point = [6.0, 2.0, 2.0]
"#;
        let v = LocateConfig::load(text, std::path::Path::new("h.toml")).expect("valid");
        Locator::new(Arc::new(v.house), v.settings, kind)
    }

    #[test]
    fn the_nearest_node_puts_a_device_in_that_nodes_room() {
        let mut l = locator(EstimatorKind::NearestNode);
        let house = l.house.clone();
        l.handle("espresense/devices/phone:a/kitchen", br#"{"distance":3.0}"#, 1000);
        let Handled::Located(loc) =
            l.handle("espresense/devices/phone:a/hall", br#"{"distance":1.0}"#, 1100)
        else {
            panic!("located");
        };
        assert_eq!(loc.state(&house), "hall");
        assert_eq!(loc.nodes.len(), 2);
    }

    #[test]
    fn one_missing_advert_does_not_send_a_device_away_but_the_time_out_does() {
        let mut l = locator(EstimatorKind::RoomFilter);
        l.handle("espresense/devices/phone:a/kitchen", br#"{"distance":1.0,"var":0.1}"#, 0);
        let mut left = Vec::new();
        l.tick(60_000, |d| left.push(d.id.clone()));
        assert!(left.is_empty());
        assert_eq!(l.devices().next().map(|d| d.state(l.house())), Some("kitchen"));
        l.tick(120_001, |d| left.push(d.id.clone()));
        assert_eq!(left, ["phone:a"]);
        assert_eq!(l.devices().next().map(|d| d.place), Some(Place::NotHome));
    }

    #[test]
    fn bad_messages_are_rejected_and_counted_without_panicking() {
        let mut l = locator(EstimatorKind::RoomFilter);
        let cases: [(&str, &[u8]); 6] = [
            ("espresense/devices/a/kitchen", b"{oops"),
            ("espresense/devices/a/garage", br#"{"distance":1}"#),
            ("espresense/devices/a/kitchen", br#"{"distance":NaN}"#),
            ("espresense/devices/a/kitchen", br#"{"distance":-3}"#),
            ("espresense/devices/a/kitchen", br#"{"distance":99}"#),
            ("espresense/devices/node:garage/kitchen", br#"{"distance":2}"#),
        ];
        for (topic, payload) in cases {
            assert!(matches!(l.handle(topic, payload, 0), Handled::Rejected(_)), "{topic}");
        }
        let c = l.counters();
        assert_eq!(c.rejected(Rejection::MalformedJson), 2);
        assert_eq!(c.rejected(Rejection::UnknownNode), 1);
        assert_eq!(c.rejected(Rejection::NonFinite), 1);
        assert_eq!(c.rejected(Rejection::OutOfRange), 1);
        assert_eq!(c.rejected(Rejection::UnknownBeacon), 1);
        assert_eq!(l.devices().count(), 0);
    }

    #[test]
    fn node_beacons_are_not_tracked_as_devices() {
        let mut l = locator(EstimatorKind::RoomFilter);
        assert_eq!(
            l.handle(
                "espresense/devices/node:hall/kitchen",
                br#"{"distance":4,"rssi":-70,"rssi@1m":-59}"#,
                0
            ),
            Handled::Beacon
        );
        assert_eq!(l.devices().count(), 0);
    }

    #[test]
    fn the_device_limit_refuses_new_devices_but_keeps_tracking_known_ones() {
        let mut l = locator(EstimatorKind::NearestNode);
        l.settings.tracking.max_devices = 1;
        l.handle("espresense/devices/a/kitchen", br#"{"distance":1}"#, 0);
        assert_eq!(
            l.handle("espresense/devices/b/kitchen", br#"{"distance":1}"#, 0),
            Handled::Rejected(Rejection::TooManyDevices)
        );
        assert!(matches!(
            l.handle("espresense/devices/a/hall", br#"{"distance":1}"#, 0),
            Handled::Located(_)
        ));
    }

    #[test]
    fn excluded_prefixes_are_not_tracked_case_insensitively() {
        let mut l = locator(EstimatorKind::NearestNode);
        l.settings.tracking.exclude = vec!["apple:".into()];
        assert_eq!(
            l.handle("espresense/devices/Apple:1005:9-12/kitchen", br#"{"distance":1}"#, 0),
            Handled::Rejected(Rejection::NotTracked)
        );
    }
}
