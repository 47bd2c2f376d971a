//! The node service's topics and Home Assistant entities.

use roomsense_core::discovery::{Component, Device, DeviceDiscovery};
use roomsense_core::{Identity, Topic};

use crate::sources::SystemReading;

/// Every topic the node service publishes on or listens to.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    pub(crate) version: Topic,
    pub(crate) uptime: Topic,
    pub(crate) cpu_temperature: Topic,
    pub(crate) load: Topic,
    pub(crate) memory: Topic,
    pub(crate) disk_free: Topic,
    pub(crate) restart: Topic,
    /// `<prefix>/<node>/request/+`.
    pub(crate) requests: String,
    request_prefix: String,
    node: Identity,
}

impl Topics {
    pub(crate) fn new(node: &Identity) -> Self {
        let t = |levels: &str| node.node_topic(levels).expect("fixed levels should form a topic");
        let request_base = t("request");
        Self {
            version: t("version"),
            uptime: t("uptime"),
            cpu_temperature: t("cpu_temperature"),
            load: t("load"),
            memory: t("memory"),
            disk_free: t("disk_free"),
            restart: t("restart"),
            requests: format!("{request_base}/+"),
            request_prefix: format!("{request_base}/"),
            node: node.clone(),
        }
    }

    /// The command of a request topic, if it is one.
    pub(crate) fn command_of<'a>(&self, topic: &'a str) -> Option<&'a str> {
        topic.strip_prefix(&self.request_prefix).filter(|c| !c.is_empty() && !c.contains('/'))
    }

    /// Where the response to `command` goes.
    pub(crate) fn response(&self, command: &str) -> Option<Topic> {
        self.node.node_topic(&format!("response/{command}")).ok()
    }
}

/// The node's entities: version, uptime, restart, and each system value the board can read.
pub(crate) fn discovery(
    node: &Identity,
    topics: &Topics,
    model: &str,
    system: &SystemReading,
) -> DeviceDiscovery {
    let mut d = DeviceDiscovery::new(node, Device::of_node(node, model));
    d.add(
        Component::sensor("version", Some("Version"), &topics.version)
            .entity_category("diagnostic")
            .icon("mdi:tag"),
    )
    .add(
        Component::sensor("uptime", Some("Uptime"), &topics.uptime)
            .device_class("duration")
            .unit("s")
            .state_class("total_increasing")
            .entity_category("diagnostic"),
    )
    .add(
        Component::button("restart", Some("Restart"), &topics.restart)
            .device_class("restart")
            .entity_category("config"),
    );
    if system.cpu_temp_c.is_some() {
        d.add(
            Component::sensor("cpu_temperature", Some("CPU temperature"), &topics.cpu_temperature)
                .device_class("temperature")
                .unit("°C")
                .state_class("measurement")
                .entity_category("diagnostic"),
        );
    }
    if system.load_1m.is_some() {
        d.add(
            Component::sensor("load", Some("CPU load (1 min)"), &topics.load)
                .state_class("measurement")
                .entity_category("diagnostic")
                .icon("mdi:cpu-64-bit"),
        );
    }
    if system.memory_used_pct.is_some() {
        d.add(
            Component::sensor("memory", Some("Memory used"), &topics.memory)
                .unit("%")
                .state_class("measurement")
                .entity_category("diagnostic")
                .icon("mdi:memory"),
        );
    }
    if system.disk_free_mib.is_some() {
        d.add(
            Component::sensor("disk_free", Some("Disk free"), &topics.disk_free)
                .device_class("data_size")
                .unit("MiB")
                .state_class("measurement")
                .entity_category("diagnostic"),
        );
    }
    d
}
