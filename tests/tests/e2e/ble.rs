use std::collections::BTreeSet;
use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use roomsense_tests::mosquitto::{Mosquitto, Subscriber};
use roomsense_tests::process::{roomsense, terminate};
use serde_json::Value;

/// The driver of python-dbusmock's bluez5 template, shared with roomsense-ble's own D-Bus test.
const DRIVE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/ble/tests/bluez/drive.py");
const WAIT: Duration = Duration::from_secs(30);

const BUS_CONF: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/><allow eavesdrop="true"/>
  </policy>
</busconfig>"#;

/// Kills a child (dbus-daemon, the mock) when the test ends, however it ends.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The node under test, stopped politely (SIGTERM) when the test ends, however it ends.
struct Node(Option<Child>);
impl Node {
    fn stop(mut self) {
        if let Some(child) = self.0.take() {
            terminate(child, Duration::from_secs(10));
        }
    }
}
impl Drop for Node {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            terminate(child, Duration::from_secs(10));
        }
    }
}

/// A private "system" bus in a temp dir.
struct Bus {
    _daemon: Kill,
    address: String,
}

fn private_bus(dir: &Path) -> Bus {
    let socket = dir.join("system_bus_socket");
    let conf = dir.join("bus.conf");
    fs::write(&conf, BUS_CONF.replace("SOCKET", socket.to_str().unwrap())).unwrap();
    let daemon = Kill(
        Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .arg("--nofork")
            .spawn()
            .expect("dbus-daemon should start (apt-get install dbus-daemon)"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "dbus-daemon did not listen");
        thread::sleep(Duration::from_millis(20));
    }
    Bus { _daemon: daemon, address: format!("unix:path={}", socket.display()) }
}

/// bluetoothd, as python-dbusmock's bluez5 template, logging its calls to `log`.
fn mock_bluetoothd(bus: &Bus, log: &Path) -> Kill {
    let log = fs::File::create(log).unwrap();
    Kill(
        Command::new("/usr/bin/python3")
            .args(["-m", "dbusmock", "--system", "--template", "bluez5"])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m dbusmock should start (apt-get install python3-dbusmock)"),
    )
}

fn drive(bus: &Bus, args: &[&str]) {
    // The mock needs a moment to own its name after a (re)start; on a loaded machine Python's
    // own start-up takes seconds, so the deadline is generous.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("/usr/bin/python3")
            .arg(DRIVE)
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .output()
            .expect("python3 should start");
        if out.status.success() {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!("drive.py {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Sends adverts from several devices at once (each `drive` call blocks while it sends).
fn drive_all(bus: &Bus, devices: &[&[&str]]) {
    thread::scope(|s| {
        for args in devices {
            s.spawn(move || {
                let mut all = vec!["adverts"];
                all.extend_from_slice(args);
                drive(bus, &all);
            });
        }
    });
}

fn wait_for_text(path: &Path, needle: &str) {
    let deadline = Instant::now() + WAIT;
    while !fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
        assert!(
            Instant::now() < deadline,
            "{} should contain {needle}:\n{}",
            path.display(),
            fs::read_to_string(path).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

fn have_dbusmock() -> bool {
    let ok = |c: &mut Command| {
        c.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    };
    ok(Command::new("/usr/bin/python3").args(["-c", "import dbusmock"]))
        && ok(Command::new("dbus-daemon").arg("--version"))
}

/// tests/run sets ROOMSENSE_REQUIRE_BLUEZ: there, a binary without BlueZ support fails the test
/// instead of skipping it.
fn skip_without_bluez(why: &str) -> bool {
    if std::env::var_os("ROOMSENSE_REQUIRE_BLUEZ").is_some() {
        panic!("{why} (ROOMSENSE_REQUIRE_BLUEZ is set)");
    }
    eprintln!("ble over D-Bus: SKIPPED: {why}; tests/run builds the binary with --features bluez");
    true
}

fn write_config(dir: &Path, broker: &Mosquitto, ble: &str) -> PathBuf {
    let path = dir.join("roomsense.toml");
    fs::write(
        &path,
        format!(
            "[node]\nid = \"bt\"\nroom = \"office\"\nstate_dir = \"{}\"\n\n[mqtt]\nport = {}\nkeep_alive_s = 5\n\n[ble]\n{ble}",
            dir.join("state").display(),
            broker.port()
        ),
    )
    .unwrap();
    path
}

fn reports_of(sub: &Subscriber, id: &str, room: &str) -> Vec<Value> {
    let topic = format!("espresense/devices/{id}/{room}");
    sub.messages()
        .into_iter()
        .filter(|(t, _)| *t == topic)
        .map(|(_, p)| serde_json::from_str(&p).expect("a device report should be JSON"))
        .collect()
}

fn wait_for_report(sub: &Subscriber, id: &str, room: &str) -> Value {
    let topic = format!("espresense/devices/{id}/{room}");
    let (_, p) = sub.wait_for(&format!("a report of {id}"), WAIT, |t, _| t == topic);
    serde_json::from_str(&p).expect("a device report should be JSON")
}

const NEAR: &str = "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-1";
const FAR: &str = "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-2";
const AFTER_RESTART: &str = "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-3";
/// The mock adapter is 00:01:02:03:04:05: the beacon is numbered from its low 24 bits.
const NODE_BEACON: &str = "iBeacon:e5ca1ade-f007-ba11-0000-000000000000-3-1029";

#[test]
fn bluez_adverts_become_espresense_reports_and_scanning_survives_a_bluetoothd_restart() {
    if !have_dbusmock() {
        skip_without_bluez("dbus-daemon or python3-dbusmock is missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bus = private_bus(dir.path());
    let mut mock = mock_bluetoothd(&bus, &dir.path().join("mock1.log"));
    drive(&bus, &["adapter"]);
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["espresense/#"]);
    let config = write_config(dir.path(), &broker, "");
    let stderr = dir.path().join("roomsense.log");
    let mut node = Node(Some(
        roomsense()
            .arg("--config")
            .arg(&config)
            .arg("ble")
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("roomsense ble should start"),
    ));
    thread::sleep(Duration::from_millis(500));
    if let Some(Ok(Some(_))) = node.0.as_mut().map(Child::try_wait) {
        let log = fs::read_to_string(&stderr).unwrap_or_default();
        if log.contains("without BlueZ support") && skip_without_bluez("binary without BlueZ") {
            return;
        }
        panic!("roomsense ble exited:\n{log}");
    }
    sub.wait_for("ESPresense availability", WAIT, |t, p| {
        t == "espresense/rooms/office/status" && p == "online"
    });
    wait_for_text(&dir.path().join("mock1.log"), "StartDiscovery");

    // ~12 s of adverts at 1 m (the beacon's own -52 dBm) and ~6 s at 60 m. The mock creates a
    // device with RSSI -79 before its first advert: the first report may still average it in,
    // later ones have it fenced out as an outlier.
    drive_all(
        &bus,
        &[&["5A:00:00:00:00:01", "240", "-52", "1"], &["5A:00:00:00:00:02", "120", "-100", "2"]],
    );
    thread::sleep(Duration::from_secs(1));
    let reports = reports_of(&sub, NEAR, "office");
    let near =
        reports.last().unwrap_or_else(|| panic!("no report of {NEAR}: {:#?}", sub.messages()));
    assert_eq!(near["mac"], "5a0000000001");
    assert_eq!(near["rssi@1m"], -52);
    assert_eq!(near["rssi"].as_f64(), Some(-52.0), "{reports:?}");
    assert_eq!(near["distance"].as_f64(), Some(1.0), "{reports:?}");
    assert_eq!(near["rxAdj"], 0);
    // Gating: 240 adverts in ~12 s make one report per 5 s slot (and an early one when the
    // distance moved), not 240.
    assert!((2..=5).contains(&reports.len()), "{} reports of 240 adverts", reports.len());
    assert!(reports_of(&sub, FAR, "office").is_empty(), "60 m is beyond max_distance (16 m)");

    // The node beacon is advertised through BlueZ and named `node:office` for the other nodes.
    wait_for_text(&dir.path().join("mock1.log"), "RegisterAdvertisement");
    let beacon_config = format!("espresense/settings/{NODE_BEACON}/config");
    sub.wait_for("the node beacon's config", WAIT, |t, p| {
        t == beacon_config && p.contains(r#""id":"node:office""#)
    });
    assert!(broker.retained(&beacon_config).is_some_and(|p| p.contains("node:office")));

    // `/set` through the `*` room; an invalid value is refused and changes nothing.
    broker.publish("espresense/rooms/*/max_distance/set", "100", false);
    sub.wait_for("the new max_distance", WAIT, |t, p| {
        t == "espresense/rooms/office/max_distance" && p == "100.00"
    });
    broker.publish("espresense/rooms/office/max_distance/set", "abc", false);
    wait_for_text(&stderr, "setting rejected");
    assert_eq!(broker.retained("espresense/rooms/office/max_distance").as_deref(), Some("100.00"));
    drive_all(&bus, &[&["5A:00:00:00:00:02", "120", "-100", "2"]]);
    let far = wait_for_report(&sub, FAR, "office");
    let d = far["distance"].as_f64().unwrap();
    assert!((16.0..100.0).contains(&d), "{far}");

    // bluetoothd restarts: discovery is armed again on the new daemon, the beacon re-advertised.
    drop(mock);
    mock = mock_bluetoothd(&bus, &dir.path().join("mock2.log"));
    drive(&bus, &["adapter"]);
    wait_for_text(&dir.path().join("mock2.log"), "StartDiscovery");
    drive_all(&bus, &[&["5A:00:00:00:00:03", "120", "-60", "3"]]);
    wait_for_report(&sub, AFTER_RESTART, "office");
    wait_for_text(&dir.path().join("mock2.log"), "RegisterAdvertisement");

    node.stop();
    assert_eq!(broker.retained("espresense/rooms/office/status").as_deref(), Some("offline"));
    drop(mock);
}

/// The spec's sample IRK and a private address it resolves (`ah(irk, 708194) = 0dfbaa`).
const IRK: &str = "ec0234a357c8ad05341010a60a397d9b";

fn line(ts: u64, addr: &str, addr_type: &str, rssi: i8, mfg: &str) -> String {
    let mfg = if mfg.is_empty() { String::new() } else { format!(r#","mfg":{{"004c":"{mfg}"}}"#) };
    format!(r#"{{"ts_ms":{ts},"addr":"{addr}","addr_type":"{addr_type}","rssi":{rssi}{mfg}}}"#)
}

/// 20 s of a room: an iBeacon at 1 m, a device on a public address, a phone on a private
/// address resolved by the known IRK, a one-shot random address, and one corrupt line.
fn write_trace(path: &Path, seconds: u64, step_ms: u64) {
    let mut lines = Vec::new();
    let t0 = 1_767_225_600_000u64;
    for i in 0..seconds * 1000 / step_ms {
        let ts = t0 + i * step_ms;
        lines.push(line(
            ts,
            "c1:00:00:00:00:01",
            "random",
            -52,
            "02152f234454cf6d4a0fadf2f4911ba9ffa600010002cc",
        ));
        lines.push(line(ts + 1, "aa:bb:cc:00:00:02", "public", -71, ""));
        lines.push(line(ts + 2, "70:81:94:0d:fb:aa", "random", -65, "10050b1c68dd"));
        lines.push(line(
            ts + 3,
            &format!("1a:00:00:00:{:02x}:{:02x}", i / 256, i % 256),
            "random",
            -60,
            "",
        ));
    }
    lines.insert(3, r#"{"ts_ms":1,"addr":"not a mac"}"#.into());
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_replayed_trace_at_full_speed_publishes_the_expected_ids() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    write_trace(&trace, 20, 100);
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["espresense/#"]);
    let config = write_config(
        dir.path(),
        &broker,
        &format!("room = \"Lab 2\"\nknown_irks = [\"irk:{IRK}\"]\n"),
    );
    let node = Node(Some(
        roomsense()
            .arg("--config")
            .arg(&config)
            .args(["ble", "--replay"])
            .arg(&trace)
            .args(["--speed", "max"])
            .stdout(Stdio::null())
            .spawn()
            .expect("roomsense ble --replay should start"),
    ));
    sub.wait_for("ESPresense availability", WAIT, |t, p| {
        t == "espresense/rooms/lab_2/status" && p == "online"
    });
    let beacon = wait_for_report(&sub, "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-2", "lab_2");
    assert_eq!(beacon["distance"].as_f64(), Some(1.0));
    let public = wait_for_report(&sub, "aabbcc000002", "lab_2");
    assert_eq!(public["rssi@1m"], -71);
    let phone = wait_for_report(&sub, &format!("irk:{IRK}"), "lab_2");
    assert_eq!(phone["mac"], "7081940dfbaa");
    // Everything is out; nothing else was reported (random addresses never are).
    thread::sleep(Duration::from_secs(1));
    let ids: BTreeSet<String> = sub
        .messages()
        .into_iter()
        .filter_map(|(t, _)| {
            t.strip_prefix("espresense/devices/")?.strip_suffix("/lab_2").map(str::to_owned)
        })
        .collect();
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        [
            "aabbcc000002".to_owned(),
            "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-2".into(),
            format!("irk:{IRK}")
        ]
    );
    // The retained snapshot names the room as written and echoes the settings.
    assert_eq!(broker.retained("espresense/rooms/lab_2/name").as_deref(), Some("Lab 2"));
    assert_eq!(broker.retained("espresense/rooms/lab_2/absorption").as_deref(), Some("2.70"));
    assert_eq!(broker.retained("espresense/rooms/lab_2/known_irks"), Some(format!("irk:{IRK}")));
    node.stop();
    assert_eq!(broker.retained("espresense/rooms/lab_2/status").as_deref(), Some("offline"));
}

/// What systemd would receive on the notify socket during `window`.
fn notifications(socket: &UnixDatagram, window: Duration) -> Vec<String> {
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        socket.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
        match socket.recv(&mut buf) {
            Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => break,
        }
    }
    got
}

#[test]
fn the_ble_node_feeds_the_watchdog_only_while_advertisements_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    // 3 s of adverts at recorded speed, then silence.
    write_trace(&trace, 3, 100);
    let broker = Mosquitto::start();
    let config = write_config(dir.path(), &broker, "no_advert_timeout_ms = 1000\n");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let node = Node(Some(
        roomsense()
            .arg("--config")
            .arg(&config)
            .args(["ble", "--replay"])
            .arg(&trace)
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "400000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("roomsense ble should start"),
    ));
    let flowing = notifications(&socket, Duration::from_secs(3));
    assert!(flowing.iter().any(|n| n.contains("READY=1")), "{flowing:?}");
    assert!(flowing.iter().filter(|n| n.contains("WATCHDOG=1")).count() >= 3, "{flowing:?}");
    // Health is checked every 5 s: by then the adverts have stopped for longer than 1 s.
    let _settling = notifications(&socket, Duration::from_secs(4));
    let quiet = notifications(&socket, Duration::from_secs(2));
    assert!(!quiet.iter().any(|n| n.contains("WATCHDOG=1")), "fed without adverts: {quiet:?}");
    node.stop();
}
