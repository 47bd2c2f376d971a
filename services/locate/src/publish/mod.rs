//! What the locator publishes, decided without I/O: [`Publisher`] is told what happened
//! (a device located, a tick, leadership gained or lost, new calibration proposals) and appends
//! the messages to send; the shell hands them to the link.
//!
//! Only the leader publishes house-level messages (device states and attributes, the locator
//! device's discovery, calibration); a follower keeps what it would publish up to date, so that
//! on taking over it publishes everything at once.

pub(crate) mod entities;
pub(crate) mod payloads;
pub(crate) mod requests;
pub(crate) mod topics;

use std::collections::HashMap;
use std::sync::Arc;

use roomsense_core::Topic;
use roomsense_core::discovery::{Announcement, DeviceDiscovery};

use crate::domain::calibration::CalibrationProposal;
use crate::domain::house::House;
use crate::domain::locator::DeviceLocation;
use payloads::Attributes;
use topics::Topics;

/// One message for the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) topic: Topic,
    pub(crate) payload: Vec<u8>,
    pub(crate) retain: bool,
}

#[derive(Debug)]
struct Shown {
    state_topic: Topic,
    attributes_topic: Topic,
    /// What the state topic last got from us (empty: nothing yet).
    state: String,
    /// What the attributes topic last got from us.
    attributes: Vec<u8>,
    /// Located since the attributes were last looked at.
    dirty: bool,
}

/// Decides what the locator publishes.
#[derive(Debug)]
pub(crate) struct Publisher {
    house: Arc<House>,
    estimator: &'static str,
    me: String,
    leader: bool,
    shown: HashMap<String, Shown>,
    /// Slugs given out, so two ids folding to one slug get distinct entities.
    slugs: HashMap<String, String>,
    discovery: DeviceDiscovery,
    announcement: Announcement,
    discovery_changed: bool,
    calibration: Option<Vec<u8>>,
}

impl Publisher {
    pub(crate) fn new(
        house: Arc<House>,
        estimator: &'static str,
        me: &str,
        discovery: DeviceDiscovery,
    ) -> Self {
        Publisher {
            house,
            estimator,
            me: me.to_owned(),
            leader: false,
            shown: HashMap::new(),
            slugs: HashMap::new(),
            discovery,
            announcement: Announcement::default(),
            discovery_changed: true,
            calibration: None,
        }
    }

    /// Whether this locator publishes.
    pub(crate) fn is_leader(&self) -> bool {
        self.leader
    }

    /// Devices with entities.
    pub(crate) fn devices(&self) -> usize {
        self.shown.len()
    }

    /// A device's location changed (or it went `not_home`): its state goes out at once when
    /// the room changed, its attributes at the next tick.
    pub(crate) fn located(
        &mut self,
        topics: &Topics,
        loc: &DeviceLocation,
        out: &mut Vec<Message>,
    ) {
        if !self.shown.contains_key(&loc.id) && !self.admit(topics, &loc.id) {
            return;
        }
        let Some(shown) = self.shown.get_mut(&loc.id) else { return };
        shown.dirty = true;
        let state = loc.state(&self.house);
        if self.leader && shown.state != state {
            shown.state.clear();
            shown.state.push_str(state);
            out.push(Message {
                topic: shown.state_topic.clone(),
                payload: state.as_bytes().to_vec(),
                retain: true,
            });
        }
    }

    fn admit(&mut self, topics: &Topics, id: &str) -> bool {
        let (Some(state_topic), Some(attributes_topic)) =
            (topics.device_state(id), topics.device_attributes(id))
        else {
            return false;
        };
        let base = payloads::slug(id);
        let mut key = base.clone();
        let mut n = 2;
        while self.slugs.contains_key(&key) {
            key = format!("{base}_{n}");
            n += 1;
        }
        self.slugs.insert(key.clone(), id.to_owned());
        entities::add_device(&mut self.discovery, &key, id, &state_topic, &attributes_topic);
        self.discovery_changed = true;
        self.shown.insert(
            id.to_owned(),
            Shown {
                state_topic,
                attributes_topic,
                state: String::new(),
                attributes: Vec::new(),
                dirty: true,
            },
        );
        true
    }

    /// About once a second: discovery when entities were added, then the attributes of devices
    /// located since the last tick, when they changed.
    pub(crate) fn tick<'a>(
        &mut self,
        devices: impl Iterator<Item = &'a DeviceLocation>,
        out: &mut Vec<Message>,
    ) {
        if !self.leader {
            return;
        }
        if self.discovery_changed {
            self.discovery_changed = false;
            if let Some(payload) = self.announcement.update(&self.discovery) {
                out.push(Message { topic: self.discovery.topic().clone(), payload, retain: true });
            }
        }
        for loc in devices {
            let Some(shown) = self.shown.get_mut(&loc.id) else { continue };
            if !shown.dirty {
                continue;
            }
            shown.dirty = false;
            let attributes = Attributes::new(&self.house, loc, self.estimator, &self.me).to_bytes();
            if attributes != shown.attributes {
                shown.attributes.clone_from(&attributes);
                out.push(Message {
                    topic: shown.attributes_topic.clone(),
                    payload: attributes,
                    retain: true,
                });
            }
        }
    }

    /// This locator took the lease: everything it knows goes out, discovery first.
    pub(crate) fn lead<'a>(
        &mut self,
        devices: impl Iterator<Item = &'a DeviceLocation>,
        out: &mut Vec<Message>,
    ) {
        self.leader = true;
        // What another leader announced is not known here: announce in full.
        self.announcement = Announcement::default();
        self.discovery_changed = true;
        self.calibration = None;
        let devices: Vec<&DeviceLocation> = devices.collect();
        for shown in self.shown.values_mut() {
            shown.state.clear();
            shown.attributes.clear();
            shown.dirty = true;
        }
        self.tick(devices.iter().copied(), out);
        for loc in devices {
            if let Some(shown) = self.shown.get_mut(&loc.id) {
                let state = loc.state(&self.house);
                shown.state.push_str(state);
                out.push(Message {
                    topic: shown.state_topic.clone(),
                    payload: state.as_bytes().to_vec(),
                    retain: true,
                });
            }
        }
    }

    /// Another locator leads now.
    pub(crate) fn follow(&mut self) {
        self.leader = false;
    }

    /// Home Assistant came back: the discovery again, as it stands.
    pub(crate) fn reannounce(&self, out: &mut Vec<Message>) {
        if let (true, Some(payload)) = (self.leader, self.announcement.current()) {
            out.push(Message {
                topic: self.discovery.topic().clone(),
                payload: payload.to_vec(),
                retain: true,
            });
        }
    }

    /// New calibration proposals: published (retained) when they differ from the last.
    pub(crate) fn calibration(
        &mut self,
        topics: &Topics,
        proposals: &[CalibrationProposal],
        out: &mut Vec<Message>,
    ) {
        if !self.leader || proposals.is_empty() {
            return;
        }
        let payload = serde_json::to_vec(&payloads::calibration(proposals))
            .expect("proposals should always serialize");
        if self.calibration.as_ref() != Some(&payload) {
            self.calibration = Some(payload.clone());
            out.push(Message { topic: topics.calibration.clone(), payload, retain: true });
        }
    }
}

#[cfg(test)]
mod tests {
    use roomsense_core::Identity;
    use roomsense_core::config::{MqttConfig, NodeConfig};

    use super::*;
    use crate::config::{EstimatorKind, LocateConfig};
    use crate::domain::locator::{Handled, Locator};

    const HOUSE: &str = r#"
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

    fn setup() -> (Locator, Publisher, Topics) {
        let v = LocateConfig::load(HOUSE, std::path::Path::new("h.toml")).expect("valid");
        let house = Arc::new(v.house);
        let node = NodeConfig::new("n1", "kitchen", "/tmp");
        let identity = Identity::new(&node, &MqttConfig::default(), "locate");
        let topics = Topics::new(&identity).expect("topics");
        let discovery = entities::locator_discovery(&identity, &topics).expect("discovery");
        let locator = Locator::new(house.clone(), v.settings, EstimatorKind::NearestNode);
        (locator, Publisher::new(house, "nearest_node", "n1", discovery), topics)
    }

    fn report(
        l: &mut Locator,
        p: &mut Publisher,
        t: &Topics,
        node: &str,
        d: f64,
        now: u64,
        out: &mut Vec<Message>,
    ) {
        let topic = format!("espresense/devices/phone:a/{node}");
        if let Handled::Located(loc) =
            l.handle(&topic, format!("{{\"distance\":{d}}}").as_bytes(), now)
        {
            p.located(t, loc, out);
        }
    }

    fn topics_of(out: &[Message]) -> Vec<&str> {
        out.iter().map(|m| m.topic.as_str()).collect()
    }

    #[test]
    fn a_follower_publishes_nothing_but_keeps_up() {
        let (mut l, mut p, t) = setup();
        let mut out = Vec::new();
        report(&mut l, &mut p, &t, "kitchen", 1.0, 0, &mut out);
        p.tick(l.devices(), &mut out);
        assert!(out.is_empty());
        assert_eq!(p.devices(), 1);
    }

    #[test]
    fn taking_the_lead_publishes_discovery_then_every_device() {
        let (mut l, mut p, t) = setup();
        let mut out = Vec::new();
        report(&mut l, &mut p, &t, "kitchen", 1.0, 0, &mut out);
        p.lead(l.devices(), &mut out);
        assert_eq!(
            topics_of(&out),
            [
                "homeassistant/device/roomsense_locator/config",
                "roomsense/devices/phone:a/attributes",
                "roomsense/devices/phone:a",
            ]
        );
        assert_eq!(out[2].payload, b"kitchen");
        let discovery: serde_json::Value = serde_json::from_slice(&out[0].payload).unwrap();
        let tracker = &discovery["components"]["roomsense_locator_phone_a"];
        assert_eq!(tracker["platform"], "device_tracker");
        assert_eq!(tracker["source_type"], "bluetooth_le");
        assert_eq!(tracker["state_topic"], "roomsense/devices/phone:a");
        assert_eq!(discovery["components"]["roomsense_locator_phone_a_room"]["platform"], "sensor");
        assert_eq!(discovery["device"]["name"], "roomsense locator");
        assert_eq!(discovery["availability_topic"], "roomsense/n1/locate/status");
        let attributes: serde_json::Value = serde_json::from_slice(&out[1].payload).unwrap();
        assert_eq!(attributes["nodes"], serde_json::json!(["kitchen"]));
        assert_eq!(attributes["locator"], "n1");
    }

    #[test]
    fn a_leader_sends_a_room_change_at_once_and_attributes_only_when_they_change() {
        let (mut l, mut p, t) = setup();
        let mut out = Vec::new();
        p.lead(l.devices(), &mut out);
        out.clear();
        report(&mut l, &mut p, &t, "kitchen", 1.0, 0, &mut out);
        assert_eq!(topics_of(&out), ["roomsense/devices/phone:a"]);
        out.clear();
        p.tick(l.devices(), &mut out);
        assert_eq!(
            topics_of(&out),
            [
                "homeassistant/device/roomsense_locator/config",
                "roomsense/devices/phone:a/attributes"
            ]
        );
        out.clear();
        // Same room, same attributes: nothing.
        report(&mut l, &mut p, &t, "kitchen", 1.0, 500, &mut out);
        p.tick(l.devices(), &mut out);
        assert!(out.is_empty(), "{:?}", topics_of(&out));
        report(&mut l, &mut p, &t, "hall", 0.5, 1000, &mut out);
        assert_eq!(topics_of(&out), ["roomsense/devices/phone:a"]);
        assert_eq!(out[0].payload, b"hall");
    }

    #[test]
    fn not_home_goes_out_as_the_state() {
        let (mut l, mut p, t) = setup();
        let mut out = Vec::new();
        p.lead(l.devices(), &mut out);
        report(&mut l, &mut p, &t, "kitchen", 1.0, 0, &mut out);
        out.clear();
        l.tick(200_000, |loc| p.located(&t, loc, &mut out));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].payload, b"not_home");
    }

    #[test]
    fn ids_folding_to_one_slug_get_distinct_entities() {
        let (mut l, mut p, t) = setup();
        let mut out = Vec::new();
        for id in ["a:b", "a-b"] {
            if let Handled::Located(loc) =
                l.handle(&format!("espresense/devices/{id}/kitchen"), br#"{"distance":1}"#, 0)
            {
                p.located(&t, loc, &mut out);
            }
        }
        p.lead(l.devices(), &mut out);
        let discovery: serde_json::Value = serde_json::from_slice(&out[0].payload).unwrap();
        assert!(discovery["components"].get("roomsense_locator_a_b").is_some());
        assert!(discovery["components"].get("roomsense_locator_a_b_2").is_some());
    }

    #[test]
    fn home_assistant_coming_back_gets_the_discovery_only_from_the_leader() {
        let (_, mut p, _) = setup();
        let mut out = Vec::new();
        p.reannounce(&mut out);
        assert!(out.is_empty());
        p.lead(std::iter::empty(), &mut out);
        out.clear();
        p.reannounce(&mut out);
        assert_eq!(topics_of(&out), ["homeassistant/device/roomsense_locator/config"]);
        p.follow();
        out.clear();
        p.reannounce(&mut out);
        assert!(out.is_empty());
    }
}
