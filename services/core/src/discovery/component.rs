//! One Home Assistant entity of a device: a small constructor per platform, each requiring
//! what Home Assistant requires of that platform (`ha-mqtt.md` §3.2), and a few shared setters.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::topic::Topic;

/// The Home Assistant platforms roomsense publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Platform {
    /// A value.
    Sensor,
    /// On or off.
    BinarySensor,
    /// Something to turn on and off.
    Switch,
    /// A light, JSON schema.
    Light,
    /// Something to press.
    Button,
    /// A number to set.
    Number,
    /// One of a list to choose.
    Select,
    /// Something that happened.
    Event,
    /// Where a device is.
    DeviceTracker,
    /// A picture.
    Image,
}

impl Platform {
    /// The name Home Assistant uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Sensor => "sensor",
            Platform::BinarySensor => "binary_sensor",
            Platform::Switch => "switch",
            Platform::Light => "light",
            Platform::Button => "button",
            Platform::Number => "number",
            Platform::Select => "select",
            Platform::Event => "event",
            Platform::DeviceTracker => "device_tracker",
            Platform::Image => "image",
        }
    }
}

/// One entity: platform, a key unique within the service, and its options.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    platform: Platform,
    key: String,
    options: BTreeMap<String, Value>,
}

impl Component {
    fn new(platform: Platform, key: &str, name: Option<&str>) -> Self {
        let mut options = BTreeMap::new();
        options.insert("name".to_owned(), name.map_or(Value::Null, |n| json!(n)));
        Self { platform, key: key.to_owned(), options }
    }

    /// A sensor showing what is published on `state_topic`. `name: None` marks the device's
    /// main feature (Home Assistant then shows the device name alone).
    pub fn sensor(key: &str, name: Option<&str>, state_topic: &Topic) -> Self {
        Self::new(Platform::Sensor, key, name).with("state_topic", state_topic.as_str())
    }

    /// An ON/OFF sensor.
    pub fn binary_sensor(key: &str, name: Option<&str>, state_topic: &Topic) -> Self {
        Self::new(Platform::BinarySensor, key, name)
            .with("state_topic", state_topic.as_str())
            .with("payload_on", "ON")
            .with("payload_off", "OFF")
    }

    /// A switch: ON/OFF commands on `command_topic`, the state it is in on `state_topic`.
    pub fn switch(
        key: &str,
        name: Option<&str>,
        command_topic: &Topic,
        state_topic: &Topic,
    ) -> Self {
        Self::new(Platform::Switch, key, name)
            .with("command_topic", command_topic.as_str())
            .with("state_topic", state_topic.as_str())
            .with("payload_on", "ON")
            .with("payload_off", "OFF")
    }

    /// A dimmable light speaking Home Assistant's JSON schema (`{"state":"ON","brightness":n}`).
    pub fn light(
        key: &str,
        name: Option<&str>,
        command_topic: &Topic,
        state_topic: &Topic,
    ) -> Self {
        Self::new(Platform::Light, key, name)
            .with("schema", "json")
            .with("command_topic", command_topic.as_str())
            .with("state_topic", state_topic.as_str())
            .with("supported_color_modes", json!(["brightness"]))
            .with("brightness", true)
            .with("brightness_scale", 255)
    }

    /// A button that publishes `PRESS` on `command_topic`.
    pub fn button(key: &str, name: Option<&str>, command_topic: &Topic) -> Self {
        Self::new(Platform::Button, key, name)
            .with("command_topic", command_topic.as_str())
            .with("payload_press", "PRESS")
    }

    /// A number between `min` and `max` in steps of `step`.
    pub fn number(
        key: &str,
        name: Option<&str>,
        command_topic: &Topic,
        state_topic: &Topic,
        (min, max, step): (f64, f64, f64),
    ) -> Self {
        Self::new(Platform::Number, key, name)
            .with("command_topic", command_topic.as_str())
            .with("state_topic", state_topic.as_str())
            .with("min", min)
            .with("max", max)
            .with("step", step)
    }

    /// A choice among `options`.
    pub fn select(
        key: &str,
        name: Option<&str>,
        command_topic: &Topic,
        state_topic: &Topic,
        options: &[&str],
    ) -> Self {
        Self::new(Platform::Select, key, name)
            .with("command_topic", command_topic.as_str())
            .with("state_topic", state_topic.as_str())
            .with("options", json!(options))
    }

    /// An event entity: JSON payloads with an `event_type` from `event_types`.
    pub fn event(key: &str, name: Option<&str>, state_topic: &Topic, event_types: &[&str]) -> Self {
        Self::new(Platform::Event, key, name)
            .with("state_topic", state_topic.as_str())
            .with("event_types", json!(event_types))
    }

    /// A device tracker: the state topic carries a zone name, `home` or `not_home`.
    pub fn device_tracker(
        key: &str,
        name: Option<&str>,
        state_topic: &Topic,
        source_type: &str,
    ) -> Self {
        Self::new(Platform::DeviceTracker, key, name)
            .with("state_topic", state_topic.as_str())
            .with("source_type", source_type)
            .with("payload_home", "home")
            .with("payload_not_home", "not_home")
    }

    /// A picture published as raw bytes on `image_topic`.
    pub fn image(key: &str, name: Option<&str>, image_topic: &Topic, content_type: &str) -> Self {
        Self::new(Platform::Image, key, name)
            .with("image_topic", image_topic.as_str())
            .with("content_type", content_type)
    }

    /// `device_class` (e.g. `temperature`, `occupancy`, `restart`).
    pub fn device_class(self, class: &str) -> Self {
        self.with("device_class", class)
    }

    /// `unit_of_measurement`.
    pub fn unit(self, unit: &str) -> Self {
        self.with("unit_of_measurement", unit)
    }

    /// `state_class` (`measurement`, `total_increasing`).
    pub fn state_class(self, class: &str) -> Self {
        self.with("state_class", class)
    }

    /// `entity_category` (`diagnostic`, `config`).
    pub fn entity_category(self, category: &str) -> Self {
        self.with("entity_category", category)
    }

    /// `icon` (`mdi:...`).
    pub fn icon(self, icon: &str) -> Self {
        self.with("icon", icon)
    }

    /// `value_template`, for a field of a JSON state.
    pub fn value_template(self, template: &str) -> Self {
        self.with("value_template", template)
    }

    /// `json_attributes_topic`: a JSON object whose keys become attributes.
    pub fn json_attributes_topic(self, topic: &Topic) -> Self {
        self.with("json_attributes_topic", topic.as_str())
    }

    /// `expire_after`: the state becomes unavailable when not refreshed for this long.
    pub fn expire_after_s(self, seconds: u64) -> Self {
        self.with("expire_after", seconds)
    }

    /// `suggested_display_precision`.
    pub fn precision(self, digits: u8) -> Self {
        self.with("suggested_display_precision", digits)
    }

    /// Any other option, by Home Assistant's full (unabbreviated) key.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.options.insert(key.to_owned(), value.into());
        self
    }

    /// The platform.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The key, unique within the service.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The component's JSON, with `unique_id`, `object_id` and `default_entity_id` made from
    /// `unique_id` (`object_id` for Home Assistant before 2025.10, `default_entity_id` after).
    pub(crate) fn to_json(&self, unique_id: &str) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("platform".into(), json!(self.platform.as_str()));
        map.insert("unique_id".into(), json!(unique_id));
        map.insert("object_id".into(), json!(unique_id));
        map.insert(
            "default_entity_id".into(),
            json!(format!("{}.{unique_id}", self.platform.as_str())),
        );
        for (k, v) in &self.options {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }
}
