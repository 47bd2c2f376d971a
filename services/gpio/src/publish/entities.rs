//! The service's Home Assistant entities, built from the plan: one small constructor per kind.

use roomsense_core::Identity;
use roomsense_core::discovery::{Component, Device, DeviceDiscovery};

use super::Topics;
use crate::config::{BuzzerPlan, InputPlan, LedPlan, Plan, RelayPlan, SensorPlan};

fn title(name: &str) -> String {
    let mut t = name.replace('_', " ");
    if let Some(first) = t.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    t
}

fn relay(t: &Topics, r: &RelayPlan) -> Component {
    Component::switch(&r.name, Some(&title(&r.name)), &t.set(&r.name), &t.state(&r.name))
        .icon("mdi:electric-switch")
}

fn led(t: &Topics, l: &LedPlan) -> Component {
    Component::light(&l.name, Some(&title(&l.name)), &t.set(&l.name), &t.state(&l.name))
}

fn buzzer(t: &Topics, b: &BuzzerPlan) -> Vec<Component> {
    let set = t.set(&b.name);
    let mut out = vec![
        Component::sensor(&b.name, Some(&title(&b.name)), &t.state(&b.name)).icon("mdi:bullhorn"),
        Component::button(
            &format!("{}_stop", b.name),
            Some(&format!("{} stop", title(&b.name))),
            &set,
        )
        .with("payload_press", "STOP")
        .icon("mdi:volume-off"),
    ];
    for pattern in b.patterns.keys() {
        out.push(
            Component::button(
                &format!("{}_{pattern}", b.name),
                Some(&format!("{} {}", title(&b.name), pattern.replace('_', " "))),
                &set,
            )
            .with("payload_press", pattern.as_str())
            .icon("mdi:bell-ring"),
        );
    }
    out
}

fn input(t: &Topics, i: &InputPlan) -> Component {
    Component::binary_sensor(&i.name, Some(&title(&i.name)), &t.state(&i.name))
        .device_class(&i.device_class)
}

fn sensor(t: &Topics, s: &SensorPlan) -> Vec<Component> {
    [
        ("temperature", "Temperature", "temperature", "°C", 1),
        ("humidity", "Humidity", "humidity", "%", 0),
        ("pressure", "Pressure", "atmospheric_pressure", "hPa", 0),
    ]
    .into_iter()
    .map(|(quantity, name, class, unit, digits)| {
        let label = if s.name == "environment" {
            name.to_owned()
        } else {
            format!("{} {}", title(&s.name), name.to_lowercase())
        };
        Component::sensor(
            &format!("{}_{quantity}", s.name),
            Some(&label),
            &t.quantity(&s.name, quantity),
        )
        .device_class(class)
        .unit(unit)
        .state_class("measurement")
        .precision(digits)
    })
    .collect()
}

/// Every entity of the plan, on the node's device.
pub(crate) fn discovery(
    identity: &Identity,
    topics: &Topics,
    model: &str,
    plan: &Plan,
) -> DeviceDiscovery {
    let mut d = DeviceDiscovery::new(identity, Device::of_node(identity, model));
    d.add(
        Component::sensor("errors", Some("GPIO errors"), &topics.errors())
            .state_class("total_increasing")
            .entity_category("diagnostic")
            .icon("mdi:alert-circle-outline"),
    );
    for r in &plan.relays {
        d.add(relay(topics, r));
    }
    for l in &plan.leds {
        d.add(led(topics, l));
    }
    for b in &plan.buzzers {
        for c in buzzer(topics, b) {
            d.add(c);
        }
    }
    for i in &plan.inputs {
        d.add(input(topics, i));
    }
    for s in &plan.sensors {
        for c in sensor(topics, s) {
            d.add(c);
        }
    }
    d
}
