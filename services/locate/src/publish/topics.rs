//! Every topic the locator reads or writes, built from the link's identity.
//!
//! House-level topics (`<prefix>/devices/<id>`, `<prefix>/locate/...`) are the same whichever
//! node leads; the stats topic is the node's own (`<prefix>/<node>/locate/stats`).

use roomsense_core::topic::TopicError;
use roomsense_core::{Identity, Topic};

/// Where every node of the house (roomsense and ESP32 ESPresense) reports devices.
pub(crate) const DEVICE_REPORTS: &str = "espresense/devices/+/+";

/// The locator's topics.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    devices: Topic,
    /// The retained lease: `{"holder","ttl_ms"}`.
    pub(crate) lease: Topic,
    /// Retained calibration proposals.
    pub(crate) calibration: Topic,
    /// The "Apply calibration" button's command topic.
    pub(crate) apply_calibration: Topic,
    /// `<prefix>/locate/request/+`.
    pub(crate) requests: String,
    request_prefix: String,
    responses: Topic,
    /// This node's locator counters and role.
    pub(crate) stats: Topic,
    /// Home Assistant's birth topic.
    pub(crate) ha_status: Topic,
}

impl Topics {
    pub(crate) fn new(identity: &Identity) -> Result<Self, TopicError> {
        let requests = identity.house_topic("locate/request")?;
        Ok(Topics {
            devices: identity.house_topic("devices")?,
            lease: identity.house_topic("locate/lease")?,
            calibration: identity.house_topic("locate/calibration")?,
            apply_calibration: identity.house_topic("locate/calibration/apply")?,
            requests: format!("{requests}/+"),
            request_prefix: format!("{requests}/"),
            responses: identity.house_topic("locate/response")?,
            stats: identity.service_topic("stats")?,
            ha_status: identity.ha_status_topic(),
        })
    }

    /// `<prefix>/devices/<id>`: the room, `not_home` or `unknown`, retained.
    pub(crate) fn device_state(&self, id: &str) -> Option<Topic> {
        one_level(id).then(|| self.devices.join(id).ok()).flatten()
    }

    /// `<prefix>/devices/<id>/attributes`: position, floor, confidence, nodes, retained.
    pub(crate) fn device_attributes(&self, id: &str) -> Option<Topic> {
        one_level(id).then(|| self.devices.join(&format!("{id}/attributes")).ok()).flatten()
    }

    /// The command of a request topic, if it is one.
    pub(crate) fn command_of<'a>(&self, topic: &'a str) -> Option<&'a str> {
        topic.strip_prefix(&self.request_prefix).filter(|c| one_level(c))
    }

    /// Where the answer to `command` goes.
    pub(crate) fn response(&self, command: &str) -> Option<Topic> {
        one_level(command).then(|| self.responses.join(command).ok()).flatten()
    }
}

/// `espresense/rooms/<node>/<setting>/set`: an ESPresense node's setting command.
pub(crate) fn espresense_set(node: &str, setting: &str) -> Option<Topic> {
    (one_level(node) && one_level(setting))
        .then(|| Topic::new(format!("espresense/rooms/{node}/{setting}/set")).ok())
        .flatten()
}

fn one_level(s: &str) -> bool {
    !s.is_empty() && !s.contains('/')
}

#[cfg(test)]
mod tests {
    use roomsense_core::config::{MqttConfig, NodeConfig};

    use super::*;

    fn topics() -> Topics {
        let node = NodeConfig::new("hall", "hall", "/tmp");
        Topics::new(&Identity::new(&node, &MqttConfig::default(), "locate")).expect("topics")
    }

    #[test]
    fn device_topics_are_house_level_and_per_device() {
        let t = topics();
        assert_eq!(t.device_state("phone:a").unwrap().as_str(), "roomsense/devices/phone:a");
        assert_eq!(
            t.device_attributes("phone:a").unwrap().as_str(),
            "roomsense/devices/phone:a/attributes"
        );
        assert_eq!(t.stats.as_str(), "roomsense/hall/locate/stats");
        assert_eq!(t.lease.as_str(), "roomsense/locate/lease");
    }

    #[test]
    fn ids_that_would_add_levels_or_wildcards_get_no_topic() {
        let t = topics();
        assert!(t.device_state("a/b").is_none());
        assert!(t.device_state("a+").is_none());
        assert!(t.device_state("").is_none());
    }

    #[test]
    fn request_topics_name_their_command() {
        let t = topics();
        assert_eq!(t.command_of("roomsense/locate/request/calibration"), Some("calibration"));
        assert_eq!(t.command_of("roomsense/locate/request/a/b"), None);
        assert_eq!(
            t.response("calibration").unwrap().as_str(),
            "roomsense/locate/response/calibration"
        );
        assert_eq!(
            espresense_set("kitchen", "absorption").unwrap().as_str(),
            "espresense/rooms/kitchen/absorption/set"
        );
    }
}
