//! The `[mqtt]` section: which broker, how to log in, and the topic prefixes.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::problems::{Problem, Problems};

/// The `[mqtt]` section. Every key has a default, so a file may leave the section out.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Broker host name or address. Default `127.0.0.1` (the bundled broker).
    pub host: String,
    /// Broker port. Default 1883, or 8883 with `tls = true`.
    pub port: Option<u16>,
    /// Speak TLS to the broker (rustls, ring). Default false.
    pub tls: bool,
    /// PEM file of the CA that signed the broker's certificate; without it the system's
    /// roots are not used, so with `tls = true` it is required.
    pub ca_file: Option<PathBuf>,
    /// User name to log in with. Default: none (anonymous).
    pub username: Option<String>,
    /// Password, written in this file. Prefer `password_file`.
    pub password: Option<String>,
    /// A file whose first line is the password (kept out of the config, mode 0600).
    pub password_file: Option<PathBuf>,
    /// One login per service, as `roomsense broker init` writes them: each service logs in as
    /// its client id (`<client_id>-<service>`) with the password in `<dir>/<service>.password`.
    /// Instead of `username` and `password`/`password_file`. Default: none.
    pub credentials_dir: Option<PathBuf>,
    /// Client id prefix; each service connects as `<client_id>-<service>`. Default: the node id.
    pub client_id: Option<String>,
    /// Home Assistant's discovery prefix. Default `homeassistant`.
    pub discovery_prefix: String,
    /// Prefix of roomsense's own topics. Default `roomsense`.
    pub topic_prefix: String,
    /// MQTT keep-alive in seconds (5 to 3600): how soon a dead link is noticed. Default 15.
    pub keep_alive_s: u64,
    /// How many must-deliver messages the on-disk outbox holds before refusing more (1 to
    /// 1,000,000). Default 10,000.
    pub outbox_max_messages: usize,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: None,
            tls: false,
            ca_file: None,
            username: None,
            password: None,
            password_file: None,
            credentials_dir: None,
            client_id: None,
            discovery_prefix: "homeassistant".into(),
            topic_prefix: "roomsense".into(),
            keep_alive_s: 15,
            outbox_max_messages: 10_000,
        }
    }
}

impl MqttConfig {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(if self.tls { 8883 } else { 1883 })
    }

    /// Records every problem of this section, reading the files it names to prove they are usable.
    pub fn validate(&self, problems: &mut Problems) {
        problems.check(!self.host.trim().is_empty(), || {
            Problem::new("mqtt.host", "is empty").allowed("a host name or IP address")
        });
        if let Some(port) = self.port {
            problems.in_range("mqtt.port", port, 1, 65535, "");
        }
        problems.in_range("mqtt.keep_alive_s", self.keep_alive_s, 5, 3600, "seconds");
        problems.in_range("mqtt.outbox_max_messages", self.outbox_max_messages, 1, 1_000_000, "");
        for (key, prefix) in [
            ("mqtt.discovery_prefix", &self.discovery_prefix),
            ("mqtt.topic_prefix", &self.topic_prefix),
        ] {
            let ok = !prefix.is_empty()
                && !prefix.contains(['+', '#', '\0'])
                && !prefix.starts_with('/')
                && !prefix.ends_with('/');
            problems.check(ok, || {
                Problem::new(key, format!("`{prefix}` is not a usable topic prefix"))
                    .allowed("topic levels without + or #, no leading or trailing /")
            });
        }
        if let Some(id) = &self.client_id {
            problems.slug("mqtt.client_id", id);
        }
        if self.password.is_some() && self.password_file.is_some() {
            problems.push(
                Problem::new("mqtt.password", "both `password` and `password_file` are set")
                    .allowed("one of them"),
            );
        }
        if (self.password.is_some() || self.password_file.is_some()) && self.username.is_none() {
            problems.push(
                Problem::new("mqtt.username", "a password is set but no username")
                    .allowed("a user name"),
            );
        }
        if let Some(Err(why)) = self.password_file.as_deref().map(read_password_file) {
            problems.push(
                Problem::new("mqtt.password_file", why)
                    .allowed("a readable file whose first line is the password"),
            );
        }
        if let Some(dir) = &self.credentials_dir {
            if self.username.is_some() || self.password.is_some() || self.password_file.is_some() {
                problems.push(
                    Problem::new(
                        "mqtt.credentials_dir",
                        "is set together with a username or password",
                    )
                    .allowed("either `credentials_dir` or `username` with a password"),
                );
            }
            problems.check(dir.is_dir(), || {
                Problem::new(
                    "mqtt.credentials_dir",
                    format!("{} is not a directory", dir.display()),
                )
                .allowed("the directory `roomsense broker init` wrote, e.g. /etc/roomsense/mqtt")
            });
        }
        match (&self.ca_file, self.tls) {
            (Some(file), true) => {
                if let Err(why) = check_ca_file(file) {
                    problems.push(
                        Problem::new("mqtt.ca_file", why)
                            .allowed("a readable PEM file with at least one CERTIFICATE"),
                    );
                }
            }
            (Some(_), false) => problems.push(
                Problem::new("mqtt.ca_file", "is set but `tls` is false")
                    .allowed("set `tls = true`, or remove `ca_file`"),
            ),
            (None, true) => problems.push(
                Problem::new(
                    "mqtt.ca_file",
                    "`tls = true` needs the CA that signed the broker's certificate",
                )
                .allowed("a PEM file path, e.g. /etc/roomsense/ca.crt"),
            ),
            (None, false) => {}
        }
    }

    /// The login of `client_id` (the service `service`): from `credentials_dir` when set, else
    /// `username` with `password` or `password_file`; `None` for anonymous.
    pub fn login(
        &self,
        client_id: &str,
        service: &str,
    ) -> Result<Option<(String, String)>, String> {
        if let Some(dir) = &self.credentials_dir {
            let password = read_password_file(&credentials_file(dir, service))?;
            return Ok(Some((client_id.to_owned(), password)));
        }
        match &self.username {
            Some(user) => Ok(Some((user.clone(), self.resolve_password()?.unwrap_or_default()))),
            None => Ok(None),
        }
    }

    /// The password to log in with, from `password` or `password_file`.
    pub fn resolve_password(&self) -> Result<Option<String>, String> {
        match (&self.password, &self.password_file) {
            (Some(p), _) => Ok(Some(p.clone())),
            (None, Some(file)) => read_password_file(file).map(Some),
            (None, None) => Ok(None),
        }
    }
}

/// Where `credentials_dir` keeps the password of `service` (or of `homeassistant`, `bridge`).
pub fn credentials_file(dir: &Path, service: &str) -> PathBuf {
    dir.join(format!("{service}.password"))
}

fn read_password_file(file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(format!("{} is empty", file.display()));
    }
    Ok(line.to_owned())
}

/// Reads a CA file and counts its certificates; the reason when it holds none.
fn check_ca_file(file: &Path) -> Result<usize, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut reader = std::io::BufReader::new(bytes.as_slice());
    let mut count = 0;
    for cert in rustls_pemfile::certs(&mut reader) {
        cert.map_err(|e| format!("{} is not valid PEM: {e}", file.display()))?;
        count += 1;
    }
    if count == 0 {
        return Err(format!("{} holds no PEM CERTIFICATE", file.display()));
    }
    Ok(count)
}
