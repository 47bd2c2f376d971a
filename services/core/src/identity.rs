//! Who is speaking on a link: the node, the service, and the topics that follow from them.

use crate::config::{MqttConfig, NodeConfig};
use crate::topic::{Topic, TopicError};

/// The name of the node's own service, whose availability is the node's.
pub const NODE_SERVICE: &str = "node";

/// A service of a node, and every name and topic derived from the pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    node_id: String,
    room: String,
    node_name: String,
    service: String,
    client_prefix: String,
    topic_prefix: String,
    discovery_prefix: String,
    availability: Option<Topic>,
}

impl Identity {
    /// The identity of `service` on the node `node`, with the prefixes from `mqtt`.
    pub fn new(node: &NodeConfig, mqtt: &MqttConfig, service: &str) -> Self {
        Self {
            node_id: node.id.clone(),
            room: node.room.clone(),
            node_name: node.display_name(),
            service: service.to_owned(),
            client_prefix: mqtt.client_id.clone().unwrap_or_else(|| node.id.clone()),
            topic_prefix: mqtt.topic_prefix.clone(),
            discovery_prefix: mqtt.discovery_prefix.clone(),
            availability: None,
        }
    }

    /// The same service speaking its availability on `topic` instead of
    /// `<prefix>/<node>/<service>/status`: the BLE service uses ESPresense's
    /// `espresense/rooms/<room>/status` (same `online`/`offline` payloads), so one last will
    /// serves both worlds. Set it before the link opens: the will is fixed at connect.
    pub fn with_availability_topic(mut self, topic: Topic) -> Self {
        self.availability = Some(topic);
        self
    }

    /// The node id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The room the node stands in.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// The node's display name.
    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// The service name (`node`, `ble`, ...).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// True for the node's own service.
    pub fn is_node_service(&self) -> bool {
        self.service == NODE_SERVICE
    }

    /// The MQTT client id: stable across restarts, so the broker keeps the session.
    pub fn client_id(&self) -> String {
        format!("{}-{}", self.client_prefix, self.service)
    }

    /// The topic prefix (`roomsense` by default).
    pub fn topic_prefix(&self) -> &str {
        &self.topic_prefix
    }

    /// `<prefix>/<levels>`: topics about the house rather than one node (the locator's device
    /// locations, its lease), published by whichever node speaks for the house.
    pub fn house_topic(&self, levels: &str) -> Result<Topic, TopicError> {
        Topic::new(format!("{}/{levels}", self.topic_prefix))
    }

    /// `<discovery>/device/<object_id>/config`: a device the house has once (the locator), not
    /// a node's.
    pub fn house_discovery_topic(&self, object_id: &str) -> Result<Topic, TopicError> {
        Topic::new(format!("{}/device/{object_id}/config", self.discovery_prefix))
    }

    /// `<prefix>/<node>/<levels>`: the node's own topics.
    pub fn node_topic(&self, levels: &str) -> Result<Topic, TopicError> {
        Topic::new(format!("{}/{}/{}", self.topic_prefix, self.node_id, levels))
    }

    /// `<prefix>/<node>/<service>/<levels>` (`<prefix>/<node>/<levels>` for the node service).
    pub fn service_topic(&self, levels: &str) -> Result<Topic, TopicError> {
        if self.is_node_service() {
            self.node_topic(levels)
        } else {
            self.node_topic(&format!("{}/{levels}", self.service))
        }
    }

    /// Availability: `online`/`offline`, retained, the link's last will.
    pub fn availability_topic(&self) -> Topic {
        if let Some(topic) = &self.availability {
            return topic.clone();
        }
        self.service_topic("status")
            .expect("node id and service are checked slugs, so should form a topic")
    }

    /// `<discovery>/device/<node>[_<service>]/config`.
    pub fn discovery_topic(&self) -> Topic {
        let object = if self.is_node_service() {
            self.node_id.clone()
        } else {
            format!("{}_{}", self.node_id, self.service)
        };
        Topic::new(format!("{}/device/{object}/config", self.discovery_prefix))
            .expect("node id and service are checked slugs, so should form a topic")
    }

    /// Home Assistant's birth and last-will topic.
    pub fn ha_status_topic(&self) -> Topic {
        Topic::new(format!("{}/status", self.discovery_prefix))
            .expect("the discovery prefix is checked, so should form a topic")
    }

    /// The identifier Home Assistant files the node's device under.
    pub fn device_identifier(&self) -> String {
        format!("roomsense_{}", self.node_id)
    }

    /// The prefix every unique id and entity id of this service starts with.
    pub fn unique_prefix(&self) -> String {
        if self.is_node_service() {
            format!("roomsense_{}", self.node_id)
        } else {
            format!("roomsense_{}_{}", self.node_id, self.service)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeConfig {
        NodeConfig::new("hall", "hallway", "/tmp")
    }

    #[test]
    fn the_node_service_speaks_for_the_node_and_others_under_their_own_name() {
        let mqtt = MqttConfig::default();
        let n = Identity::new(&node(), &mqtt, NODE_SERVICE);
        let b = Identity::new(&node(), &mqtt, "ble");
        assert_eq!(n.availability_topic().as_str(), "roomsense/hall/status");
        assert_eq!(b.availability_topic().as_str(), "roomsense/hall/ble/status");
        assert_eq!(n.discovery_topic().as_str(), "homeassistant/device/hall/config");
        assert_eq!(b.discovery_topic().as_str(), "homeassistant/device/hall_ble/config");
        assert_eq!(n.client_id(), "hall-node");
        assert_eq!(b.client_id(), "hall-ble");
        assert_eq!(n.device_identifier(), b.device_identifier());
    }

    #[test]
    fn a_service_can_speak_its_availability_on_another_topic() {
        let mqtt = MqttConfig::default();
        let espresense = Topic::new("espresense/rooms/hallway/status").unwrap();
        let b = Identity::new(&node(), &mqtt, "ble").with_availability_topic(espresense.clone());
        assert_eq!(b.availability_topic(), espresense);
        // Everything else stays the service's own.
        assert_eq!(b.discovery_topic().as_str(), "homeassistant/device/hall_ble/config");
        assert_eq!(b.client_id(), "hall-ble");
        let d = crate::discovery::DeviceDiscovery::new(
            &b,
            crate::discovery::Device::of_node(&b, "test"),
        );
        let payload: serde_json::Value =
            serde_json::from_slice(&d.payload(&Default::default())).unwrap();
        assert_eq!(payload["availability_topic"], "espresense/rooms/hallway/status");
    }

    #[test]
    fn prefixes_come_from_the_mqtt_section() {
        let mqtt = MqttConfig {
            topic_prefix: "home/rs".into(),
            discovery_prefix: "ha".into(),
            client_id: Some("pi4".into()),
            ..MqttConfig::default()
        };
        let n = Identity::new(&node(), &mqtt, NODE_SERVICE);
        assert_eq!(n.availability_topic().as_str(), "home/rs/hall/status");
        assert_eq!(n.ha_status_topic().as_str(), "ha/status");
        assert_eq!(n.client_id(), "pi4-node");
        assert_eq!(n.house_topic("devices/a").unwrap().as_str(), "home/rs/devices/a");
        assert_eq!(n.house_discovery_topic("x").unwrap().as_str(), "ha/device/x/config");
    }
}
