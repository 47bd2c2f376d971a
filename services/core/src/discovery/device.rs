//! A service's device-discovery message: the node's device, the origin, the service's
//! availability, and its components, as one retained `homeassistant/device/.../config`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::component::{Component, Platform};
use crate::identity::Identity;
use crate::topic::Topic;

/// The hardware Home Assistant shows as one device per node.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Device {
    /// Stable identifiers; the same on every service's message so they merge into one device.
    pub identifiers: Vec<String>,
    /// Display name.
    pub name: String,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model (board).
    pub model: String,
    /// Software version.
    pub sw_version: String,
    /// Area Home Assistant suggests (the node's room).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_area: Option<String>,
}

impl Device {
    /// The node's device, as every one of its services describes it.
    pub fn of_node(identity: &Identity, model: &str) -> Self {
        Self {
            identifiers: vec![identity.device_identifier()],
            name: identity.node_name().to_owned(),
            manufacturer: "roomsense".into(),
            model: model.to_owned(),
            sw_version: crate::VERSION.into(),
            suggested_area: Some(identity.room().to_owned()),
        }
    }
}

/// A service's discovery message, built from data: publish it with
/// [`crate::mqtt::Link::announce`], which sends only what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceDiscovery {
    topic: Topic,
    availability_topic: Topic,
    unique_prefix: String,
    device: Device,
    components: BTreeMap<String, Component>,
}

impl DeviceDiscovery {
    /// An empty message for the service of `identity`, on `device`.
    pub fn new(identity: &Identity, device: Device) -> Self {
        Self {
            topic: identity.discovery_topic(),
            availability_topic: identity.availability_topic(),
            unique_prefix: identity.unique_prefix(),
            device,
            components: BTreeMap::new(),
        }
    }

    /// A message for a device the house has once, whichever node speaks for it (the locator):
    /// published on `<discovery>/device/<object_id>/config`, unique ids `<object_id>_<key>`, so
    /// they stay the same when another node takes over; availability is the speaking service's.
    /// Publish it with [`crate::mqtt::Link::publish_state`] (retained): [`crate::mqtt::Link::announce`]
    /// is for the service's own message.
    pub fn for_house(
        identity: &Identity,
        object_id: &str,
        device: Device,
    ) -> Result<Self, crate::topic::TopicError> {
        Ok(Self {
            topic: identity.house_discovery_topic(object_id)?,
            availability_topic: identity.availability_topic(),
            unique_prefix: object_id.to_owned(),
            device,
            components: BTreeMap::new(),
        })
    }

    /// Adds (or replaces, by key) a component.
    pub fn add(&mut self, component: Component) -> &mut Self {
        self.components.insert(self.unique_id(component.key()), component);
        self
    }

    /// Removes a component by key; the next announcement tells Home Assistant it is gone.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        let id = self.unique_id(key);
        self.components.remove(&id);
        self
    }

    /// Where the message is published.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }

    /// `<prefix>_<key>`: the component's unique id, object id and entity id.
    pub fn unique_id(&self, key: &str) -> String {
        format!("{}_{key}", self.unique_prefix)
    }

    /// Unique id → platform of every component.
    pub fn platforms(&self) -> BTreeMap<String, Platform> {
        self.components.iter().map(|(id, c)| (id.clone(), c.platform())).collect()
    }

    /// The JSON payload; components in `removed` (unique id → platform) are listed with their
    /// platform alone, which is how Home Assistant is told to delete them.
    pub fn payload(&self, removed: &BTreeMap<String, Platform>) -> Vec<u8> {
        let mut components = serde_json::Map::new();
        for (id, platform) in removed {
            if !self.components.contains_key(id) {
                components.insert(id.clone(), json!({ "platform": platform.as_str() }));
            }
        }
        for (id, component) in &self.components {
            components.insert(id.clone(), component.to_json(id));
        }
        let payload = json!({
            "device": self.device,
            "origin": {
                "name": "roomsense",
                "sw_version": crate::VERSION,
                "support_url": "https://github.com/roomsense/roomsense",
            },
            "availability_topic": self.availability_topic.as_str(),
            "payload_available": "online",
            "payload_not_available": "offline",
            "qos": 1,
            "components": Value::Object(components),
        });
        serde_json::to_vec(&payload).expect("a JSON value should always serialize")
    }
}
