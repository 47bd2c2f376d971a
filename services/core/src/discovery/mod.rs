//! Home Assistant MQTT discovery (`reference/ha-mqtt.md` §2–3): one retained device-discovery
//! message per service, all carrying the node's device identifiers so Home Assistant shows one
//! device per node. Services build [`Component`]s; this module owns the rules (unique ids,
//! object ids, origin, availability, removal of entities that went away).

mod announcement;
mod component;
mod device;

pub use announcement::Announcement;
pub use component::{Component, Platform};
pub use device::{Device, DeviceDiscovery};

impl std::str::FromStr for Platform {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Platform::Sensor,
            Platform::BinarySensor,
            Platform::Switch,
            Platform::Light,
            Platform::Button,
            Platform::Number,
            Platform::Select,
            Platform::Event,
            Platform::DeviceTracker,
            Platform::Image,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::config::{MqttConfig, NodeConfig};
    use crate::identity::Identity;
    use crate::topic::Topic;

    fn identity(service: &str) -> Identity {
        let node = NodeConfig::new("hall", "hallway", "/tmp");
        Identity::new(&node, &MqttConfig::default(), service)
    }

    fn t(s: &str) -> Topic {
        Topic::new(s).unwrap()
    }

    fn every_platform(id: &Identity) -> DeviceDiscovery {
        let mut d = DeviceDiscovery::new(id, Device::of_node(id, "test"));
        d.add(
            Component::sensor("temp", Some("Temperature"), &t("s"))
                .device_class("temperature")
                .unit("°C"),
        )
        .add(Component::binary_sensor("occ", Some("Occupancy"), &t("o")).device_class("occupancy"))
        .add(Component::switch("relay", Some("Relay"), &t("r/set"), &t("r")))
        .add(Component::light("lamp", Some("Lamp"), &t("l/set"), &t("l")))
        .add(Component::button("restart", Some("Restart"), &t("b")).device_class("restart"))
        .add(Component::number("hold", Some("Hold"), &t("h/set"), &t("h"), (0.0, 600.0, 1.0)))
        .add(Component::select("mode", Some("Mode"), &t("m/set"), &t("m"), &["all", "none"]))
        .add(Component::event("clap", Some("Clap"), &t("e"), &["clap"]))
        .add(Component::device_tracker("phone", Some("Phone"), &t("d"), "bluetooth_le"))
        .add(Component::image("snap", Some("Snapshot"), &t("i"), "image/jpeg"));
        d
    }

    #[test]
    fn every_component_carries_unique_object_and_entity_ids() {
        let id = identity("node");
        let payload: Value =
            serde_json::from_slice(&every_platform(&id).payload(&BTreeMap::new())).unwrap();
        let cmps = payload["components"].as_object().unwrap();
        assert_eq!(cmps.len(), 10);
        for (key, c) in cmps {
            assert_eq!(c["unique_id"], Value::from(key.as_str()));
            assert_eq!(c["object_id"], Value::from(key.as_str()));
            let platform = c["platform"].as_str().unwrap();
            assert_eq!(c["default_entity_id"], Value::from(format!("{platform}.{key}")));
        }
        assert_eq!(cmps["roomsense_hall_temp"]["unit_of_measurement"], "°C");
        assert_eq!(cmps["roomsense_hall_lamp"]["schema"], "json");
    }

    #[test]
    fn the_message_names_device_origin_and_the_services_availability() {
        let id = identity("ble");
        let d = every_platform(&id);
        assert_eq!(d.topic().as_str(), "homeassistant/device/hall_ble/config");
        let payload: Value = serde_json::from_slice(&d.payload(&BTreeMap::new())).unwrap();
        assert_eq!(payload["device"]["identifiers"][0], "roomsense_hall");
        assert_eq!(payload["device"]["suggested_area"], "hallway");
        assert_eq!(payload["origin"]["name"], "roomsense");
        assert_eq!(payload["availability_topic"], "roomsense/hall/ble/status");
        assert!(payload["components"].get("roomsense_hall_ble_temp").is_some());
    }

    #[test]
    fn a_house_device_keeps_its_ids_whichever_node_speaks_for_it() {
        let device = Device {
            identifiers: vec!["roomsense_locator".into()],
            name: "roomsense locator".into(),
            manufacturer: "roomsense".into(),
            model: "locate".into(),
            sw_version: "0".into(),
            suggested_area: None,
        };
        let id = identity("locate");
        let mut d = DeviceDiscovery::for_house(&id, "roomsense_locator", device).unwrap();
        d.add(Component::sensor("phone_room", None, &t("roomsense/devices/phone")));
        assert_eq!(d.topic().as_str(), "homeassistant/device/roomsense_locator/config");
        let payload: Value = serde_json::from_slice(&d.payload(&BTreeMap::new())).unwrap();
        assert!(payload["components"].get("roomsense_locator_phone_room").is_some());
        assert_eq!(payload["availability_topic"], "roomsense/hall/locate/status");
    }

    #[test]
    fn an_unchanged_message_is_not_sent_again() {
        let id = identity("node");
        let d = every_platform(&id);
        let mut a = Announcement::default();
        assert!(a.update(&d).is_some());
        assert!(a.update(&d).is_none());
        assert!(a.current().is_some());
    }

    #[test]
    fn a_component_that_goes_away_is_announced_with_its_platform_alone_once() {
        let id = identity("node");
        let mut d = every_platform(&id);
        let mut a = Announcement::default();
        a.update(&d);
        d.remove("relay");
        let payload: Value = serde_json::from_slice(&a.update(&d).unwrap()).unwrap();
        assert_eq!(
            payload["components"]["roomsense_hall_relay"],
            serde_json::json!({"platform": "switch"})
        );
        let current: Value = serde_json::from_slice(a.current().unwrap()).unwrap();
        assert!(current["components"].get("roomsense_hall_relay").is_none());
        assert!(a.update(&d).is_none());
    }

    #[test]
    fn components_of_an_earlier_run_that_are_gone_are_removed() {
        let id = identity("node");
        let d = every_platform(&id);
        let previous = BTreeMap::from([("roomsense_hall_old".to_owned(), Platform::Sensor)]);
        let mut a = Announcement::resume(previous);
        let payload: Value = serde_json::from_slice(&a.update(&d).unwrap()).unwrap();
        assert_eq!(
            payload["components"]["roomsense_hall_old"],
            serde_json::json!({"platform": "sensor"})
        );
    }

    #[test]
    fn platform_names_round_trip() {
        for p in ["sensor", "binary_sensor", "device_tracker", "image", "light"] {
            assert_eq!(p.parse::<Platform>().unwrap().as_str(), p);
        }
        assert!("camera".parse::<Platform>().is_err());
    }
}
