//! The whole config file: one section per service, as the binary reads it.

use std::path::Path;

use roomsense_audio::AudioConfig;
use roomsense_ble::{BleConfig, ValidBleConfig};
use roomsense_broker::BrokerConfig;
use roomsense_core::config::{ConfigError, ConfigFile, MqttConfig, NodeConfig, Problem, Problems};
use roomsense_gpio::GpioConfig;
use roomsense_locate::LocateConfig;
use serde::Deserialize;
use serde_json::{Value, json};

/// Where the image keeps the config.
pub(crate) const DEFAULT_PATH: &str = "/etc/roomsense/roomsense.toml";

/// `roomsense.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoomsenseConfig {
    pub(crate) node: NodeConfig,
    #[serde(default)]
    pub(crate) mqtt: MqttConfig,
    /// The house model and locator settings (`roomsense locate`).
    #[serde(default)]
    pub(crate) locate: LocateConfig,
    /// The bundled broker (`roomsense broker init`).
    #[serde(default)]
    pub(crate) broker: BrokerConfig,
    /// Per-room occupancy and local automations (`roomsense rooms`).
    #[serde(default)]
    pub(crate) rooms: roomsense_rooms::RoomsConfig,
    /// GPIO parts and the board they are wired to (`roomsense gpio`).
    #[serde(default)]
    pub(crate) gpio: GpioConfig,
    /// The BLE presence node (`roomsense ble`).
    #[serde(default)]
    pub(crate) ble: BleConfig,
    /// Cameras, zones and the person detector (`roomsense vision`).
    #[serde(default)]
    pub(crate) vision: roomsense_vision::VisionConfig,
    /// Microphones, voice activity and sound level (`roomsense audio`).
    #[serde(default)]
    pub(crate) audio: AudioConfig,
}

impl RoomsenseConfig {
    /// Reads and checks a config file; every problem at once.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(&ConfigFile::load(path)?)
    }

    pub(crate) fn parse(file: &ConfigFile) -> Result<Self, ConfigError> {
        file.parse(|c: &RoomsenseConfig, problems| c.validate(problems))
    }

    /// Records every problem of every section (the demo's own config passes the same checks).
    pub(crate) fn validate(&self, problems: &mut Problems) {
        self.node.validate(problems);
        self.mqtt.validate(problems);
        if let Err(found) = self.ble.validate(&self.node.room) {
            for p in found {
                problems.push(Problem::new(p.key, p.message));
            }
        }
        if let Err(found) = self.locate.validate() {
            for p in found.0 {
                problems.push(Problem::new(p.key, p.message));
            }
        }
        self.broker.validate(problems);
        self.rooms.validate(problems);
        self.gpio.validate(problems);
        self.vision.validate(problems);
        self.audio.validate(problems);
    }

    /// The `[ble]` section as the BLE service runs on it.
    pub(crate) fn valid_ble(&self) -> anyhow::Result<ValidBleConfig> {
        self.ble.validate(&self.node.room).map_err(|found| {
            let text: Vec<String> =
                found.iter().map(|p| format!("{}: {}", p.key, p.message)).collect();
            anyhow::anyhow!("invalid [ble] section: {}", text.join("; "))
        })
    }

    /// The validated `[rooms]` section (already checked by `parse`).
    pub(crate) fn house(&self) -> anyhow::Result<roomsense_rooms::House> {
        let mut problems = roomsense_core::config::Problems::default();
        match self.rooms.validate(&mut problems) {
            Some(house) => Ok(house),
            None => {
                let text: Vec<String> =
                    problems.into_vec().iter().map(ToString::to_string).collect();
                anyhow::bail!("invalid [rooms] section: {}", text.join("; "))
            }
        }
    }

    /// The config as `info` reports it: no password, no password file contents.
    pub(crate) fn summary(&self) -> Value {
        json!({
            "node": {"id": self.node.id, "room": self.node.room, "name": self.node.display_name()},
            "mqtt": {
                "host": self.mqtt.host,
                "port": self.mqtt.port(),
                "tls": self.mqtt.tls,
                "username": self.mqtt.username,
                "password_set": self.mqtt.password.is_some() || self.mqtt.password_file.is_some(),
                "discovery_prefix": self.mqtt.discovery_prefix,
                "topic_prefix": self.mqtt.topic_prefix,
            },
            "locate": {
                "estimator": self.locate.estimator.name(),
                "floors": self.locate.floors.len(),
                "rooms": self.locate.rooms.len(),
                "nodes": self.locate.nodes.len(),
            },
            "gpio": {
                "board": self.gpio.board,
                "parts": self.gpio.relay.len() + self.gpio.led.len() + self.gpio.buzzer.len()
                    + self.gpio.input.len() + self.gpio.bme280.len(),
            },
            "vision": {
                "cameras": self.vision.cameras.iter().map(|c| &c.id).collect::<Vec<_>>(),
                "snapshot": self.vision.snapshot,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_never_carries_the_password() {
        let file = ConfigFile::from_text(
            "t.toml",
            "[node]\nid = \"a\"\nroom = \"b\"\n[mqtt]\nusername = \"u\"\npassword = \"hunter2\"\n",
        );
        let summary = RoomsenseConfig::parse(&file).unwrap().summary().to_string();
        assert!(!summary.contains("hunter2"));
        assert!(summary.contains("\"password_set\":true"));
    }

    #[test]
    fn a_bad_house_is_refused_with_the_line_of_each_key() {
        let file = ConfigFile::from_text(
            "t.toml",
            "[node]\nid = \"a\"\nroom = \"b\"\n[locate.rooms.kitchen]\nfloor = \"attic\"\npolygon = [[0, 0], [1, 0], [1, 1]]\n",
        );
        let err = RoomsenseConfig::parse(&file).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("t.toml:5: locate.rooms.kitchen.floor: no floor"), "{text}");
    }

    #[test]
    fn an_unknown_section_is_refused_with_the_sections_allowed() {
        let file =
            ConfigFile::from_text("t.toml", "[node]\nid = \"a\"\nroom = \"b\"\n[blee]\nx = 1\n");
        let err = RoomsenseConfig::parse(&file).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("t.toml:4: blee: unknown key (allowed: node, mqtt"), "{text}");
    }

    #[test]
    fn a_bad_ble_value_is_refused_with_its_line() {
        let file = ConfigFile::from_text(
            "t.toml",
            "[node]\nid = \"a\"\nroom = \"hall\"\n[ble]\nmax_devices = 100\nabsorption = 9\n",
        );
        let text = RoomsenseConfig::parse(&file).unwrap_err().to_string();
        assert!(text.contains("t.toml:6: ble.absorption: value out of range 1..=5"), "{text}");
        let ok = ConfigFile::from_text("t.toml", "[node]\nid = \"a\"\nroom = \"hall\"\n");
        let config = RoomsenseConfig::parse(&ok).unwrap();
        assert_eq!(config.valid_ble().unwrap().room, "hall", "the BLE room defaults to the node's");
    }
}
