//! The node's BLE entities on its Home Assistant device, as ESPresense's own discovery has them
//! (`reference/espresense.md` §1.6): connectivity, uptime, count, max distance, absorption,
//! restart.

use roomsense_core::Identity;
use roomsense_core::discovery::{Component, Device, DeviceDiscovery};

use super::topics::Topics;

/// The BLE service's device-discovery message; `counting` adds the Count sensor (ESPresense
/// removes it while `count_ids` is empty).
pub(crate) fn discovery(
    identity: &Identity,
    topics: &Topics,
    model: &str,
    counting: bool,
) -> DeviceDiscovery {
    let mut d = DeviceDiscovery::new(identity, Device::of_node(identity, model));
    d.add(
        Component::binary_sensor("connectivity", Some("BLE connectivity"), &topics.status)
            .with("payload_on", "online")
            .with("payload_off", "offline")
            .device_class("connectivity")
            .json_attributes_topic(&topics.telemetry)
            .entity_category("diagnostic"),
    )
    .add(
        Component::sensor("uptime", Some("BLE uptime"), &topics.telemetry)
            .value_template("{{ value_json.uptime }}")
            .device_class("duration")
            .unit("s")
            .state_class("total_increasing")
            .entity_category("diagnostic"),
    )
    .add(
        Component::number(
            "max_distance",
            Some("BLE max distance"),
            &topics.max_distance_set,
            &topics.max_distance,
            (0.0, 100.0, 0.1),
        )
        .unit("m")
        .icon("mdi:map-marker-distance")
        .entity_category("config"),
    )
    .add(
        Component::number(
            "absorption",
            Some("BLE absorption"),
            &topics.absorption_set,
            &topics.absorption,
            (1.0, 5.0, 0.1),
        )
        .icon("mdi:signal-distance-variant")
        .entity_category("config"),
    )
    .add(
        Component::button("restart", Some("BLE restart"), &topics.restart)
            .device_class("restart")
            .entity_category("config"),
    );
    if counting {
        d.add(
            Component::sensor("count", Some("BLE count"), &topics.telemetry)
                .value_template("{{ value_json.count }}")
                .state_class("measurement")
                .icon("mdi:counter"),
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use roomsense_core::config::{MqttConfig, NodeConfig};
    use serde_json::Value;

    use super::*;
    use crate::publish::topics::status_topic;

    fn identity() -> Identity {
        let node = NodeConfig::new("hall", "hallway", "/tmp");
        Identity::new(&node, &MqttConfig::default(), "ble")
            .with_availability_topic(status_topic("hallway"))
    }

    #[test]
    fn the_ble_entities_sit_on_the_nodes_device_with_espresense_availability() {
        let id = identity();
        let d = discovery(&id, &Topics::new("hallway"), "roomsense node", false);
        assert_eq!(d.topic().as_str(), "homeassistant/device/hall_ble/config");
        let p: Value = serde_json::from_slice(&d.payload(&BTreeMap::new())).unwrap();
        assert_eq!(p["device"]["identifiers"][0], "roomsense_hall");
        assert_eq!(p["availability_topic"], "espresense/rooms/hallway/status");
        let c = &p["components"];
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "roomsense_hall_ble_absorption",
                "roomsense_hall_ble_connectivity",
                "roomsense_hall_ble_max_distance",
                "roomsense_hall_ble_restart",
                "roomsense_hall_ble_uptime"
            ]
        );
        let conn = &c["roomsense_hall_ble_connectivity"];
        assert_eq!(conn["state_topic"], "espresense/rooms/hallway/status");
        assert_eq!(
            (&conn["payload_on"], &conn["payload_off"]),
            (&"online".into(), &"offline".into())
        );
        assert_eq!(
            c["roomsense_hall_ble_max_distance"]["command_topic"],
            "espresense/rooms/hallway/max_distance/set"
        );
        assert_eq!(
            c["roomsense_hall_ble_restart"]["command_topic"],
            "espresense/rooms/hallway/restart/set"
        );
    }

    #[test]
    fn the_count_sensor_exists_only_while_counting() {
        let id = identity();
        let t = Topics::new("hallway");
        let on = discovery(&id, &t, "m", true);
        assert!(on.platforms().contains_key("roomsense_hall_ble_count"));
        assert!(
            !discovery(&id, &t, "m", false).platforms().contains_key("roomsense_hall_ble_count")
        );
    }
}
