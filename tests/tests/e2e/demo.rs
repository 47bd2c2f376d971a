use std::time::Duration;

use roomsense_tests::mosquitto::Mosquitto;
use roomsense_tests::process::{demo, signal, terminate};

#[test]
fn the_demo_comes_online_announces_its_device_and_says_offline_when_stopped() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/#", "homeassistant/device/#"]);
    let child = demo(broker.port(), "d1");
    sub.wait_for("online", Duration::from_secs(20), |t, p| {
        t == "roomsense/d1/status" && p == "online"
    });
    let (_, discovery) = sub.wait_for("discovery", Duration::from_secs(10), |t, _| {
        t == "homeassistant/device/d1/config"
    });
    let discovery: serde_json::Value =
        serde_json::from_str(&discovery).expect("discovery should be JSON");
    assert_eq!(discovery["device"]["identifiers"][0], "roomsense_d1");
    assert_eq!(discovery["availability_topic"], "roomsense/d1/status");
    for key in ["uptime", "version", "restart"] {
        assert!(
            discovery["components"].get(format!("roomsense_d1_{key}")).is_some(),
            "no {key} in {discovery}"
        );
    }
    // The environment sensor is the GPIO service's simulated BME280, on the same device.
    let (_, gpio) = sub.wait_for("gpio discovery", Duration::from_secs(10), |t, _| {
        t == "homeassistant/device/d1_gpio/config"
    });
    let gpio: serde_json::Value = serde_json::from_str(&gpio).expect("discovery should be JSON");
    assert_eq!(gpio["device"]["identifiers"][0], "roomsense_d1");
    for key in ["environment_temperature", "environment_humidity", "environment_pressure"] {
        assert!(
            gpio["components"].get(format!("roomsense_d1_gpio_{key}")).is_some(),
            "no {key} in {gpio}"
        );
    }
    sub.wait_for("a temperature", Duration::from_secs(10), |t, p| {
        t == "roomsense/d1/gpio/environment/temperature"
            && p.parse::<f64>().is_ok_and(|v| (15.0..27.0).contains(&v))
    });
    terminate(child, Duration::from_secs(10));
    assert_eq!(broker.retained("roomsense/d1/status").as_deref(), Some("offline"));
}

#[test]
fn a_killed_demo_is_reported_offline_by_its_last_will() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/d2/status"]);
    let mut child = demo(broker.port(), "d2");
    sub.wait_for("online", Duration::from_secs(20), |_, p| p == "online");
    signal(&child, rustix::process::Signal::KILL);
    let _ = child.wait();
    // Keep-alive is 15 s; the broker notices the closed socket at once.
    sub.wait_for("the last will", Duration::from_secs(30), |_, p| p == "offline");
}

#[test]
fn the_management_api_answers_and_refuses_malformed_requests_without_acting_on_them() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/d3/#"]);
    let child = demo(broker.port(), "d3");
    sub.wait_for("online", Duration::from_secs(20), |t, p| {
        t == "roomsense/d3/status" && p == "online"
    });
    // The node subscribes right after connecting; let it.
    std::thread::sleep(Duration::from_millis(500));

    broker.publish("roomsense/d3/request/info", r#"{"transaction":"t-1"}"#, false);
    let (_, info) = sub.wait_for("info", Duration::from_secs(10), |t, p| {
        t == "roomsense/d3/response/info" && p.contains("t-1")
    });
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["status"], "ok");
    assert_eq!(info["data"]["node"], "d3");
    let services = info["data"]["services"].as_array().unwrap();
    for name in ["node", "ble", "gpio", "locate", "rooms", "vision", "audio"] {
        assert!(services.contains(&name.into()), "{name} should run in the demo: {services:?}");
    }
    assert!(info["data"]["config"]["mqtt"].get("password").is_none());

    broker.publish("roomsense/d3/request/health", "", false);
    sub.wait_for("health", Duration::from_secs(10), |t, p| {
        t == "roomsense/d3/response/health" && p.contains(r#""healthy":true"#)
    });

    broker.publish("roomsense/d3/request/restart", r#"{"transaction":"t-2","now":"please"#, false);
    let (_, refused) = sub.wait_for("a refusal", Duration::from_secs(10), |t, _| {
        t == "roomsense/d3/response/restart"
    });
    let refused: serde_json::Value = serde_json::from_str(&refused).unwrap();
    assert_eq!(refused["status"], "error");
    assert!(refused["error"].as_str().unwrap().contains("not valid JSON"), "{refused}");

    broker.publish("roomsense/d3/request/selfdestruct", "{}", false);
    sub.wait_for("unknown command", Duration::from_secs(10), |t, p| {
        t == "roomsense/d3/response/selfdestruct" && p.contains("unknown command")
    });

    // Nothing was restarted: the node's uptime keeps counting from its start.
    std::thread::sleep(Duration::from_secs(6));
    let uptime: u64 =
        broker.retained("roomsense/d3/uptime").and_then(|u| u.parse().ok()).unwrap_or(0);
    assert!(uptime >= 5, "the refused restart must not have restarted the node (uptime {uptime})");
    terminate(child, Duration::from_secs(10));
}
