use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use roomsense_tests::home_assistant::{EntityState, HomeAssistant, MqttLogin};
use roomsense_tests::mosquitto::Mosquitto;
use roomsense_tests::process::{roomsense, signal, terminate};

/// The venv `tests/ha/setup-venv` built. The test fails, loudly, without one: it must never be
/// skipped by accident. `ROOMSENSE_SKIP_HA=1` skips it on purpose, and says so.
fn venv() -> Option<PathBuf> {
    if std::env::var_os("ROOMSENSE_SKIP_HA").is_some() {
        eprintln!("home_assistant: SKIPPED because ROOMSENSE_SKIP_HA is set");
        return None;
    }
    match std::env::var_os("ROOMSENSE_HA_VENV") {
        Some(v) => Some(PathBuf::from(v)),
        None => panic!(
            "ROOMSENSE_HA_VENV is not set: run tests/run (it builds the Home Assistant venv), or \
             ROOMSENSE_HA_VENV=$(tests/ha/setup-venv | tail -n1) cargo test -p roomsense-tests"
        ),
    }
}

fn demo(broker: &Mosquitto) -> Child {
    roomsense()
        .args([
            "demo",
            "--quiet",
            "--node-id",
            "hae2e",
            "--broker",
            &format!("127.0.0.1:{}", broker.port()),
        ])
        .args(["--username", "roomsense", "--password", "node-secret"])
        .stdout(Stdio::null())
        .spawn()
        .expect("roomsense demo should start")
}

const TEMPERATURE: &str = "sensor.roomsense_hae2e_gpio_environment_temperature";
const VERSION: &str = "sensor.roomsense_hae2e_version";
const RESTART: &str = "button.roomsense_hae2e_restart";
const LOUNGE: &str = "binary_sensor.roomsense_hae2e_rooms_lounge_occupancy";
const WAIT: Duration = Duration::from_secs(60);
/// Home Assistant's ESPresense consumer following the demo trace's phone (its IRK is the demo's
/// `roomsense_ble::DEMO_IRK`), as ESPresense's docs tell users to write it: the state topic is
/// the device's, mqtt_room subscribes to `<state_topic>/+` and takes the last level as the room.
const MQTT_ROOM: &str = "sensor:
  - platform: mqtt_room
    name: Demo phone
    device_id: \"irk:0f1e2d3c4b5a69788796a5b4c3d2e1f0\"
    state_topic: \"espresense/devices/irk:0f1e2d3c4b5a69788796a5b4c3d2e1f0\"
    timeout: 30
    away_timeout: 300
";
const PHONE_ROOM: &str = "sensor.demo_phone";
const BLE_CONNECTIVITY: &str = "binary_sensor.roomsense_hae2e_ble_connectivity";
const BLE_MAX_DISTANCE: &str = "number.roomsense_hae2e_ble_max_distance";

fn is_room_temperature(s: &EntityState) -> bool {
    s.state.parse::<f64>().is_ok_and(|t| (15.0..27.0).contains(&t))
}

fn template(ha: &HomeAssistant, t: &str) -> String {
    ha.render_template(t).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn home_assistant_adopts_the_node_follows_its_availability_and_keeps_it_across_a_restart() {
    let Some(venv) = venv() else { return };
    let broker = Mosquitto::start_with_users(&[
        ("roomsense", "node-secret"),
        ("homeassistant", "ha-secret"),
    ]);
    let login = MqttLogin {
        host: "127.0.0.1".into(),
        port: broker.port(),
        username: Some("homeassistant".into()),
        password: Some("ha-secret".into()),
    };
    let mut ha =
        HomeAssistant::start_with_yaml(&venv, login, MQTT_ROOM).unwrap_or_else(|e| panic!("{e}"));
    ha.wait_for_mqtt_connected(WAIT).unwrap_or_else(|e| panic!("{e}"));

    let node = demo(&broker);
    let fail = |e: &dyn std::fmt::Display, ha: &HomeAssistant| -> ! {
        panic!(
            "{e}\nMQTT entities: {:?}\nbroker log tail:\n{}",
            ha.render_template("{{ integration_entities('mqtt') }}"),
            broker.log().lines().rev().take(30).collect::<Vec<_>>().join("\n")
        )
    };
    ha.wait_for_state(TEMPERATURE, is_room_temperature, WAIT).unwrap_or_else(|e| fail(&e, &ha));
    let version = ha
        .wait_for_state(VERSION, |s| s.state != "unknown", WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));
    assert_eq!(version.state, env!("CARGO_PKG_VERSION"));
    let temperature = ha.state(TEMPERATURE).unwrap().unwrap();
    assert_eq!(temperature.attributes["unit_of_measurement"], "°C");
    assert_eq!(temperature.attributes["device_class"], "temperature");

    // One device for the node, with every entity on it.
    let device = format!("device_id('{TEMPERATURE}')");
    assert_eq!(
        template(&ha, &format!("{{{{ device_attr({device}, 'name') }}}}")),
        "roomsense demo"
    );
    assert_eq!(
        template(&ha, &format!("{{{{ device_attr({device}, 'manufacturer') }}}}")),
        "roomsense"
    );
    let on_device =
        template(&ha, &format!("{{{{ device_entities({device}) | sort | join(',') }}}}"));
    for entity in [
        VERSION,
        RESTART,
        "sensor.roomsense_hae2e_uptime",
        "sensor.roomsense_hae2e_gpio_environment_humidity",
        "switch.roomsense_hae2e_gpio_fan",
        "binary_sensor.roomsense_hae2e_gpio_motion",
        // The vision service announces its own message on the node's device.
        "binary_sensor.roomsense_hae2e_vision_demo_occupancy",
    ] {
        assert!(on_device.contains(entity), "{entity} should be on the node's device: {on_device}");
    }

    // The rooms service: an occupancy binary_sensor and a people sensor per room, on the
    // house-level "roomsense rooms" device, with the evidence as attributes.
    let lounge = ha
        .wait_for_state(LOUNGE, |s| s.state == "on" || s.state == "off", WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));
    assert_eq!(lounge.attributes["device_class"], "occupancy");
    assert!(lounge.attributes.get("reason").is_some(), "{:?}", lounge.attributes);
    assert_eq!(
        template(&ha, &format!("{{{{ device_attr(device_id('{LOUNGE}'), 'name') }}}}")),
        "roomsense rooms"
    );
    ha.wait_for_state(
        "sensor.roomsense_hae2e_rooms_lounge_count",
        |s| s.state.parse::<u32>().is_ok(),
        WAIT,
    )
    .unwrap_or_else(|e| fail(&e, &ha));
    // The BLE service's entities join the node's device; its availability is ESPresense's.
    ha.wait_for_state(BLE_CONNECTIVITY, |s| s.state == "on", WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));
    ha.wait_for_state(BLE_MAX_DISTANCE, |s| s.state.parse::<f64>() == Ok(16.0), WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));
    let on_device =
        template(&ha, &format!("{{{{ device_entities({device}) | sort | join(',') }}}}"));
    for entity in [BLE_CONNECTIVITY, BLE_MAX_DISTANCE, "button.roomsense_hae2e_ble_restart"] {
        assert!(on_device.contains(entity), "{entity} should be on the node's device: {on_device}");
    }
    // mqtt_room follows the phone that `roomsense ble` reports from the demo trace.
    let phone = ha
        .wait_for_state(PHONE_ROOM, |s| s.state == "living_room", WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));
    let distance = phone.attributes["distance"].as_f64().unwrap_or(-1.0);
    assert!((0.5..10.0).contains(&distance), "{phone}");

    // Availability: the node is killed, Home Assistant sees it go.
    signal(&node, rustix::process::Signal::KILL);
    let mut node = node;
    let _ = node.wait();
    ha.wait_for_state(TEMPERATURE, |s| s.state == "unavailable", WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));
    ha.wait_for_state(VERSION, |s| s.state == "unavailable", WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));

    // It comes back.
    let node = demo(&broker);
    ha.wait_for_state(TEMPERATURE, is_room_temperature, WAIT).unwrap_or_else(|e| fail(&e, &ha));

    // Home Assistant restarts: the entities come back with their states.
    ha.restart().unwrap_or_else(|e| panic!("{e}"));
    ha.wait_for_mqtt_connected(WAIT).unwrap_or_else(|e| panic!("{e}"));
    ha.wait_for_state(TEMPERATURE, is_room_temperature, WAIT).unwrap_or_else(|e| fail(&e, &ha));
    ha.wait_for_state(VERSION, |s| s.state == env!("CARGO_PKG_VERSION"), WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));
    assert_ne!(ha.state(RESTART).unwrap().map(|s| s.state).as_deref(), Some("unavailable"));
    terminate(node, Duration::from_secs(10));
}

const TRACKER: &str = "device_tracker.roomsense_locator_watch_darrell";
const ROOM: &str = "sensor.roomsense_locator_watch_darrell_room";

#[test]
fn home_assistant_shows_each_tracked_device_in_its_room_on_the_locator_device() {
    let Some(venv) = venv() else { return };
    let broker = Mosquitto::start_with_users(&[
        ("roomsense", "node-secret"),
        ("homeassistant", "ha-secret"),
    ]);
    let login = MqttLogin {
        host: "127.0.0.1".into(),
        port: broker.port(),
        username: Some("homeassistant".into()),
        password: Some("ha-secret".into()),
    };
    let ha = HomeAssistant::start(&venv, login).unwrap_or_else(|e| panic!("{e}"));
    ha.wait_for_mqtt_connected(WAIT).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    // Short time-outs, so the device is seen to leave within the test.
    let extra = "username = \"roomsense\"\npassword = \"node-secret\"\n\n\
                 [locate.tracking]\nreport_max_age_ms = 3000\naway_timeout_ms = 8000\n";
    let config = crate::locate::house_config(dir.path(), &broker, "halocate", extra);
    let locator = crate::locate::locator(&config);
    let fail = |e: &dyn std::fmt::Display, ha: &HomeAssistant| -> ! {
        panic!(
            "{e}\nMQTT entities: {:?}\nbroker log tail:\n{}",
            ha.render_template("{{ integration_entities('mqtt') }}"),
            broker.log().lines().rev().take(30).collect::<Vec<_>>().join("\n")
        )
    };

    let lines = crate::locate::capture();
    let mut replayer = crate::locate::Replayer::new(&broker);
    replayer.replay(&lines[..600], Duration::from_millis(5));

    // The tracker takes the room as its location name; the sensor shows the room.
    let tracker = ha
        .wait_for_state(TRACKER, |s| s.state == "upstairs", WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));
    assert_eq!(tracker.attributes["source_type"], "bluetooth_le");
    assert_eq!(tracker.attributes["floor"], "second");
    assert!(tracker.attributes["x"].is_f64(), "{}", tracker.attributes);
    ha.wait_for_state(ROOM, |s| s.state == "upstairs", WAIT).unwrap_or_else(|e| fail(&e, &ha));

    // Both on the house's locator device, not on a node's.
    let device = format!("device_id('{TRACKER}')");
    assert_eq!(
        template(&ha, &format!("{{{{ device_attr({device}, 'name') }}}}")),
        "roomsense locator"
    );
    assert_eq!(template(&ha, &format!("{{{{ device_id('{ROOM}') == {device} }}}}")), "True");
    let on_device =
        template(&ha, &format!("{{{{ device_entities({device}) | sort | join(',') }}}}"));
    assert!(on_device.contains("button.roomsense_locator_apply_calibration"), "{on_device}");

    // No more reports: the device leaves, and Home Assistant says so.
    drop(replayer);
    ha.wait_for_state(TRACKER, |s| s.state == "not_home", WAIT).unwrap_or_else(|e| fail(&e, &ha));
    ha.wait_for_state(ROOM, |s| s.state == "not_home", WAIT).unwrap_or_else(|e| fail(&e, &ha));
    terminate(locator, Duration::from_secs(10));
    ha.wait_for_state(TRACKER, |s| s.state == "unavailable", WAIT)
        .unwrap_or_else(|e| fail(&e, &ha));
}
