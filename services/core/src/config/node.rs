//! The `[node]` section: who this node is and where it keeps its state.

use std::path::PathBuf;

use serde::Deserialize;

use super::problems::Problems;

/// The `[node]` section.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's id: the `<node>` level of every topic and the Home Assistant device identifier.
    /// Lowercase letters, digits, `_` and `-`. Required. Restart to change.
    pub id: String,
    /// The room the node stands in, as ESPresense names rooms (`espresense/rooms/<room>`).
    /// Same characters as `id`. Required.
    pub room: String,
    /// The name Home Assistant shows for the node's device. Default: `roomsense <id>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Where the node keeps what must survive a restart (the MQTT outbox).
    /// Default: `$STATE_DIRECTORY` when systemd sets it, else `/var/lib/roomsense`.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// How often the node publishes its own health values, seconds (1 to 3600). Default 30.
    #[serde(default = "default_report_interval_s")]
    pub report_interval_s: u64,
}

fn default_report_interval_s() -> u64 {
    30
}

fn default_state_dir() -> PathBuf {
    std::env::var_os("STATE_DIRECTORY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/roomsense"))
}

impl NodeConfig {
    /// A node with the default name and report interval, keeping its state in `state_dir`.
    pub fn new(
        id: impl Into<String>,
        room: impl Into<String>,
        state_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            id: id.into(),
            room: room.into(),
            name: None,
            state_dir: state_dir.into(),
            report_interval_s: default_report_interval_s(),
        }
    }

    /// Records every problem of this section.
    pub fn validate(&self, problems: &mut Problems) {
        problems.slug("node.id", &self.id);
        problems.slug("node.room", &self.room);
        problems.in_range("node.report_interval_s", self.report_interval_s, 1, 3600, "seconds");
        if let Some(name) = &self.name {
            problems.check(!name.trim().is_empty(), || {
                super::Problem::new("node.name", "is empty")
                    .allowed("any text, or leave the key out")
            });
        }
    }

    /// The device name Home Assistant shows.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("roomsense {}", self.id))
    }
}
