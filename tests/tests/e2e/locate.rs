use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use roomsense_tests::mosquitto::{LinePublisher, Mosquitto, Subscriber};
use roomsense_tests::process::{roomsense, signal, terminate};
use serde_json::Value;

const DEVICE: &str = "watch:darrell";
const STATE: &str = "roomsense/devices/watch:darrell";
const ATTRIBUTES: &str = "roomsense/devices/watch:darrell/attributes";
const LEASE: &str = "roomsense/locate/lease";

/// A real ESPresense capture: one watch heard by ten nodes (v3 payloads), as
/// `mosquitto_sub -v -F %j` recorded it (`shared/datasets/espresense-companion-stationary-capture`).
pub(crate) fn capture() -> Vec<(String, String)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/datasets/espresense-companion-stationary-capture/stationary_7_14.75_1.25.jsonp",
    );
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("{}: {e} (the shared datasets must sit beside the repository)", file.display())
    });
    text.lines()
        .map(|line| {
            let rec: Value = serde_json::from_str(line).expect("capture lines are JSON");
            let topic = rec["topic"].as_str().expect("a topic").to_owned();
            (topic, rec["payload"].to_string())
        })
        .collect()
}

/// A roomsense.toml for node `node`: the capture's nodes (the crate's evaluation house for it)
/// with one room per floor, a short lease so take-overs are quick, and `extra` TOML.
pub(crate) fn house_config(dir: &Path, broker: &Mosquitto, node: &str, extra: &str) -> PathBuf {
    let nodes = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../services/locate/eval/companion-stationary.toml"),
    )
    .expect("the locate crate's evaluation house should be readable");
    let text = format!(
        "[node]\nid = \"{node}\"\nroom = \"office\"\nstate_dir = \"{state}\"\n\n[mqtt]\nport = {port}\n\
         keep_alive_s = 5\n{extra}\n{nodes}\n\
         [locate.rooms.downstairs]\nfloor = \"first\"\n\
         polygon = [[-3.0, -1.0], [18.0, -1.0], [18.0, 19.0], [-3.0, 19.0]]\nconnects = [\"upstairs\"]\n\n\
         [locate.rooms.upstairs]\nfloor = \"second\"\n\
         polygon = [[-3.0, -1.0], [18.0, -1.0], [18.0, 19.0], [-3.0, 19.0]]\n\n\
         [locate.lease]\nttl_ms = 3000\nrenew_ms = 1000\n",
        state = dir.join(format!("state-{node}")).display(),
        port = broker.port(),
    );
    let path = dir.join(format!("{node}.toml"));
    std::fs::write(&path, text).expect("config should be writable");
    path
}

pub(crate) fn locator(config: &Path) -> Child {
    roomsense()
        .arg("--config")
        .arg(config)
        .arg("locate")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("roomsense locate should start")
}

/// Publishes capture lines, one `mosquitto_pub -l` per reporting node, `pace` apart.
pub(crate) struct Replayer<'b> {
    broker: &'b Mosquitto,
    publishers: HashMap<String, LinePublisher>,
}

impl<'b> Replayer<'b> {
    pub(crate) fn new(broker: &'b Mosquitto) -> Self {
        Replayer { broker, publishers: HashMap::new() }
    }

    pub(crate) fn send(&mut self, topic: &str, payload: &str) {
        let broker = self.broker;
        self.publishers
            .entry(topic.to_owned())
            .or_insert_with(|| broker.line_publisher(topic))
            .send(payload);
    }

    pub(crate) fn replay(&mut self, lines: &[(String, String)], pace: Duration) {
        for (topic, payload) in lines {
            self.send(topic, payload);
            thread::sleep(pace);
        }
    }
}

/// The first message at or after index `from` that satisfies `pred`.
fn wait_after(
    sub: &Subscriber,
    from: usize,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&str, &str) -> bool,
) -> (String, String) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(m) = sub.messages().into_iter().skip(from).find(|(t, p)| pred(t, p)) {
            return m;
        }
        if Instant::now() > deadline {
            let tail: Vec<_> = sub.messages().into_iter().skip(from).collect();
            panic!("no {what} within {timeout:?}; received since:\n{tail:#?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn holder(payload: &str) -> Option<String> {
    serde_json::from_str::<Value>(payload).ok()?["holder"].as_str().map(str::to_owned)
}

#[test]
fn the_locator_puts_a_real_capture_in_its_room_and_a_malformed_report_is_counted_and_changes_nothing()
 {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let sub = broker.subscribe(&["roomsense/#", "homeassistant/device/#"]);
    let child = locator(&house_config(dir.path(), &broker, "loc1", ""));
    sub.wait_for("the lease", Duration::from_secs(15), |t, p| {
        t == LEASE && holder(p).as_deref() == Some("loc1")
    });

    let lines = capture();
    let mut replayer = Replayer::new(&broker);
    replayer.replay(&lines[..600], Duration::from_millis(5));

    sub.wait_for("the room", Duration::from_secs(10), |t, p| t == STATE && p == "upstairs");
    let (_, attributes) = sub.wait_for("attributes", Duration::from_secs(10), |t, p| {
        t == ATTRIBUTES && json(p)["room"] == "upstairs"
    });
    let a = json(&attributes);
    assert_eq!(a["floor"], "second", "{a}");
    for axis in ["x", "y", "z"] {
        assert!(a[axis].is_f64(), "{axis} in {a}");
    }
    assert!((2.5..6.0).contains(&a["z"].as_f64().unwrap()), "{a}");
    let confidence = a["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence), "{a}");
    let nodes: Vec<&str> =
        a["nodes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(nodes.contains(&"master") && nodes.contains(&"office"), "{a}");
    assert!(!nodes.contains(&"office_alt"), "office_alt is not in the house: {a}");
    assert_eq!(a["estimator"], "room_filter");
    assert_eq!(a["locator"], "loc1");

    // Home Assistant is told about the device on the locator's own device.
    let (_, discovery) = sub.wait_for("discovery", Duration::from_secs(10), |t, p| {
        t == "homeassistant/device/roomsense_locator/config"
            && json(p)["components"].get("roomsense_locator_watch_darrell").is_some()
    });
    let d = json(&discovery);
    assert_eq!(d["device"]["identifiers"][0], "roomsense_locator");
    assert_eq!(d["device"]["name"], "roomsense locator");
    assert_eq!(d["availability_topic"], "roomsense/loc1/locate/status");
    let tracker = &d["components"]["roomsense_locator_watch_darrell"];
    assert_eq!(tracker["platform"], "device_tracker");
    assert_eq!(tracker["source_type"], "bluetooth_le");
    assert_eq!(tracker["state_topic"], STATE);
    assert_eq!(tracker["json_attributes_topic"], ATTRIBUTES);
    assert_eq!(d["components"]["roomsense_locator_watch_darrell_room"]["platform"], "sensor");

    // office_alt has no coordinates in the house: its reports are counted, not used.
    let (_, stats) = sub.wait_for("stats", Duration::from_secs(5), |t, p| {
        t == "roomsense/loc1/locate/stats" && json(p)["rejected"]["unknown_node"].as_u64() > Some(0)
    });
    assert_eq!(json(&stats)["role"], "leader");

    // A malformed report: counted, and the device's state and attributes stay as they were.
    thread::sleep(Duration::from_millis(1500));
    let before = (broker.retained(STATE), broker.retained(ATTRIBUTES));
    let from = sub.messages().len();
    replayer.send(&format!("espresense/devices/{DEVICE}/office"), "{\"distance\":");
    wait_after(&sub, from, "the malformed report counted", Duration::from_secs(5), |t, p| {
        t == "roomsense/loc1/locate/stats" && json(p)["rejected"]["malformed_json"] == 1
    });
    thread::sleep(Duration::from_millis(1500));
    assert_eq!((broker.retained(STATE), broker.retained(ATTRIBUTES)), before);
    let device_messages =
        sub.messages().into_iter().skip(from).filter(|(t, _)| t.starts_with(STATE));
    assert_eq!(device_messages.count(), 0, "a malformed report should publish nothing");

    drop(replayer);
    terminate(child, Duration::from_secs(10));
    assert_eq!(broker.retained("roomsense/loc1/locate/status").as_deref(), Some("offline"));
    assert_eq!(broker.retained(LEASE), None, "a locator that stops hands the lease back");
}

#[test]
fn of_two_locators_one_publishes_and_the_other_takes_over_within_seconds_when_it_is_killed() {
    let broker = Arc::new(Mosquitto::start());
    let dir = tempfile::tempdir().unwrap();
    let sub = broker.subscribe(&["roomsense/#"]);
    let mut children: HashMap<String, Child> = ["la", "lb"]
        .into_iter()
        .map(|n| (n.to_owned(), locator(&house_config(dir.path(), &broker, n, ""))))
        .collect();

    // The capture plays in a loop while the test watches.
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (broker, stop) = (broker.clone(), stop.clone());
        thread::spawn(move || {
            let lines = capture();
            let mut replayer = Replayer::new(&broker);
            for (topic, payload) in lines.iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                replayer.send(topic, payload);
                thread::sleep(Duration::from_millis(10));
            }
        })
    };

    let (_, first) =
        sub.wait_for("a leader", Duration::from_secs(15), |t, p| t == LEASE && holder(p).is_some());
    // Let a tie settle, then the retained lease names the leader.
    thread::sleep(Duration::from_secs(3));
    let leader =
        broker.retained(LEASE).and_then(|p| holder(&p)).unwrap_or_else(|| holder(&first).unwrap());
    let other = if leader == "la" { "lb" } else { "la" };
    let from = sub.messages().len();
    wait_after(&sub, from, "the leader's attributes", Duration::from_secs(10), |t, p| {
        t == ATTRIBUTES && json(p)["locator"] == leader.as_str()
    });
    wait_after(&sub, from, "the follower's stats", Duration::from_secs(5), |t, p| {
        t == format!("roomsense/{other}/locate/stats") && json(p)["role"] == "standby"
    });
    // Only the leader publishes device states, though both locate.
    thread::sleep(Duration::from_secs(2));
    let publishers: Vec<String> = sub
        .messages()
        .into_iter()
        .skip(from)
        .filter(|(t, _)| t == ATTRIBUTES)
        .map(|(_, p)| json(&p)["locator"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(!publishers.is_empty());
    assert!(publishers.iter().all(|l| *l == leader), "{publishers:?}");
    let (_, stats) =
        wait_after(&sub, from, "the follower locating", Duration::from_secs(5), |t, p| {
            t == format!("roomsense/{other}/locate/stats") && json(p)["located"].as_u64() > Some(0)
        });
    assert_eq!(json(&stats)["devices"], 1);

    // The leader dies without a word.
    let mut dead = children.remove(&leader).unwrap();
    signal(&dead, rustix::process::Signal::KILL);
    let _ = dead.wait();
    let killed = Instant::now();
    let from = sub.messages().len();
    wait_after(&sub, from, "the take-over", Duration::from_secs(10), |t, p| {
        t == LEASE && holder(p).as_deref() == Some(other)
    });
    wait_after(&sub, from, "the new leader's attributes", Duration::from_secs(10), |t, p| {
        t == ATTRIBUTES && json(p)["locator"] == other
    });
    let took = killed.elapsed();
    eprintln!("take-over {} ms after SIGKILL (lease ttl 3000 ms, renew 1000 ms)", took.as_millis());
    assert!(took < Duration::from_secs(7), "take-over took {took:?}");
    wait_after(&sub, from, "the room from the new leader", Duration::from_secs(5), |t, p| {
        t == STATE && p == "upstairs"
    });

    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
    for (_, child) in children {
        terminate(child, Duration::from_secs(10));
    }
}

#[test]
fn locate_replay_writes_estimates_offline_and_import_companion_prints_a_house() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonp");
    let all = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/datasets/espresense-companion-stationary-capture/stationary_7_14.75_1.25.jsonp",
    ))
    .expect("the capture should be readable");
    std::fs::write(&capture, all.lines().take(300).collect::<Vec<_>>().join("\n")).unwrap();
    let house = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services/locate/eval/companion-stationary.toml");
    let run = |out: &Path, estimator: &str| {
        roomsense()
            .args(["locate", "replay", "--config"])
            .arg(&house)
            .arg("--input")
            .arg(&capture)
            .arg("--out")
            .arg(out)
            .args(["--estimator", estimator])
            .output()
            .expect("roomsense locate replay should run")
    };
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    assert!(run(&a, "nearest_node").status.success());
    assert!(run(&b, "nearest_node").status.success());
    let estimates = std::fs::read_to_string(&a).unwrap();
    assert_eq!(estimates, std::fs::read_to_string(&b).unwrap(), "deterministic");
    let last = json(estimates.lines().last().expect("estimates"));
    for key in ["ts_ms", "id", "room", "floor", "x", "y", "z", "confidence"] {
        assert!(last.get(key).is_some(), "{key} in {last}");
    }
    assert_eq!(last["id"], DEVICE);
    let bad = run(&dir.path().join("c.jsonl"), "bayes");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("nearest_node, multilateration, room_filter")
    );

    let yaml = dir.path().join("config.yaml");
    std::fs::write(
        &yaml,
        "floors:\n  - id: ground\n    bounds: [[0, 0, 0], [10, 8, 3]]\n    rooms:\n      - name: Kitchen\n        points: [[0, 0], [4, 0], [4, 4], [0, 4]]\nnodes:\n  - name: Kitchen\n    point: [1, 1, 2]\n    floors: [ground]\n",
    )
    .unwrap();
    let out = roomsense().args(["locate", "import-companion"]).arg(&yaml).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let toml = String::from_utf8_lossy(&out.stdout);
    assert!(
        toml.contains("[locate.rooms.kitchen]") && toml.contains("[locate.nodes.kitchen]"),
        "{toml}"
    );
}

#[test]
fn calibration_is_proposed_from_node_beacons_and_applied_only_when_asked() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let sub = broker.subscribe(&["roomsense/locate/#", "espresense/rooms/#"]);
    let child = locator(&house_config(dir.path(), &broker, "cal1", ""));
    sub.wait_for("the lease", Duration::from_secs(15), |t, p| {
        t == LEASE && holder(p).as_deref() == Some("cal1")
    });

    // Four stationary nodes hear each other's beacons; `office` hears 6 dB weaker than the
    // path-loss model says, as a node in a cupboard would.
    let nodes = [
        ("master", [3.4, 10.4, 3.4]),
        ("office", [6.8, 13.5, 3.6]),
        ("upstairs_hallway", [10.4, 6.4, 3.4]),
        ("bathroom", [0.15, 8.6, 4.0]),
    ];
    let mut replayer = Replayer::new(&broker);
    for _ in 0..3 {
        for (rx, p) in nodes {
            for (tx, q) in nodes.iter().filter(|(tx, _)| *tx != rx) {
                let d: f64 = p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
                let weaker = if rx == "office" { 6.0 } else { 0.0 };
                let rssi = -59.0 - 27.0 * d.log10() - weaker;
                let reported = 10f64.powf((-59.0 - rssi) / 27.0);
                replayer.send(
                    &format!("espresense/devices/node:{tx}/{rx}"),
                    &format!(
                        r#"{{"id":"node:{tx}","rssi@1m":-59,"rssi":{rssi:.2},"rxAdj":0,"distance":{reported:.2}}}"#
                    ),
                );
            }
        }
    }
    thread::sleep(Duration::from_millis(1500));

    broker.publish("roomsense/locate/request/calibration", r#"{"transaction":"c1"}"#, false);
    let (_, answer) = sub.wait_for("the proposals", Duration::from_secs(10), |t, p| {
        t == "roomsense/locate/response/calibration" && p.contains("c1")
    });
    let answer = json(&answer);
    assert_eq!(answer["status"], "ok", "{answer}");
    let office = &answer["data"]["nodes"]["office"];
    assert_eq!(office["transmitters"], 3, "{answer}");
    assert_eq!(office["rx_adj_rssi"], -6, "{answer}");
    assert!((office["absorption"].as_f64().unwrap() - 2.7).abs() < 0.05, "{answer}");
    assert_eq!(answer["data"]["nodes"]["master"]["rx_adj_rssi"], 0, "{answer}");
    assert!(
        !sub.messages().iter().any(|(t, _)| t.starts_with("espresense/rooms/")),
        "nothing is applied before the user asks"
    );

    // Asking for an unknown node changes nothing; asking for `office` sets it.
    broker.publish("roomsense/locate/request/apply_calibration", r#"{"nodes":["attic"]}"#, false);
    let (_, refused) = sub.wait_for("a refusal", Duration::from_secs(10), |t, _| {
        t == "roomsense/locate/response/apply_calibration"
    });
    assert_eq!(json(&refused)["status"], "error");
    let from = sub.messages().len();
    broker.publish(
        "roomsense/locate/request/apply_calibration",
        r#"{"nodes":["office"],"transaction":"a1"}"#,
        false,
    );
    wait_after(&sub, from, "rx_adj_rssi set", Duration::from_secs(10), |t, p| {
        t == "espresense/rooms/office/rx_adj_rssi/set" && p == "-6"
    });
    wait_after(&sub, from, "absorption set", Duration::from_secs(10), |t, p| {
        t == "espresense/rooms/office/absorption/set" && p.parse::<f64>().is_ok()
    });
    let sets: Vec<String> = sub
        .messages()
        .into_iter()
        .skip(from)
        .filter(|(t, _)| t.starts_with("espresense/rooms/"))
        .map(|(t, _)| t)
        .collect();
    assert!(sets.iter().all(|t| t.starts_with("espresense/rooms/office/")), "{sets:?}");
    drop(replayer);
    terminate(child, Duration::from_secs(10));
}
