//! The rooms service's payloads and Home Assistant entities: a binary_sensor (occupancy) and a
//! sensor (people) per room, an event per automation, all on one "roomsense rooms" device that
//! describes the house rather than a node.

use roomsense_core::discovery::{Component, Device, DeviceDiscovery};
use roomsense_core::{Identity, Topic};
use serde::Serialize;

use crate::domain::automation::Firing;
use crate::domain::house::{Action, House};
use crate::topics::Topics;

/// The identifier of the house-level device every rooms entity sits on.
pub const DEVICE_ID: &str = "roomsense_rooms";

/// The "roomsense rooms" device.
pub fn device() -> Device {
    Device {
        identifiers: vec![DEVICE_ID.into()],
        name: "roomsense rooms".into(),
        manufacturer: "roomsense".into(),
        model: "room occupancy and automations".into(),
        sw_version: roomsense_core::VERSION.into(),
        suggested_area: None,
    }
}

/// Every entity of the service.
pub fn discovery(identity: &Identity, topics: &Topics, house: &House) -> DeviceDiscovery {
    let mut d = DeviceDiscovery::new(identity, device());
    for room in &house.rooms {
        let (Some(occupancy), Some(count), Some(evidence)) = (
            topics.room(&room.id, "occupancy"),
            topics.room(&room.id, "count"),
            topics.room(&room.id, "evidence"),
        ) else {
            continue;
        };
        d.add(
            Component::binary_sensor(
                &format!("{}_occupancy", room.id),
                Some(&format!("{} occupancy", room.name)),
                &occupancy,
            )
            .device_class("occupancy")
            .json_attributes_topic(&evidence),
        )
        .add(
            Component::sensor(
                &format!("{}_count", room.id),
                Some(&format!("{} people", room.name)),
                &count,
            )
            .state_class("measurement")
            .icon("mdi:account-group"),
        );
    }
    for rule in &house.rules {
        if let Some(topic) = topics.automation_event(&rule.id) {
            d.add(
                Component::event(
                    &format!("automation_{}", rule.id),
                    Some(&format!("Automation {}", rule.id)),
                    &topic,
                    &["fired"],
                )
                .icon("mdi:robot"),
            );
        }
    }
    d
}

/// A message an action sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Where.
    pub topic: Topic,
    /// What.
    pub payload: Vec<u8>,
    /// Whether the broker keeps it.
    pub retain: bool,
}

#[derive(Serialize)]
struct LightCommand {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    brightness: Option<u8>,
}

#[derive(Serialize)]
struct SirenCommand<'a> {
    state: &'static str,
    tone: &'a str,
}

fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "OFF" }
}

/// The message `action` sends (`None` only for a name that cannot form a topic, which
/// validation rules out).
pub fn command(topics: &Topics, action: &Action) -> Option<Command> {
    match action {
        Action::SetOutput { node, output, on, brightness, light } => {
            let payload = if *light {
                serde_json::to_vec(&LightCommand { state: on_off(*on), brightness: *brightness })
                    .ok()?
            } else {
                on_off(*on).as_bytes().to_vec()
            };
            Some(Command { topic: topics.gpio_command(node, output)?, payload, retain: false })
        }
        Action::Buzz { node, buzzer, pattern } => Some(Command {
            topic: topics.gpio_command(node, buzzer)?,
            payload: serde_json::to_vec(&SirenCommand { state: "ON", tone: pattern }).ok()?,
            retain: false,
        }),
        Action::Publish { topic, payload, retain } => Some(Command {
            topic: topic.clone(),
            payload: payload.as_bytes().to_vec(),
            retain: *retain,
        }),
    }
}

#[derive(Serialize)]
struct FiredEvent<'a> {
    event_type: &'static str,
    rule: &'a str,
    trigger: &'a str,
    actions: Vec<String>,
}

/// The event published when a rule fires (Home Assistant's event entity reads `event_type`).
pub fn fired_event(firing: &Firing) -> Vec<u8> {
    let event = FiredEvent {
        event_type: "fired",
        rule: &firing.rule,
        trigger: &firing.trigger,
        actions: firing.actions.iter().map(ToString::to_string).collect(),
    };
    serde_json::to_vec(&event).expect("an event of strings should serialize")
}

#[cfg(test)]
mod tests {
    use roomsense_core::config::{MqttConfig, NodeConfig};
    use serde_json::Value;

    use super::*;
    use crate::domain::house::{Occupancy, RoomSpec, Rule, Trigger};

    fn identity() -> Identity {
        let node = NodeConfig::new("n1", "hall", "/tmp");
        Identity::new(&node, &MqttConfig::default(), "rooms")
    }

    #[test]
    fn each_room_gets_an_occupancy_binary_sensor_and_a_people_sensor_on_the_rooms_device() {
        let house = House {
            rooms: vec![RoomSpec {
                id: "living_room".into(),
                name: "Living room".into(),
                sources: vec![],
                locator_rooms: vec![],
                camera_veto: None,
            }],
            rules: vec![Rule {
                id: "lights".into(),
                trigger: Trigger::Becomes { room: 0, to: Occupancy::Occupied },
                conditions: vec![],
                actions: vec![],
            }],
            ..House::default()
        };
        let d = discovery(&identity(), &Topics::new("roomsense"), &house);
        let v: Value = serde_json::from_slice(&d.payload(&Default::default())).unwrap();
        assert_eq!(v["device"]["identifiers"][0], DEVICE_ID);
        assert_eq!(v["device"]["name"], "roomsense rooms");
        assert_eq!(v["availability_topic"], "roomsense/n1/rooms/status");
        let occ = &v["components"]["roomsense_n1_rooms_living_room_occupancy"];
        assert_eq!(occ["platform"], "binary_sensor");
        assert_eq!(occ["device_class"], "occupancy");
        assert_eq!(occ["name"], "Living room occupancy");
        assert_eq!(occ["state_topic"], "roomsense/rooms/living_room/occupancy");
        assert_eq!(occ["json_attributes_topic"], "roomsense/rooms/living_room/evidence");
        let count = &v["components"]["roomsense_n1_rooms_living_room_count"];
        assert_eq!(count["platform"], "sensor");
        assert_eq!(count["state_topic"], "roomsense/rooms/living_room/count");
        let event = &v["components"]["roomsense_n1_rooms_automation_lights"];
        assert_eq!(event["platform"], "event");
        assert_eq!(event["state_topic"], "roomsense/rooms/automations/lights");
    }

    #[test]
    fn commands_speak_each_output_kinds_language() {
        let t = Topics::new("roomsense");
        let relay = Action::SetOutput {
            node: "n1".into(),
            output: "r".into(),
            on: true,
            brightness: None,
            light: false,
        };
        let c = command(&t, &relay).unwrap();
        assert_eq!(
            (c.topic.as_str(), c.payload.as_slice()),
            ("roomsense/n1/gpio/r/set", &b"ON"[..])
        );
        let lamp = Action::SetOutput {
            node: "n1".into(),
            output: "l".into(),
            on: true,
            brightness: Some(40),
            light: true,
        };
        assert_eq!(command(&t, &lamp).unwrap().payload, br#"{"state":"ON","brightness":40}"#);
        let buzz = Action::Buzz { node: "n2".into(), buzzer: "b".into(), pattern: "chime".into() };
        assert_eq!(command(&t, &buzz).unwrap().payload, br#"{"state":"ON","tone":"chime"}"#);
    }
}
