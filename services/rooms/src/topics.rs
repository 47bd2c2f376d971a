//! Every topic the rooms service reads or writes, in one place: the other services' topics as
//! their issues define them (locator, vision, audio, GPIO), and the service's own outputs.
//!
//! Read:
//! - `<prefix>/devices/<id>`: the locator's room of a device, or `not_home` (retained);
//! - `<prefix>/<node>/vision/<camera>/person` and `<prefix>/<node>/vision/<camera>/<zone>/person`:
//!   person counts;
//! - `<prefix>/<node>/audio/<mic>/voice` (ON/OFF) and `.../level` (dB);
//! - `<prefix>/<node>/gpio/<input>` (ON/OFF: PIR motion, door contact with ON = open) and
//!   `<prefix>/<node>/gpio/<sensor>/<quantity>` (a number).
//!
//! Written:
//! - `<prefix>/rooms/<room>/occupancy` (ON/OFF), `.../count`, `.../evidence` (JSON), retained;
//! - `<prefix>/rooms/automations/<rule>`: one event per firing (must-deliver);
//! - `<prefix>/<node>/gpio/<output>/set`: ON/OFF for a relay, Home Assistant's JSON light
//!   schema for a light, `{"state":"ON","tone":"<pattern>"}` (the MQTT siren's) for a buzzer.

use roomsense_core::Topic;

use crate::domain::house::SensorRef;

/// A topic the service listens to, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// `<prefix>/devices/<id>`.
    Device {
        /// Device id.
        device: String,
    },
    /// `<prefix>/<node>/vision/<camera>[/<zone>]/person`.
    PersonCount {
        /// Node.
        node: String,
        /// Camera.
        camera: String,
        /// Zone.
        zone: Option<String>,
    },
    /// `<prefix>/<node>/audio/<mic>/voice`.
    Voice {
        /// Node.
        node: String,
        /// Mic.
        mic: String,
    },
    /// `<prefix>/<node>/audio/<mic>/level`.
    Level {
        /// Node.
        node: String,
        /// Mic.
        mic: String,
    },
    /// `<prefix>/<node>/gpio/<input>`.
    Input {
        /// Node.
        node: String,
        /// Input.
        input: String,
    },
    /// `<prefix>/<node>/gpio/<sensor>/<quantity>`.
    Quantity {
        /// Node.
        node: String,
        /// Sensor.
        sensor: String,
        /// Quantity.
        quantity: String,
    },
}

/// The service's topics under one prefix.
#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
}

impl Topics {
    /// Topics under `prefix` (`[mqtt] topic_prefix`, `roomsense` by default).
    pub fn new(prefix: &str) -> Self {
        Self { prefix: prefix.trim_end_matches('/').to_owned() }
    }

    /// The subscription filters that cover every [`Inbound`].
    pub fn filters(&self) -> [String; 4] {
        let p = &self.prefix;
        [
            format!("{p}/devices/+"),
            format!("{p}/+/vision/#"),
            format!("{p}/+/audio/#"),
            format!("{p}/+/gpio/#"),
        ]
    }

    /// What a received topic is, if it is one the service reads.
    pub fn parse(&self, topic: &str) -> Option<Inbound> {
        let rest = topic.strip_prefix(&self.prefix)?.strip_prefix('/')?;
        let levels: Vec<&str> = rest.split('/').collect();
        if levels.iter().any(|l| l.is_empty()) {
            return None;
        }
        let s = |x: &&str| (*x).to_owned();
        Some(match levels.as_slice() {
            ["devices", id] => Inbound::Device { device: s(id) },
            [node, "vision", cam, "person"] => {
                Inbound::PersonCount { node: s(node), camera: s(cam), zone: None }
            }
            [node, "vision", cam, zone, "person"] => {
                Inbound::PersonCount { node: s(node), camera: s(cam), zone: Some(s(zone)) }
            }
            [node, "audio", mic, "voice"] => Inbound::Voice { node: s(node), mic: s(mic) },
            [node, "audio", mic, "level"] => Inbound::Level { node: s(node), mic: s(mic) },
            [node, "gpio", input] => Inbound::Input { node: s(node), input: s(input) },
            [_, "gpio", _, "set"] => return None,
            [node, "gpio", sensor, quantity] => {
                Inbound::Quantity { node: s(node), sensor: s(sensor), quantity: s(quantity) }
            }
            _ => return None,
        })
    }

    /// The prefix itself.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>/<levels>`.
    pub fn under(&self, levels: &str) -> Option<Topic> {
        self.topic(levels)
    }

    fn topic(&self, levels: &str) -> Option<Topic> {
        Topic::new(format!("{}/{levels}", self.prefix)).ok()
    }

    /// `<prefix>/rooms/<room>/<what>` (`occupancy`, `count`, `evidence`).
    pub fn room(&self, room: &str, what: &str) -> Option<Topic> {
        self.topic(&format!("rooms/{room}/{what}"))
    }

    /// `<prefix>/rooms/automations/<rule>`.
    pub fn automation_event(&self, rule: &str) -> Option<Topic> {
        self.topic(&format!("rooms/automations/{rule}"))
    }

    /// `<prefix>/<node>/gpio/<output>/set`: relay, light and buzzer commands.
    pub fn gpio_command(&self, node: &str, output: &str) -> Option<Topic> {
        self.topic(&format!("{node}/gpio/{output}/set"))
    }

    /// `<prefix>/<node>/gpio/<output>`: an output's or input's state.
    pub fn gpio_state(&self, node: &str, name: &str) -> Option<Topic> {
        self.topic(&format!("{node}/gpio/{name}"))
    }

    /// The topic a sensor reference is published on.
    pub fn sensor(&self, sensor: &SensorRef) -> Option<Topic> {
        match sensor {
            SensorRef::Gpio { node, sensor, quantity } => {
                self.topic(&format!("{node}/gpio/{sensor}/{quantity}"))
            }
            SensorRef::MicLevel { node, mic } => self.topic(&format!("{node}/audio/{mic}/level")),
            SensorRef::PersonCount { node, camera, zone } => match zone {
                Some(z) => self.topic(&format!("{node}/vision/{camera}/{z}/person")),
                None => self.topic(&format!("{node}/vision/{camera}/person")),
            },
        }
    }

    /// `<prefix>/<node>/vision/<camera>[/<zone>]/person`.
    pub fn person_count(&self, node: &str, camera: &str, zone: Option<&str>) -> Option<Topic> {
        self.sensor(&SensorRef::PersonCount {
            node: node.into(),
            camera: camera.into(),
            zone: zone.map(str::to_owned),
        })
    }

    /// `<prefix>/<node>/audio/<mic>/voice`.
    pub fn voice(&self, node: &str, mic: &str) -> Option<Topic> {
        self.topic(&format!("{node}/audio/{mic}/voice"))
    }

    /// `<prefix>/devices/<id>`.
    pub fn device(&self, device: &str) -> Option<Topic> {
        self.topic(&format!("devices/{device}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_topic_is_recognised_and_commands_are_not() {
        let t = Topics::new("roomsense");
        let p = |s: &str| t.parse(s);
        assert_eq!(
            p("roomsense/devices/phone:alice"),
            Some(Inbound::Device { device: "phone:alice".into() })
        );
        assert_eq!(
            p("roomsense/n2/vision/cam/person"),
            Some(Inbound::PersonCount { node: "n2".into(), camera: "cam".into(), zone: None })
        );
        assert_eq!(
            p("roomsense/n2/vision/cam/sofa/person"),
            Some(Inbound::PersonCount {
                node: "n2".into(),
                camera: "cam".into(),
                zone: Some("sofa".into())
            })
        );
        assert_eq!(
            p("roomsense/n2/audio/mic/voice"),
            Some(Inbound::Voice { node: "n2".into(), mic: "mic".into() })
        );
        assert_eq!(
            p("roomsense/n2/audio/mic/level"),
            Some(Inbound::Level { node: "n2".into(), mic: "mic".into() })
        );
        assert_eq!(
            p("roomsense/n1/gpio/pir"),
            Some(Inbound::Input { node: "n1".into(), input: "pir".into() })
        );
        assert_eq!(
            p("roomsense/n1/gpio/bme280/temperature"),
            Some(Inbound::Quantity {
                node: "n1".into(),
                sensor: "bme280".into(),
                quantity: "temperature".into()
            })
        );
        for other in [
            "roomsense/n1/gpio/relay/set",
            "roomsense/n2/vision/cam/occupancy",
            "roomsense/devices/x/attributes",
            "roomsense/rooms/kitchen/occupancy",
            "roomsense//gpio/x",
            "other/n1/gpio/pir",
        ] {
            assert_eq!(p(other), None, "{other}");
        }
    }

    #[test]
    fn outputs_live_under_rooms_and_commands_under_the_node() {
        let t = Topics::new("home/rs/");
        assert_eq!(
            t.room("kitchen", "occupancy").unwrap().as_str(),
            "home/rs/rooms/kitchen/occupancy"
        );
        assert_eq!(
            t.automation_event("lights").unwrap().as_str(),
            "home/rs/rooms/automations/lights"
        );
        assert_eq!(t.gpio_command("n1", "relay").unwrap().as_str(), "home/rs/n1/gpio/relay/set");
        assert!(t.filters().iter().all(|f| f.starts_with("home/rs/")));
        let level = SensorRef::MicLevel { node: "n2".into(), mic: "mic".into() };
        assert_eq!(t.sensor(&level).unwrap().as_str(), "home/rs/n2/audio/mic/level");
    }
}
