//! The whole config file: one section per service, as the binary reads it.

use std::path::Path;

use roomsense_audio::AudioConfig;
use roomsense_core::config::{ConfigError, ConfigFile, MqttConfig, NodeConfig};
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
    #[serde(default)]
    pub(crate) audio: AudioConfig,
}

impl RoomsenseConfig {
    /// Reads and checks a config file; every problem at once.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(&ConfigFile::load(path)?)
    }

    pub(crate) fn parse(file: &ConfigFile) -> Result<Self, ConfigError> {
        file.parse(|c: &RoomsenseConfig, problems| {
            c.node.validate(problems);
            c.mqtt.validate(problems);
            c.audio.validate(problems);
        })
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
    fn an_unknown_section_is_refused_with_the_sections_allowed() {
        let file =
            ConfigFile::from_text("t.toml", "[node]\nid = \"a\"\nroom = \"b\"\n[blee]\nx = 1\n");
        let err = RoomsenseConfig::parse(&file).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("t.toml:4: blee: unknown key (allowed: node, mqtt, audio)"),
            "{text}"
        );
    }
}
