//! The service's topics: `<prefix>/<node>/gpio/<part>` (state), `.../<part>/set` (commands),
//! `.../<part>/response` (answers), `.../<sensor>/<quantity>`.

use roomsense_core::{Identity, Topic};

/// Topic builder for one node's GPIO service.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    identity: Identity,
    /// `<prefix>/<node>/gpio/+/set`.
    pub(crate) set_filter: String,
    prefix: String,
}

impl Topics {
    pub(crate) fn new(identity: &Identity) -> Self {
        let base = identity.availability_topic();
        // `<prefix>/<node>/gpio/status` → `<prefix>/<node>/gpio/`.
        let prefix = base.as_str().trim_end_matches("status").to_owned();
        Self { identity: identity.clone(), set_filter: format!("{prefix}+/set"), prefix }
    }

    fn topic(&self, levels: &str) -> Topic {
        self.identity
            .service_topic(levels)
            .expect("part names are checked slugs, so should form a topic")
    }

    /// A part's state.
    pub(crate) fn state(&self, part: &str) -> Topic {
        self.topic(part)
    }

    /// Where a part's commands arrive.
    pub(crate) fn set(&self, part: &str) -> Topic {
        self.topic(&format!("{part}/set"))
    }

    /// Where a part's commands are answered.
    pub(crate) fn response(&self, part: &str) -> Topic {
        self.topic(&format!("{part}/response"))
    }

    /// A sensor's quantity (`temperature`).
    pub(crate) fn quantity(&self, sensor: &str, quantity: &str) -> Topic {
        self.topic(&format!("{sensor}/{quantity}"))
    }

    /// The error counter.
    pub(crate) fn errors(&self) -> Topic {
        self.topic("errors")
    }

    /// The part a command topic is for.
    pub(crate) fn part_of_set<'a>(&self, topic: &'a str) -> Option<&'a str> {
        topic
            .strip_prefix(&self.prefix)?
            .strip_suffix("/set")
            .filter(|p| !p.is_empty() && !p.contains('/'))
    }
}

#[cfg(test)]
mod tests {
    use roomsense_core::config::{MqttConfig, NodeConfig};

    use super::*;

    #[test]
    fn topics_live_under_the_services_own_level() {
        let node = NodeConfig::new("hall", "hallway", "/tmp");
        let t = Topics::new(&Identity::new(&node, &MqttConfig::default(), "gpio"));
        assert_eq!(t.state("fan").as_str(), "roomsense/hall/gpio/fan");
        assert_eq!(t.set("fan").as_str(), "roomsense/hall/gpio/fan/set");
        assert_eq!(t.set_filter, "roomsense/hall/gpio/+/set");
        assert_eq!(
            t.quantity("environment", "temperature").as_str(),
            "roomsense/hall/gpio/environment/temperature"
        );
        assert_eq!(t.part_of_set("roomsense/hall/gpio/fan/set"), Some("fan"));
        assert_eq!(t.part_of_set("roomsense/hall/gpio/fan/x/set"), None);
        assert_eq!(t.part_of_set("roomsense/other/gpio/fan/set"), None);
    }
}
