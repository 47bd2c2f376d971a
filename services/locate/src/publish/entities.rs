//! Home Assistant entities: the house's "roomsense locator" device (a device tracker and a room
//! sensor per tracked device, the calibration button) and the locator's diagnostics on the
//! node's own device.

use roomsense_core::discovery::{Component, Device, DeviceDiscovery};
use roomsense_core::topic::TopicError;
use roomsense_core::{Identity, Topic};

use super::topics::Topics;

/// The locator device's object id: `<prefix>_locator` (`roomsense_locator`), so two houses on
/// one broker with different topic prefixes get two devices.
pub(crate) fn locator_object_id(identity: &Identity) -> String {
    format!("{}_locator", super::payloads::slug(identity.topic_prefix()))
}

/// The house's locator device, whichever node leads: its own identifiers, not a node's.
pub(crate) fn locator_device(identity: &Identity) -> Device {
    Device {
        identifiers: vec![locator_object_id(identity)],
        name: "roomsense locator".into(),
        manufacturer: "roomsense".into(),
        model: "roomsense locate".into(),
        sw_version: roomsense_core::VERSION.into(),
        suggested_area: None,
    }
}

/// The locator device with no tracked devices yet: the calibration button and proposals.
pub(crate) fn locator_discovery(
    identity: &Identity,
    topics: &Topics,
) -> Result<DeviceDiscovery, TopicError> {
    let mut d = DeviceDiscovery::for_house(
        identity,
        &locator_object_id(identity),
        locator_device(identity),
    )?;
    d.add(
        Component::button(
            "apply_calibration",
            Some("Apply calibration"),
            &topics.apply_calibration,
        )
        .entity_category("config")
        .icon("mdi:tune-variant"),
    )
    .add(
        Component::sensor("calibration", Some("Calibration proposals"), &topics.calibration)
            .value_template("{{ value_json | length }}")
            .json_attributes_topic(&topics.calibration)
            .entity_category("diagnostic")
            .icon("mdi:tune-variant"),
    );
    Ok(d)
}

/// The tracker and the room sensor of one device, keyed by its slug.
pub(crate) fn add_device(
    d: &mut DeviceDiscovery,
    key: &str,
    id: &str,
    state: &Topic,
    attributes: &Topic,
) {
    // A device tracker takes `home`, `not_home` or a location name: the room is shown as is,
    // and "heard but in no room" as home.
    d.add(
        Component::device_tracker(key, Some(id), state, "bluetooth_le")
            .value_template("{{ 'home' if value == 'unknown' else value }}")
            .json_attributes_topic(attributes)
            .icon("mdi:map-marker-radius"),
    )
    .add(
        Component::sensor(&format!("{key}_room"), Some(&format!("{id} room")), state)
            .json_attributes_topic(attributes)
            .icon("mdi:home-map-marker"),
    );
}

/// The locator's diagnostics on the node's own device (every locator has them, leader or not).
pub(crate) fn node_diagnostics(
    identity: &Identity,
    model: &str,
    topics: &Topics,
) -> DeviceDiscovery {
    let mut d = DeviceDiscovery::new(identity, Device::of_node(identity, model));
    d.add(
        Component::sensor("role", Some("Locator role"), &topics.stats)
            .value_template("{{ value_json.role }}")
            .entity_category("diagnostic")
            .icon("mdi:crown"),
    )
    .add(
        Component::sensor("rejected", Some("Locator messages rejected"), &topics.stats)
            .value_template("{{ value_json.rejected_total }}")
            .json_attributes_topic(&topics.stats)
            .state_class("total_increasing")
            .entity_category("diagnostic")
            .icon("mdi:message-alert"),
    );
    d
}
