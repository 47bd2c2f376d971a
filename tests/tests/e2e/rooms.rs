use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use roomsense_tests::mosquitto::Mosquitto;
use roomsense_tests::process::{roomsense, terminate};

/// The scripted walk and its house, shared with the rooms crate's in-process replay.
const WALK_CONFIG: &str = include_str!("../../../services/rooms/tests/data/walk.toml");
const WALK_SCRIPT: &str = include_str!("../../../services/rooms/tests/data/walk.script");

/// How far a change seen through the broker may be from the script's time (s): process start,
/// `mosquitto_pub` per message and a loaded two-core machine.
const TOLERANCE_S: f64 = 0.75;

/// `(seconds, topic or room, payload)`: a line of the script, or something received.
type Line = (f64, String, String);

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock should be after 1970")
        .as_secs_f64()
}

/// A `mosquitto_sub` that stamps every message with its arrival time.
struct Recorder {
    child: Child,
    file: tempfile::NamedTempFile,
}

impl Recorder {
    fn start(broker: &Mosquitto, topics: &[&str]) -> Self {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut cmd = Command::new("mosquitto_sub");
        cmd.args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port().to_string(),
            "-q",
            "1",
            "-F",
            "%U %t %p",
        ]);
        for t in topics {
            cmd.args(["-t", t]);
        }
        let child = cmd
            .stdout(file.reopen().unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub should run (apt-get install mosquitto-clients)");
        thread::sleep(Duration::from_millis(300));
        Self { child, file }
    }

    /// `(arrival, topic, payload)` of everything received so far.
    fn messages(&self) -> Vec<Line> {
        fs::read_to_string(self.file.path())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.splitn(3, ' ');
                let t: f64 = f.next()?.parse().ok()?;
                Some((t, f.next()?.to_owned(), f.next().unwrap_or("").to_owned()))
            })
            .collect()
    }

    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str, &str) -> bool) -> f64 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().find(|(_, t, p)| pred(t, p)) {
                return m.0;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {timeout:?}: {:#?}",
                self.messages()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `roomsense rooms` on node n1 with `rooms` as its `[rooms]` section.
fn start_rooms(broker: &Mosquitto, dir: &Path, rooms: &str) -> Child {
    let config = dir.join("roomsense.toml");
    fs::write(
        &config,
        format!(
            "[node]\nid = \"n1\"\nroom = \"hall\"\nstate_dir = \"{}\"\n\n[mqtt]\nport = {}\n\n{rooms}",
            dir.join("state").display(),
            broker.port()
        ),
    )
    .unwrap();
    roomsense()
        .arg("--config")
        .arg(&config)
        .arg("rooms")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("roomsense rooms should start")
}

/// Publishes `(t, levels, payload)` at `t0 + t`, retained as the real services' states are.
fn play(broker: &Mosquitto, t0: f64, messages: &[Line]) {
    for (t, levels, payload) in messages {
        let wait = t0 + t - wall();
        if wait > 0.0 {
            thread::sleep(Duration::from_secs_f64(wait));
        }
        broker.publish(&format!("roomsense/{levels}"), payload, true);
    }
}

fn parse_script(text: &str) -> (Vec<Line>, Vec<Line>) {
    let mut messages = Vec::new();
    let mut expected = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f[0] == "expect" {
            expected.push((f[1].parse().unwrap(), f[2].to_owned(), f[3].to_owned()));
        } else {
            messages.push((f[0].parse().unwrap(), f[1].to_owned(), f[2].to_owned()));
        }
    }
    (messages, expected)
}

#[test]
fn the_scripted_walk_gives_the_scripted_occupancy_timeline_through_a_real_broker() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::start(&broker, &["roomsense/rooms/+/occupancy"]);
    let child = start_rooms(&broker, dir.path(), &format!("[rooms]\n{WALK_CONFIG}"));
    for room in ["kitchen", "hall", "lounge"] {
        rec.wait_for("the initial state", Duration::from_secs(20), |t, p| {
            t == format!("roomsense/rooms/{room}/occupancy") && p == "OFF"
        });
    }
    // Discovery: one binary_sensor per room on the house-level "roomsense rooms" device.
    let discovery = broker.retained("homeassistant/device/n1_rooms/config").expect("discovery");
    let discovery: serde_json::Value = serde_json::from_str(&discovery).unwrap();
    assert_eq!(discovery["device"]["name"], "roomsense rooms");
    let occ = &discovery["components"]["roomsense_n1_rooms_lounge_occupancy"];
    assert_eq!(occ["device_class"], "occupancy");
    assert_eq!(occ["json_attributes_topic"], "roomsense/rooms/lounge/evidence");

    let (messages, expected) = parse_script(WALK_SCRIPT);
    thread::sleep(Duration::from_millis(200));
    let t0 = wall();
    play(&broker, t0, &messages);
    let last = expected.last().unwrap().0;
    thread::sleep(Duration::from_secs_f64((t0 + last + 3.0 - wall()).max(0.0)));

    let got: Vec<Line> = rec
        .messages()
        .into_iter()
        .filter(|(t, _, _)| *t >= t0)
        .map(|(t, topic, p)| {
            let room = topic.trim_start_matches("roomsense/rooms/").trim_end_matches("/occupancy");
            (t - t0, room.to_owned(), p)
        })
        .collect();
    let show =
        |v: &[Line]| -> String { v.iter().map(|(t, r, p)| format!("{t:6.2} {r} {p}\n")).collect() };
    assert_eq!(
        got.len(),
        expected.len(),
        "no flapping; got:\n{}expected:\n{}",
        show(&got),
        show(&expected)
    );
    let worst = got.iter().zip(&expected).map(|(g, e)| (g.0 - e.0).abs()).fold(0.0, f64::max);
    eprintln!("walk through the broker: {} changes, worst {worst:.3} s off the script", got.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(
            (&g.1, &g.2),
            (&e.1, &e.2),
            "got:\n{}expected:\n{}",
            show(&got),
            show(&expected)
        );
        assert!(
            (g.0 - e.0).abs() < TOLERANCE_S,
            "{} {} at {:.2} s, not {} s:\n{}",
            g.1,
            g.2,
            g.0,
            e.0,
            show(&got)
        );
    }

    // The decisions explain themselves: the phone left in the kitchen stopped counting.
    let kitchen: serde_json::Value =
        serde_json::from_str(&broker.retained("roomsense/rooms/kitchen/evidence").unwrap())
            .unwrap();
    let phone =
        kitchen["sources"].as_array().unwrap().iter().find(|s| s["source"] == "device alice");
    assert_eq!(phone.expect("the phone is kitchen evidence")["phase"], "vetoed", "{kitchen}");
    terminate(child, Duration::from_secs(10));
}

const RELAY: &str = r#"
[rooms.fusion]
camera = { hold_s = 1, decay_s = 1 }

[rooms.sources.n1]
cameras = { kitchen_cam = [] }
relays = ["kitchen_light"]

[rooms.kitchen]
cameras = ["n1/kitchen_cam"]

[rooms.automations.kitchen_light_on]
trigger = { room = "kitchen", becomes = "occupied" }
actions = [{ output = "n1/kitchen_light", set = "ON" }]

[rooms.automations.kitchen_light_off]
trigger = { room = "kitchen", empty_for_s = 2 }
actions = [{ output = "n1/kitchen_light", set = "OFF" }]
"#;

#[test]
fn without_home_assistant_an_automation_switches_the_relay_on_and_off_after_the_empty_timeout() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let rec =
        Recorder::start(&broker, &["roomsense/n1/gpio/+/set", "roomsense/rooms/automations/#"]);
    // No Home Assistant anywhere; say so the way its last will would.
    broker.publish("homeassistant/status", "offline", true);
    let child = start_rooms(&broker, dir.path(), RELAY);
    // The kitchen starts empty: after the timeout the light is switched off.
    rec.wait_for("the light off at start", Duration::from_secs(20), |t, p| {
        t == "roomsense/n1/gpio/kitchen_light/set" && p == "OFF"
    });
    let t0 = wall();
    let script = [
        (0.5, "n1/vision/kitchen_cam/person".to_owned(), "1".to_owned()),
        (1.5, "n1/vision/kitchen_cam/person".to_owned(), "0".to_owned()),
    ];
    play(&broker, t0, &script);
    // Empty at 1.5 + 1 + 0.5; the light goes off 2 s later.
    thread::sleep(Duration::from_secs_f64((t0 + 6.5 - wall()).max(0.0)));
    let after: Vec<Line> =
        rec.messages().into_iter().filter(|m| m.0 >= t0).map(|(t, a, b)| (t - t0, a, b)).collect();
    let commands: Vec<&Line> = after.iter().filter(|m| m.1.ends_with("/set")).collect();
    assert_eq!(commands.len(), 2, "{after:#?}");
    assert_eq!(commands[0].2, "ON");
    assert!((commands[0].0 - 0.5).abs() < TOLERANCE_S, "{after:#?}");
    assert_eq!(commands[1].2, "OFF");
    assert!((commands[1].0 - 5.0).abs() < TOLERANCE_S, "{after:#?}");
    // Each firing is an event, with why and what.
    let events: Vec<serde_json::Value> = after
        .iter()
        .filter(|m| m.1.starts_with("roomsense/rooms/automations/"))
        .map(|m| serde_json::from_str(&m.2).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{after:#?}");
    assert_eq!(events[0]["rule"], "kitchen_light_on");
    assert_eq!(events[0]["trigger"], "kitchen became occupied");
    assert_eq!(events[0]["actions"][0], "set n1/kitchen_light ON");
    assert_eq!(events[1]["trigger"], "kitchen empty for 2 s");
    terminate(child, Duration::from_secs(10));
}

#[test]
fn a_rooms_section_that_names_an_unknown_camera_is_refused_with_the_cameras_declared() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roomsense.toml");
    fs::write(
        &file,
        "[node]\nid = \"n1\"\nroom = \"hall\"\n\n[rooms.sources.n1]\ncameras = { kitchen_cam = [] }\n\n[rooms.office]\ncameras = [\"n1/office_cam\"]\n",
    )
    .unwrap();
    let out = roomsense().arg("check-config").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("roomsense.toml:9: rooms.office.cameras[0]: unknown camera `n1/office_cam` (allowed: n1/kitchen_cam)"),
        "{stderr}"
    );
}

#[test]
fn a_restart_with_someone_in_the_room_does_not_flash_it_empty() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::start(&broker, &["roomsense/rooms/kitchen/occupancy"]);
    let child = start_rooms(&broker, dir.path(), RELAY);
    rec.wait_for("the initial state", Duration::from_secs(20), |_, p| p == "OFF");
    broker.publish("roomsense/n1/vision/kitchen_cam/person", "1", true);
    rec.wait_for("occupied", Duration::from_secs(10), |_, p| p == "ON");
    terminate(child, Duration::from_secs(10));
    let restarted = wall();
    let child = start_rooms(&broker, dir.path(), RELAY);
    // The retained count arrives before anything is published: the room stays ON throughout.
    thread::sleep(Duration::from_secs(5));
    let after: Vec<Line> = rec.messages().into_iter().filter(|m| m.0 >= restarted).collect();
    assert!(after.iter().all(|m| m.2 == "ON"), "{after:#?}");
    terminate(child, Duration::from_secs(10));
}
