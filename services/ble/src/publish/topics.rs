//! ESPresense v4's topics for one room (`reference/espresense.md` §1.1), as typed builders.

use roomsense_core::Topic;

use crate::domain::tracker::device_topic;

/// Where device configs arrive from any node, Companion or the REST API.
pub(crate) const DEVICE_CONFIGS: &str = "espresense/settings/+/config";

/// `espresense/rooms/<room>/status`: the BLE link's availability (and last will).
pub fn status_topic(room: &str) -> Topic {
    Topic::new(format!("espresense/rooms/{room}/status")).expect("a room slug should form a topic")
}

/// Every topic the BLE service of one room publishes on or listens to.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    room: String,
    pub(crate) status: Topic,
    pub(crate) telemetry: Topic,
    /// `…/restart/set`: the Restart button's command topic.
    pub(crate) restart: Topic,
    pub(crate) max_distance: Topic,
    pub(crate) max_distance_set: Topic,
    pub(crate) absorption: Topic,
    pub(crate) absorption_set: Topic,
    /// `espresense/rooms/<room>/+/set`.
    pub(crate) set_own: String,
    /// `espresense/rooms/*/+/set`: the literal `*` room addresses every node.
    pub(crate) set_all: String,
}

impl Topics {
    /// The topics of the node in `room` (a slug: it holds no wildcard).
    pub(crate) fn new(room: &str) -> Topics {
        let base = format!("espresense/rooms/{room}");
        let t = |levels: &str| {
            Topic::new(format!("{base}/{levels}")).expect("a room slug should form a topic")
        };
        Topics {
            room: room.to_string(),
            status: status_topic(room),
            telemetry: t("telemetry"),
            restart: t("restart/set"),
            max_distance: t("max_distance"),
            max_distance_set: t("max_distance/set"),
            absorption: t("absorption"),
            absorption_set: t("absorption/set"),
            set_own: format!("{base}/+/set"),
            set_all: "espresense/rooms/*/+/set".into(),
        }
    }

    /// `espresense/rooms/<room>/<key>`: one retained setting of the snapshot.
    pub(crate) fn setting(&self, key: &str) -> Option<Topic> {
        Topic::new(format!("espresense/rooms/{}/{key}", self.room)).ok()
    }

    /// `espresense/devices/<id>/<room>`; `None` for an id that cannot stand in a topic (an alias
    /// with `+` or `#`, written by anyone on the broker).
    pub(crate) fn device(&self, id: &str) -> Option<Topic> {
        Topic::new(device_topic(id, &self.room)).ok()
    }
}

/// The device id of an `espresense/settings/<id>/config` topic.
pub(crate) fn config_id(topic: &str) -> Option<&str> {
    let id = topic.strip_prefix("espresense/settings/")?.strip_suffix("/config")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_has_espresense_topics() {
        let t = Topics::new("living_room");
        assert_eq!(t.status.as_str(), "espresense/rooms/living_room/status");
        assert_eq!(t.telemetry.as_str(), "espresense/rooms/living_room/telemetry");
        assert_eq!(t.set_own, "espresense/rooms/living_room/+/set");
        assert_eq!(
            t.setting("absorption").unwrap().as_str(),
            "espresense/rooms/living_room/absorption"
        );
        assert_eq!(
            t.device("irk:0f1e").unwrap().as_str(),
            "espresense/devices/irk:0f1e/living_room"
        );
        assert!(t.device("keys#1").is_none());
    }

    #[test]
    fn device_config_topics_name_their_id() {
        assert_eq!(config_id("espresense/settings/irk:ab/config"), Some("irk:ab"));
        assert_eq!(config_id("espresense/settings//config"), None);
        assert_eq!(config_id("espresense/settings/a/b/config"), None);
        assert_eq!(config_id("espresense/rooms/a/config"), None);
    }
}
