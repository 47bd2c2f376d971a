use std::time::{Duration, Instant};

use roomsense_tests::mosquitto::Mosquitto;
use roomsense_tests::process::{demo, terminate};

#[test]
fn the_demo_switches_its_relay_over_mqtt_and_refuses_a_bad_command_without_acting() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/gd1/gpio/#"]);
    let child = demo(broker.port(), "gd1");
    sub.wait_for("the relay's start-up state", Duration::from_secs(20), |t, p| {
        t == "roomsense/gd1/gpio/fan" && p == "OFF"
    });
    broker.publish("roomsense/gd1/gpio/fan/set", "sideways", false);
    let (_, refused) = sub.wait_for("the refusal", Duration::from_secs(10), |t, _| {
        t == "roomsense/gd1/gpio/fan/response"
    });
    assert!(refused.contains(r#""status":"error""#), "{refused}");
    assert_eq!(broker.retained("roomsense/gd1/gpio/fan").as_deref(), Some("OFF"));
    broker.publish("roomsense/gd1/gpio/fan/set", "ON", false);
    sub.wait_for("the relay on", Duration::from_secs(10), |t, p| {
        t == "roomsense/gd1/gpio/fan" && p == "ON"
    });
    assert_eq!(broker.retained("roomsense/gd1/gpio/fan").as_deref(), Some("ON"));
    terminate(child, Duration::from_secs(10));
    // The safe state, written on the way out.
    assert_eq!(broker.retained("roomsense/gd1/gpio/fan").as_deref(), Some("OFF"));
    assert_eq!(broker.retained("roomsense/gd1/gpio/status").as_deref(), Some("offline"));
}

#[test]
fn the_demos_simulated_pir_trips_on_its_own_and_clears_after_the_hold_time() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/gd2/gpio/motion"]);
    let child = demo(broker.port(), "gd2");
    sub.wait_for("motion", Duration::from_secs(30), |_, p| p == "ON");
    let tripped = Instant::now();
    // ON for 2–6 s, then held for 10 s: OFF after the ON, not before the hold is over.
    let deadline = tripped + Duration::from_secs(30);
    loop {
        let payloads: Vec<String> = sub.messages().into_iter().map(|(_, p)| p).collect();
        let on = payloads.iter().position(|p| p == "ON").expect("an ON was seen");
        if payloads[on..].iter().any(|p| p == "OFF") {
            break;
        }
        assert!(Instant::now() < deadline, "motion did not clear: {payloads:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(tripped.elapsed() >= Duration::from_secs(11), "cleared after {:?}", tripped.elapsed());
    terminate(child, Duration::from_secs(10));
}
