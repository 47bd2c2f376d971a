use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use roomsense_core::mqtt::{ConnectOutcome, ProbeTarget};
use roomsense_tests::mosquitto::{Mosquitto, free_port};
use roomsense_tests::process::roomsense;
use serde_json::Value;
use tempfile::TempDir;

/// A node's config and what `roomsense broker init` made from it, in a temp dir.
struct Appliance {
    dir: TempDir,
    config: PathBuf,
    port: u16,
    tls_port: u16,
}

impl Appliance {
    fn new(extra: &str) -> Self {
        let dir = TempDir::new().expect("temp dir");
        // Mosquitto, started as root, drops to its own user: it must reach the files.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let (port, tls_port) = (free_port(), free_port());
        let d = dir.path().display();
        let config = dir.path().join("roomsense.toml");
        fs::write(
            &config,
            format!(
                "[node]\nid = \"hall\"\nroom = \"hallway\"\nstate_dir = \"{d}/state\"\n\n\
                 [mqtt]\nport = {port}\ncredentials_dir = \"{d}/credentials\"\n\n\
                 [broker]\nconfig_dir = \"{d}/broker\"\ndata_dir = \"{d}/data\"\n\
                 port = {port}\ntls_port = {tls_port}\ntls_bind = \"127.0.0.1\"\n{extra}"
            ),
        )
        .expect("config should be writable");
        fs::create_dir_all(dir.path().join("credentials")).expect("credentials dir");
        let appliance = Self { dir, config, port, tls_port };
        let out = appliance.init(&[]);
        assert!(
            out.status.success(),
            "broker init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        appliance
    }

    fn init(&self, args: &[&str]) -> Output {
        roomsense()
            .arg("--config")
            .arg(&self.config)
            .args(["broker", "init", "--hostname", "hall"])
            .args(args)
            .output()
            .expect("roomsense should run")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn password(&self, stem: &str) -> String {
        fs::read_to_string(self.path(&format!("credentials/{stem}.password")))
            .expect("password file")
            .trim()
            .to_owned()
    }

    fn login(&self, stem: &str) -> (String, String) {
        let user = if stem == "homeassistant" { stem.to_owned() } else { format!("hall-{stem}") };
        (user, self.password(stem))
    }

    fn start(&self) -> Mosquitto {
        Mosquitto::start_with_config(&self.path("broker/mosquitto.conf"), self.port)
    }

    fn ca(&self) -> PathBuf {
        self.path("broker/ca.crt")
    }

    fn doctor(&self, broker: &str) -> (i32, Value) {
        let out = roomsense()
            .arg("--config")
            .arg(&self.config)
            .args(["doctor", "--json", "--listen-ms", "700", "--broker", broker])
            .output()
            .expect("roomsense doctor should run");
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("doctor --json is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
        });
        (out.status.code().unwrap_or(-1), json)
    }
}

/// `mosquitto_pub` at QoS 1 over MQTT 5; the PUBACK reason code, or `None` when the login
/// was refused.
fn publish_v5(
    port: u16,
    ca: Option<&Path>,
    login: Option<&(String, String)>,
    topic: &str,
    retain: bool,
) -> Option<u8> {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "5", "-q", "1", "-d"]);
    cmd.args(["-t", topic, "-m", "x"]);
    if let Some(ca) = ca {
        cmd.arg("--cafile").arg(ca);
    }
    if let Some((u, p)) = login {
        cmd.args(["-u", u, "-P", p]);
    }
    if retain {
        cmd.arg("-r");
    }
    let out = cmd.output().expect("mosquitto_pub should run");
    let text = String::from_utf8_lossy(&out.stdout);
    let rc = text.split("RC:").nth(1)?;
    rc.trim_end_matches(|c: char| !c.is_ascii_digit()).split(')').next()?.parse().ok()
}

const NOT_AUTHORIZED: u8 = 135;

#[test]
fn anonymous_clients_are_refused_on_the_plain_and_the_tls_listener() {
    let a = Appliance::new("");
    let _broker = a.start();
    assert_eq!(publish_v5(a.port, None, None, "roomsense/hall/x", false), None);
    assert_eq!(publish_v5(a.tls_port, Some(&a.ca()), None, "roomsense/hall/x", false), None);
    let wrong = ("hall-node".to_owned(), "wrong".to_owned());
    assert_eq!(publish_v5(a.port, None, Some(&wrong), "roomsense/hall/x", false), None);
}

#[test]
fn each_login_publishes_only_on_its_own_topics() {
    let a = Appliance::new("");
    let _broker = a.start();
    // (login, allowed, denied): the topic map of DESIGN.md.
    let cases = [
        ("node", "roomsense/hall/uptime", "roomsense/hall/ble/status"),
        ("node", "homeassistant/device/hall/config", "homeassistant/device/hall_ble/config"),
        ("ble", "espresense/devices/phone:a/hallway", "espresense/devices/phone:a/kitchen"),
        ("ble", "espresense/rooms/hallway/status", "espresense/rooms/kitchen/status"),
        ("ble", "roomsense/hall/ble/status", "roomsense/hall/status"),
        ("locate", "roomsense/devices/phone:a", "espresense/devices/phone:a/hallway"),
        ("locate", "roomsense/locate/solver", "roomsense/rooms/kitchen/occupancy"),
        ("vision", "roomsense/hall/vision/person_count", "roomsense/hall/audio/voice"),
        ("audio", "roomsense/hall/audio/voice", "roomsense/hall/vision/person_count"),
        ("gpio", "roomsense/hall/gpio/relay1", "roomsense/hall/gpio2/relay1"),
        ("rooms", "roomsense/rooms/kitchen/occupancy", "roomsense/hall/gpio/relay1"),
        ("rooms", "roomsense/hall/gpio/relay1/set", "homeassistant/status"),
        ("homeassistant", "roomsense/hall/gpio/relay1/set", "roomsense/hall/gpio/relay1"),
        ("homeassistant", "homeassistant/status", "espresense/devices/phone:a/hallway"),
        ("homeassistant", "roomsense/hall/request/info", "roomsense/hall/response/info"),
    ];
    for (who, allowed, denied) in cases {
        let login = a.login(who);
        let ok = publish_v5(a.port, None, Some(&login), allowed, false);
        assert!(matches!(ok, Some(rc) if rc < 128), "{who} should publish to {allowed}: {ok:?}");
        let no = publish_v5(a.port, None, Some(&login), denied, false);
        assert_eq!(no, Some(NOT_AUTHORIZED), "{who} should not publish to {denied}");
    }
}

#[test]
fn each_login_receives_only_what_its_acl_lets_it_read() {
    let a = Appliance::new("");
    let broker = a.start();
    let (gpio_user, gpio_pw) = a.login("gpio");
    let (ble_user, ble_pw) = a.login("ble");
    let gpio = broker.subscribe_as(&gpio_user, &gpio_pw, &["#", "$SYS/#"]);
    let ble = broker.subscribe_as(&ble_user, &ble_pw, &["#", "$SYS/#"]);
    let ha = a.login("homeassistant");
    publish_v5(a.port, None, Some(&ha), "roomsense/hall/gpio/relay1/set", false);
    publish_v5(a.port, None, Some(&ha), "espresense/rooms/hallway/max_distance/set", false);
    // MQTT 3.1.1: a denied publish is acknowledged but never delivered.
    let out = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &a.port.to_string(), "-q", "1", "-u", &ble_user])
        .args(["-P", &ble_pw, "-t", "roomsense/hall/gpio/relay1/set", "-m", "forged"])
        .status()
        .expect("mosquitto_pub");
    assert!(out.success());
    publish_v5(a.port, None, Some(&ha), "roomsense/hall/gpio/last", false);
    gpio.wait_for("HA's command", Duration::from_secs(5), |t, _| t.ends_with("relay1/set"));
    ble.wait_for("HA's setting", Duration::from_secs(5), |t, _| t.ends_with("max_distance/set"));
    std::thread::sleep(Duration::from_millis(300));
    let topics = |s: &roomsense_tests::mosquitto::Subscriber| {
        s.messages().into_iter().map(|(t, p)| format!("{t} {p}")).collect::<Vec<_>>()
    };
    assert_eq!(topics(&gpio), ["roomsense/hall/gpio/relay1/set x"], "no $SYS, no forgery");
    assert_eq!(topics(&ble), ["espresense/rooms/hallway/max_distance/set x"]);
}

#[test]
fn home_assistant_reads_discovery_and_commands_over_tls_with_the_generated_ca() {
    let a = Appliance::new("");
    let _broker = a.start();
    let ble = a.login("ble");
    let rc = publish_v5(a.port, None, Some(&ble), "homeassistant/device/hall_ble/config", true);
    assert_eq!(rc, Some(16), "accepted, no subscriber yet");
    let (user, password) = a.login("homeassistant");
    let read = Command::new("mosquitto_sub")
        .args(["-h", "localhost", "-p", &a.tls_port.to_string(), "--cafile"])
        .arg(a.ca())
        .args(["-u", &user, "-P", &password, "-t", "homeassistant/device/+/config", "-C", "1"])
        .args(["-W", "5", "-v"])
        .output()
        .expect("mosquitto_sub");
    assert_eq!(
        String::from_utf8_lossy(&read.stdout).trim(),
        "homeassistant/device/hall_ble/config x"
    );
    // Without the CA, the system's roots do not vouch for the broker.
    let untrusted = Command::new("mosquitto_sub")
        .args(["-h", "localhost", "-p", &a.tls_port.to_string(), "-u", &user, "-P", &password])
        .args(["-t", "#", "-C", "1", "-W", "3"])
        .output()
        .expect("mosquitto_sub");
    assert!(!untrusted.status.success());
    // roomsense's own link code (rustls, ring) accepts the rcgen certificate.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let probe = ProbeTarget {
        host: "127.0.0.1".into(),
        port: a.tls_port,
        ca_file: Some(a.ca()),
        login: Some(a.login("node")),
        client_id: "hall-doctor-test".into(),
    };
    let outcome = runtime.block_on(probe.connect(Duration::from_secs(5))).expect("TLS login");
    assert_eq!(outcome, ConnectOutcome::Accepted);
}

#[test]
fn init_twice_changes_nothing_and_an_edit_survives_without_force() {
    let a = Appliance::new("");
    let snapshot = || -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        for dir in ["broker", "credentials"] {
            for e in fs::read_dir(a.path(dir)).expect("dir") {
                let p = e.expect("entry").path();
                files.push((p.clone(), fs::read(&p).expect("file")));
            }
        }
        files.sort();
        files
    };
    let before = snapshot();
    let again = a.init(&["--json"]);
    assert!(again.status.success());
    let report: Value = serde_json::from_slice(&again.stdout).expect("init --json parses");
    let actions: Vec<&str> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["action"].as_str())
        .collect();
    assert!(actions.iter().all(|a| *a == "unchanged"), "{actions:?}");
    assert_eq!(before, snapshot());

    let acl = a.path("broker/acl");
    let edited = format!(
        "{}\nuser esp32\ntopic write espresense/#\n",
        fs::read_to_string(&acl).expect("acl")
    );
    fs::write(&acl, &edited).expect("edit");
    let kept = a.init(&[]);
    assert!(String::from_utf8_lossy(&kept.stdout).contains("KEPT"), "{kept:?}");
    assert_eq!(fs::read_to_string(&acl).expect("acl"), edited);
    let forced = a.init(&["--force"]);
    assert!(forced.status.success());
    assert_ne!(fs::read_to_string(&acl).expect("acl"), edited);
}

#[test]
fn a_qos1_message_queued_before_a_broker_restart_is_delivered_after_it() {
    let a = Appliance::new("");
    let mut broker = a.start();
    let (user, password) = a.login("homeassistant");
    let sub = |wait: &str| {
        Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &a.port.to_string(), "-u", &user, "-P", &password])
            .args(["-i", "ha-persistent", "-c", "-q", "1", "-t", "roomsense/hall/gpio/#", "-v"])
            .args(["-C", "1", "-W", wait])
            .output()
            .expect("mosquitto_sub")
    };
    // Make the persistent session, then go away.
    sub("1");
    let gpio = a.login("gpio");
    assert!(publish_v5(a.port, None, Some(&gpio), "roomsense/hall/gpio/door", false).is_some());
    broker.restart();
    let out = sub("5");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "roomsense/hall/gpio/door x",
        "{}",
        broker.log()
    );
}

#[test]
fn doctor_passes_the_generated_broker_and_fails_an_open_one() {
    let a = Appliance::new("");
    let _broker = a.start();
    let (code, report) = a.doctor(&format!("127.0.0.1:{}", a.port));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["safe"], true);
    let level = |r: &Value, id: &str| {
        r["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["level"].clone())
    };
    for id in [
        "reachable",
        "anonymous_login",
        "anonymous_read",
        "node_login",
        "node_read",
        "tls",
        "clock",
    ] {
        assert_eq!(level(&report, id), Some(Value::from("ok")), "{id}: {report:#}");
    }

    let open = Mosquitto::start();
    open.publish("roomsense/hall/gpio/door", "open", true);
    let (code, report) = a.doctor(&format!("127.0.0.1:{}", open.port()));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["safe"], false);
    assert_eq!(level(&report, "anonymous_login"), Some(Value::from("unsafe")));
    let read =
        report["checks"].as_array().expect("checks").iter().find(|c| c["id"] == "anonymous_read");
    let details = read.expect("anonymous_read")["details"].to_string();
    assert!(details.contains("roomsense/hall/gpio/door (retained)"), "{details}");
    // The node's login does not exist on the open broker, which lets it in anyway.
    assert!(report.to_string().contains("$SYS"), "{report:#}");
}

#[test]
fn nmap_mqtt_subscribe_is_not_authorized_on_the_generated_broker() {
    if Command::new("nmap").arg("--version").output().is_err() {
        panic!("nmap is not installed: apt-get install nmap (tests/run does)");
    }
    let a = Appliance::new("");
    let broker = a.start();
    let _broker = broker;
    publish_v5(a.port, None, Some(&a.login("gpio")), "roomsense/hall/gpio/door", true);
    let nmap = |port: u16| {
        // `+` runs the script whatever the port: its portrule only knows 1883 and 8883.
        let out = Command::new("nmap")
            .args([
                "-Pn",
                "-n",
                "-p",
                &port.to_string(),
                "--script",
                "+mqtt-subscribe",
                "127.0.0.1",
            ])
            .output()
            .expect("nmap should run");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let hardened = nmap(a.port);
    assert!(hardened.contains("mqtt-subscribe: Connection rejected: Not Authorized"), "{hardened}");
    assert!(!hardened.contains("roomsense/"), "{hardened}");

    let open = Mosquitto::start();
    open.publish("roomsense/hall/gpio/door", "open", true);
    let leaky = nmap(open.port());
    assert!(leaky.contains("roomsense/hall/gpio/door: open"), "{leaky}");
}

#[test]
fn the_bridge_carries_state_to_the_home_broker_and_commands_back() {
    let home = Mosquitto::start_tls_with_users(&[("roomsense", "home-secret")]);
    let secret = TempDir::new().expect("temp dir");
    let password_file = secret.path().join("bridge.password");
    fs::write(&password_file, "home-secret\n").expect("password file");
    let a = Appliance::new(&format!(
        "\n[broker.bridge]\naddress = \"127.0.0.1:{}\"\nusername = \"roomsense\"\npassword_file = \"{}\"\nca_file = \"{}\"\n",
        home.port(),
        password_file.display(),
        home.ca_file().display()
    ));
    // Mosquitto reads the bridge's CA after dropping to its own user.
    fs::set_permissions(home.ca_file().parent().expect("dir"), fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let appliance = a.start();
    let home_sub = |topic: &str| {
        Command::new("mosquitto_sub")
            .args(["-h", "localhost", "-p", &home.port().to_string(), "--cafile"])
            .arg(home.ca_file())
            .args([
                "-u",
                "roomsense",
                "-P",
                "home-secret",
                "-t",
                topic,
                "-C",
                "1",
                "-W",
                "10",
                "-v",
            ])
            .output()
            .expect("mosquitto_sub")
    };
    // Wait for the bridge: its retained connection state arrives at home.
    let state = home_sub("$SYS/broker/connection/hall-bridge/state");
    assert_eq!(
        String::from_utf8_lossy(&state.stdout).trim(),
        "$SYS/broker/connection/hall-bridge/state 1",
        "{}",
        appliance.log()
    );

    let gpio = a.login("gpio");
    publish_v5(a.port, None, Some(&gpio), "roomsense/hall/gpio/door", true);
    let out = home_sub("roomsense/hall/gpio/door");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "roomsense/hall/gpio/door x");

    let (gpio_user, gpio_pw) = gpio;
    let command = appliance.subscribe_as(&gpio_user, &gpio_pw, &["roomsense/hall/gpio/+/set"]);
    let sent = Command::new("mosquitto_pub")
        .args(["-h", "localhost", "-p", &home.port().to_string(), "--cafile"])
        .arg(home.ca_file())
        .args(["-u", "roomsense", "-P", "home-secret", "-q", "1"])
        .args(["-t", "roomsense/hall/gpio/relay1/set", "-m", "ON"])
        .status()
        .expect("mosquitto_pub");
    assert!(sent.success());
    command.wait_for("the command from home", Duration::from_secs(10), |t, p| {
        t == "roomsense/hall/gpio/relay1/set" && p == "ON"
    });
}
