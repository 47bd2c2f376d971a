//! The `[broker]` section: where the bundled Mosquitto's files go, its ports, its certificate,
//! and the optional bridge to the home's own broker.

use std::path::PathBuf;

use roomsense_core::config::{Problem, Problems};
use serde::Deserialize;

/// The `[broker]` section. Every key has a default, so a file may leave the section out.
/// Read by `roomsense broker init` and `roomsense doctor`; the broker reads none of it directly.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// Where `broker init` writes `mosquitto.conf`, `passwd`, `acl` and the TLS files.
    /// Default `/etc/mosquitto/roomsense`.
    pub config_dir: PathBuf,
    /// Mosquitto's persistence directory. Default `/var/lib/mosquitto`.
    pub data_dir: PathBuf,
    /// The user Mosquitto drops to when started as root; `broker init` run as root gives it the
    /// broker's files. Default `mosquitto`.
    pub run_as: String,
    /// Plain MQTT port, on 127.0.0.1 only. Default 1883.
    pub port: u16,
    /// TLS port for the network. Default 8883.
    pub tls_port: u16,
    /// Address the TLS listener binds; empty for every interface. Default empty.
    pub tls_bind: String,
    /// Extra names and addresses for the generated server certificate, besides the host name,
    /// `<host name>.local`, `localhost` and `127.0.0.1`. Default none.
    pub hostnames: Vec<String>,
    /// Your own CA, server certificate and key (PEM), instead of the generated ones: all three or
    /// none. Default none.
    pub ca_file: Option<PathBuf>,
    /// See `ca_file`.
    pub cert_file: Option<PathBuf>,
    /// See `ca_file`.
    pub key_file: Option<PathBuf>,
    /// Bridge to an existing broker. Default: no bridge.
    pub bridge: Option<BridgeConfig>,
}

/// `[broker.bridge]`: forward roomsense's topics to the home's own broker and take commands
/// back, so Home Assistant needs no second MQTT integration.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// `host:port` of the home broker (8883 for TLS). Required.
    pub address: String,
    /// The login the home broker gave roomsense. Required.
    pub username: String,
    /// File holding that login's password (first line, mode 0600). Required.
    pub password_file: PathBuf,
    /// The CA that signed the home broker's certificate: TLS when set, plain MQTT (warned
    /// about by `doctor`) when not.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Topic trees bridged both ways. Default `roomsense/#`, `espresense/#`, `homeassistant/#`
    /// (with the prefixes of `[mqtt]`).
    #[serde(default)]
    pub topics: Option<Vec<String>>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            config_dir: PathBuf::from("/etc/mosquitto/roomsense"),
            data_dir: PathBuf::from("/var/lib/mosquitto"),
            run_as: "mosquitto".into(),
            port: 1883,
            tls_port: 8883,
            tls_bind: String::new(),
            hostnames: Vec::new(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            bridge: None,
        }
    }
}

impl BrokerConfig {
    /// Records every problem of this section.
    pub fn validate(&self, problems: &mut Problems) {
        problems.in_range("broker.port", self.port, 1, 65535, "");
        problems.in_range("broker.tls_port", self.tls_port, 1, 65535, "");
        problems.check(self.port != self.tls_port, || {
            Problem::new("broker.tls_port", "is the same as `port`").allowed("another port")
        });
        for (key, dir) in
            [("broker.config_dir", &self.config_dir), ("broker.data_dir", &self.data_dir)]
        {
            problems.check(dir.is_absolute(), || {
                Problem::new(key, format!("{} is not an absolute path", dir.display()))
                    .allowed("an absolute directory path")
            });
        }
        problems.check(is_conf_word(&self.run_as), || {
            Problem::new("broker.run_as", format!("`{}` is not a user name", self.run_as))
                .allowed("a system user, e.g. mosquitto")
        });
        problems.check(self.tls_bind.is_empty() || is_conf_word(&self.tls_bind), || {
            Problem::new("broker.tls_bind", format!("`{}` is not an address", self.tls_bind))
                .allowed("an IP address, or empty for every interface")
        });
        for name in &self.hostnames {
            problems.check(is_conf_word(name), || {
                Problem::new("broker.hostnames", format!("`{name}` is not a host name"))
                    .allowed("DNS names or IP addresses")
            });
        }
        let own = [&self.ca_file, &self.cert_file, &self.key_file];
        let given = own.iter().filter(|f| f.is_some()).count();
        problems.check(given == 0 || given == 3, || {
            Problem::new(
                "broker.ca_file",
                "only some of `ca_file`, `cert_file`, `key_file` are set",
            )
            .allowed("all three, or none to have them generated")
        });
        if let Some(bridge) = &self.bridge {
            bridge.validate(problems);
        }
    }
}

impl BridgeConfig {
    fn validate(&self, problems: &mut Problems) {
        let port_ok = self.address.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        problems.check(port_ok && is_conf_word(&self.address), || {
            Problem::new("broker.bridge.address", format!("`{}` is not host:port", self.address))
                .allowed("e.g. homeassistant.local:8883")
        });
        problems.check(is_conf_word(&self.username), || {
            Problem::new("broker.bridge.username", "is empty or has spaces").allowed("a user name")
        });
        problems.check(std::fs::read_to_string(&self.password_file).is_ok(), || {
            Problem::new(
                "broker.bridge.password_file",
                format!("cannot read {}", self.password_file.display()),
            )
            .allowed("a readable file whose first line is the password")
        });
        if let Some(ca) = &self.ca_file {
            problems.check(ca.is_file(), || {
                Problem::new("broker.bridge.ca_file", format!("cannot read {}", ca.display()))
                    .allowed("the PEM CA of the home broker")
            });
        }
        for topic in self.topics.iter().flatten() {
            problems.check(is_conf_word(topic), || {
                Problem::new("broker.bridge.topics", format!("`{topic}` is not a topic filter"))
                    .allowed("e.g. roomsense/#")
            });
        }
    }
}

/// A value Mosquitto's config reads as one word: non-empty, no whitespace, no `#`, no `@`
/// (our templates' placeholders).
pub(crate) fn is_conf_word(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(c: &BrokerConfig) -> Vec<String> {
        let mut p = Problems::default();
        c.validate(&mut p);
        p.into_vec().into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn the_defaults_are_valid() {
        assert!(problems(&BrokerConfig::default()).is_empty());
    }

    #[test]
    fn half_a_user_certificate_is_refused() {
        let c = BrokerConfig { ca_file: Some("/x/ca.crt".into()), ..BrokerConfig::default() };
        assert_eq!(problems(&c), ["broker.ca_file"]);
    }

    #[test]
    fn a_bridge_needs_host_port_and_a_readable_password() {
        let c = BrokerConfig {
            bridge: Some(BridgeConfig {
                address: "homeassistant.local".into(),
                username: "roomsense".into(),
                password_file: "/nonexistent".into(),
                ca_file: None,
                topics: None,
            }),
            ..BrokerConfig::default()
        };
        assert_eq!(problems(&c), ["broker.bridge.address", "broker.bridge.password_file"]);
    }

    #[test]
    fn values_that_would_break_the_config_file_are_refused() {
        let c = BrokerConfig {
            run_as: "mos quitto".into(),
            hostnames: vec!["a\nb".into()],
            ..BrokerConfig::default()
        };
        assert_eq!(problems(&c), ["broker.run_as", "broker.hostnames"]);
    }
}
