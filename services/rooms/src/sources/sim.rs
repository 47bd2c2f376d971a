//! A simulated house for the demo: three rooms, one person with a phone walking between them on
//! a two-minute loop, and the `[rooms]` config that maps its cameras, mic and inputs and turns
//! each room's light on and off with it.

use std::fmt::Write as _;
use std::time::Duration;

/// One message the simulator publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMessage {
    /// When, from the start of the loop.
    pub at: Duration,
    /// Topic levels after the prefix (`n1/vision/kitchen_cam/person`).
    pub levels: String,
    /// Payload.
    pub payload: String,
    /// Retained, as the real services' states are.
    pub retain: bool,
}

/// The demo house of one node.
#[derive(Debug, Clone)]
pub struct SimHouse {
    node: String,
}

/// The rooms of the demo house, each with a light named `<room>_light`.
const ROOMS: [&str; 3] = ["kitchen", "hall", "lounge"];

impl SimHouse {
    /// The demo house, its parts on node `node`.
    pub fn new(node: &str) -> Self {
        Self { node: node.to_owned() }
    }

    /// The node the parts are on.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The outputs the simulator answers commands for.
    pub fn outputs(&self) -> Vec<String> {
        ROOMS.iter().map(|r| format!("{r}_light")).collect()
    }

    /// How long one loop of the script lasts.
    pub fn period(&self) -> Duration {
        Duration::from_secs(120)
    }

    /// The `[rooms]` section of the demo (short holds, so changes show within seconds).
    pub fn config(&self) -> String {
        let n = &self.node;
        let mut t = format!(
            r#"[rooms.fusion]
camera_veto_s = 30
wasp_settle_s = 2
camera = {{ hold_s = 5, decay_s = 4 }}
motion = {{ hold_s = 4, decay_s = 4 }}
voice = {{ hold_s = 8, decay_s = 6 }}
device = {{ hold_s = 3, decay_s = 4 }}

[rooms.sources.{n}]
cameras = {{ kitchen_cam = [], lounge_cam = ["sofa"] }}
mics = ["lounge_mic"]
motion = ["hall_pir"]
doors = ["lounge_door"]
relays = ["kitchen_light", "hall_light", "lounge_light"]

[rooms.people]
alice = ["phone:alice"]

[rooms.kitchen]
cameras = ["{n}/kitchen_cam"]

[rooms.hall]
motion = ["{n}/hall_pir"]

[rooms.lounge]
cameras = ["{n}/lounge_cam"]
mics = ["{n}/lounge_mic"]
doors = ["{n}/lounge_door"]
"#
        );
        for room in ROOMS {
            let _ = write!(
                t,
                r#"
[rooms.automations.{room}_light_on]
trigger = {{ room = "{room}", becomes = "occupied" }}
actions = [{{ output = "{n}/{room}_light", set = "ON" }}]

[rooms.automations.{room}_light_off]
trigger = {{ room = "{room}", empty_for_s = 3 }}
actions = [{{ output = "{n}/{room}_light", set = "OFF" }}]
"#
            );
        }
        t
    }

    /// One loop: Alice walks kitchen → hall → lounge with her phone, talks, fetches something
    /// from the kitchen and leaves her phone there, shuts herself in the lounge (the closed door
    /// keeps it occupied in the dark), then takes her phone and goes out.
    pub fn script(&self) -> Vec<SimMessage> {
        let n = &self.node;
        let cam = |c: &str, v: u32| (format!("{n}/vision/{c}/person"), v.to_string());
        let zone = |v: u32| (format!("{n}/vision/lounge_cam/sofa/person"), v.to_string());
        let gpio =
            |i: &str, on: bool| (format!("{n}/gpio/{i}"), if on { "ON" } else { "OFF" }.to_owned());
        let voice = |on: bool| {
            (format!("{n}/audio/lounge_mic/voice"), if on { "ON" } else { "OFF" }.to_owned())
        };
        let phone = |room: &str| ("devices/phone:alice".to_owned(), room.to_owned());
        let steps: Vec<(f64, (String, String))> = vec![
            (0.5, gpio("lounge_door", true)),
            (2.0, cam("kitchen_cam", 1)),
            (2.5, phone("kitchen")),
            (15.0, cam("kitchen_cam", 0)),
            (15.2, gpio("hall_pir", true)),
            (15.5, phone("hall")),
            (19.0, cam("lounge_cam", 1)),
            (19.5, phone("lounge")),
            (20.0, gpio("hall_pir", false)),
            (22.0, zone(1)),
            (40.0, voice(true)),
            (48.0, voice(false)),
            (55.0, zone(0)),
            (55.2, cam("lounge_cam", 0)),
            (56.0, gpio("hall_pir", true)),
            (56.5, phone("hall")),
            (57.0, gpio("lounge_door", false)),
            (58.0, cam("kitchen_cam", 1)),
            (59.0, phone("kitchen")),
            (61.0, gpio("hall_pir", false)),
            (75.0, cam("kitchen_cam", 0)),
            (76.0, gpio("hall_pir", true)),
            (77.0, gpio("lounge_door", true)),
            (78.0, cam("lounge_cam", 1)),
            (78.5, zone(1)),
            (79.0, gpio("lounge_door", false)),
            (81.0, gpio("hall_pir", false)),
            // Lights out: the camera sees nobody, but the closed door keeps the lounge occupied.
            (95.0, zone(0)),
            (95.2, cam("lounge_cam", 0)),
            (108.0, gpio("lounge_door", true)),
            (108.5, gpio("hall_pir", true)),
            (110.0, cam("kitchen_cam", 1)),
            (113.0, cam("kitchen_cam", 0)),
            (113.5, phone("not_home")),
            (114.0, gpio("hall_pir", false)),
        ];
        steps
            .into_iter()
            .map(|(at, (levels, payload))| SimMessage {
                at: Duration::from_secs_f64(at),
                levels,
                payload,
                retain: true,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_in_time_order_and_fits_its_loop() {
        let sim = SimHouse::new("demo");
        let script = sim.script();
        assert!(script.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(script.last().unwrap().at < sim.period());
        assert!(script.iter().all(|m| !m.levels.contains(['+', '#'])));
    }
}
