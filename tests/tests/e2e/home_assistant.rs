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

const TEMPERATURE: &str = "sensor.roomsense_hae2e_environment_temperature";
const VERSION: &str = "sensor.roomsense_hae2e_version";
const RESTART: &str = "button.roomsense_hae2e_restart";
const WAIT: Duration = Duration::from_secs(60);

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
    let mut ha = HomeAssistant::start(&venv, login).unwrap_or_else(|e| panic!("{e}"));
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
        "sensor.roomsense_hae2e_environment_humidity",
        // The vision service announces its own message on the node's device.
        "binary_sensor.roomsense_hae2e_vision_demo_occupancy",
    ] {
        assert!(on_device.contains(entity), "{entity} should be on the node's device: {on_device}");
    }

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
