//! Inputs of the locator. The real one is the MQTT subscription, owned by the service shell;
//! here are the simulated one ([`sim`]) that tests and benches use, and the demo's house.

pub(crate) mod sim;

use std::path::Path;

use crate::config::LocateConfig;

const DEMO_HOUSE: &str = include_str!("demo_house.toml");

/// The house `roomsense demo` locates in when its config has no `[locate]` nodes: four rooms
/// on one floor, a node in each, the demo node's (`living_room`) among them.
pub fn demo_house() -> LocateConfig {
    LocateConfig::from_toml_str(DEMO_HOUSE, Path::new("demo_house.toml"))
        .expect("the built-in demo house should parse")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_house_is_valid_and_holds_the_demo_nodes_room() {
        let v = demo_house().validate().expect("valid");
        assert_eq!(v.house.rooms.len(), 4);
        let node = v.house.node("living_room").expect("the demo node's room is a node");
        assert_eq!(
            v.house.nodes[node].room.map(|r| v.house.rooms[r].id.as_str()),
            Some("living_room")
        );
    }
}
