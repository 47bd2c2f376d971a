use std::thread;
use std::time::{Duration, Instant};

use roomsense_core::config::{ConfigFile, MqttConfig, NodeConfig};
use roomsense_core::mqtt::{Link, LinkOptions};
use roomsense_core::{Context, Health, Identity, Service};
use roomsense_gpio::{GpioConfig, GpioService, GpioSettings, Reading, SimBackend, SimHandle};
use roomsense_tests::mosquitto::Mosquitto;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

#[derive(Deserialize)]
struct Root {
    gpio: GpioConfig,
}

const PARTS: &str = r#"
[gpio]
board = "rpi-4b"

[[gpio.relay]]
name = "fan"
pin = 11

[[gpio.led]]
name = "lamp"
pin = 12
fade_ms = 0

[[gpio.buzzer]]
name = "chime"
pin = 33

[[gpio.input]]
name = "pir"
pin = 16
hold_s = 2
debounce_ms = 20

[[gpio.input]]
name = "door"
pin = 18
device_class = "door"
debounce_ms = 0

[[gpio.bme280]]
"#;

/// The service on the simulated board, on its own runtime thread, against `broker`.
struct Running {
    sim: SimHandle,
    stop: CancellationToken,
    thread: Option<thread::JoinHandle<()>>,
    _state: tempfile::TempDir,
}

impl Running {
    fn start(broker: &Mosquitto, node: &str, parts: &str) -> Self {
        let state = tempfile::tempdir().unwrap();
        let root: Root =
            ConfigFile::from_text("t.toml", parts).parse(|r: &Root, p| r.gpio.validate(p)).unwrap();
        let plan = root.gpio.plan(&mut Default::default()).unwrap();
        let node = NodeConfig::new(node, "lab", state.path());
        let mqtt =
            MqttConfig { port: Some(broker.port()), keep_alive_s: 5, ..MqttConfig::default() };
        let backend = SimBackend::new(1);
        let sim = backend.handle();
        let stop = CancellationToken::new();
        let token = stop.clone();
        let state_dir = state.path().to_path_buf();
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let identity = Identity::new(&node, &mqtt, "gpio");
                let options = LinkOptions { identity, mqtt, state_dir, jitter_seed: 1 };
                let (link, driver) = Link::open(options).unwrap();
                let links = CancellationToken::new();
                let driver = tokio::spawn(driver.run(links.clone()));
                let ctx = Context { link, health: Health::default() };
                let settings = GpioSettings { model: "test board".into() };
                let service = GpioService::new(ctx, plan, settings, Box::new(backend));
                service.run(token).await.unwrap();
                links.cancel();
                driver.await.unwrap();
            });
        });
        Self { sim, stop, thread: Some(thread), _state: state }
    }

    fn stop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "{what} within {timeout:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

const T: Duration = Duration::from_secs(10);

/// The payloads of `topic` received so far, repeats (at-least-once delivery) folded.
fn states(sub: &roomsense_tests::mosquitto::Subscriber, topic: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (t, p) in sub.messages() {
        if t == topic && out.last() != Some(&p) {
            out.push(p);
        }
    }
    out
}

#[test]
fn an_on_from_home_assistant_drives_the_line_and_the_retained_state_says_on() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/g1/gpio/#", "homeassistant/device/g1_gpio/config"]);
    let mut svc = Running::start(&broker, "g1", PARTS);
    sub.wait_for("the start-up state", T, |t, p| t == "roomsense/g1/gpio/fan" && p == "OFF");
    let (_, discovery) = sub.wait_for("discovery", T, |t, _| t.starts_with("homeassistant/"));
    let discovery: serde_json::Value = serde_json::from_str(&discovery).unwrap();
    assert_eq!(discovery["device"]["identifiers"][0], "roomsense_g1", "on the node's device");
    let fan = &discovery["components"]["roomsense_g1_gpio_fan"];
    assert_eq!(fan["platform"], "switch");
    assert_eq!(fan["command_topic"], "roomsense/g1/gpio/fan/set");
    assert_eq!(discovery["components"]["roomsense_g1_gpio_pir"]["device_class"], "motion");
    assert_eq!(discovery["components"]["roomsense_g1_gpio_lamp"]["schema"], "json");
    assert_eq!(discovery["components"]["roomsense_g1_gpio_chime_alarm"]["payload_press"], "alarm");
    assert_eq!(svc.sim.output(11), Some(false));

    broker.publish("roomsense/g1/gpio/fan/set", "ON", false);
    sub.wait_for("ON", T, |t, p| t == "roomsense/g1/gpio/fan" && p == "ON");
    assert_eq!(svc.sim.output(11), Some(true));
    assert_eq!(broker.retained("roomsense/g1/gpio/fan").as_deref(), Some("ON"));
    let (_, ok) = sub.wait_for("the answer", T, |t, _| t == "roomsense/g1/gpio/fan/response");
    assert_eq!(ok, r#"{"status":"ok","data":{"state":"ON"}}"#);

    // Shutdown leaves the relay in its safe state, and says so.
    svc.stop();
    assert_eq!(svc.sim.output_history(11), vec![false, true, false]);
    assert_eq!(broker.retained("roomsense/g1/gpio/fan").as_deref(), Some("OFF"));
    assert_eq!(broker.retained("roomsense/g1/gpio/status").as_deref(), Some("offline"));
}

#[test]
fn a_malformed_command_is_answered_with_an_error_and_changes_nothing() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/g2/gpio/#"]);
    let svc = Running::start(&broker, "g2", PARTS);
    sub.wait_for("the start-up state", T, |t, p| t == "roomsense/g2/gpio/fan" && p == "OFF");
    broker.publish("roomsense/g2/gpio/fan/set", r#"{"state":"MAYBE","transaction":"t7"}"#, false);
    let (_, err) = sub.wait_for("the refusal", T, |t, _| t == "roomsense/g2/gpio/fan/response");
    let err: serde_json::Value = serde_json::from_str(&err).unwrap();
    assert_eq!(err["status"], "error");
    assert_eq!(err["transaction"], "t7");
    assert!(err["error"].as_str().unwrap().contains("allowed: ON, OFF, TOGGLE"), "{err}");
    broker.publish("roomsense/g2/gpio/lamp/set", r#"{"state":"ON","brightness":300}"#, false);
    let (_, err) = sub.wait_for("the refusal", T, |t, _| t == "roomsense/g2/gpio/lamp/response");
    assert!(err.contains("0 to 255"), "{err}");
    sub.wait_for("the error count", T, |t, p| t == "roomsense/g2/gpio/errors" && p == "2");
    assert_eq!(svc.sim.output_history(11), vec![false], "the relay was never driven");
    assert!(!svc.sim.pwm(12).unwrap().enabled, "the LED was never lit");
    assert_eq!(broker.retained("roomsense/g2/gpio/fan").as_deref(), Some("OFF"));
}

#[test]
fn a_pir_edge_turns_the_binary_sensor_on_then_off_after_the_hold_time() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/g3/gpio/pir", "roomsense/g3/gpio/door"]);
    let svc = Running::start(&broker, "g3", PARTS);
    sub.wait_for("the idle state", T, |t, p| t == "roomsense/g3/gpio/pir" && p == "OFF");
    // Contact bounce shorter than the debounce: nothing.
    svc.sim.set_input(16, true);
    svc.sim.set_input(16, false);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(states(&sub, "roomsense/g3/gpio/pir"), ["OFF"]);
    // A real trip: ON, and OFF 2 s (the hold) after the line drops.
    assert!(svc.sim.set_input(16, true));
    sub.wait_for("motion", T, |t, p| t.ends_with("/pir") && p == "ON");
    svc.sim.set_input(16, false);
    let dropped = Instant::now();
    wait_until("motion to clear", T, || {
        states(&sub, "roomsense/g3/gpio/pir") == ["OFF", "ON", "OFF"]
    });
    let held = dropped.elapsed();
    assert!(held >= Duration::from_millis(1900), "held only {held:?}");
    // A door contact without debounce or hold follows its line.
    svc.sim.set_input(18, true);
    sub.wait_for("the door open", T, |t, p| t.ends_with("/door") && p == "ON");
}

#[test]
fn a_pir_trip_during_a_broker_outage_arrives_after_reconnect() {
    let mut broker = Mosquitto::start();
    let parts = PARTS.replace("hold_s = 2", "hold_s = 600");
    let svc = Running::start(&broker, "g4", &parts);
    wait_until("the idle state", T, || {
        broker.retained("roomsense/g4/gpio/pir").as_deref() == Some("OFF")
    });
    broker.stop();
    svc.sim.set_input(16, true);
    // Debounced, decided and queued while the broker is away.
    thread::sleep(Duration::from_millis(300));
    broker.restart();
    wait_until("the trip to arrive", Duration::from_secs(30), || {
        broker.retained("roomsense/g4/gpio/pir").as_deref() == Some("ON")
    });
}

#[test]
fn the_led_the_buzzer_and_the_bme280_do_what_they_are_told() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/g5/gpio/#"]);
    let svc = Running::start(&broker, "g5", PARTS);
    svc.sim.set_air(Some(Reading {
        temperature_c: 22.5,
        humidity_pct: 40.0,
        pressure_hpa: 1001.0,
    }));
    sub.wait_for("the start-up state", T, |t, _| t == "roomsense/g5/gpio/lamp");
    broker.publish("roomsense/g5/gpio/lamp/set", r#"{"state":"ON","brightness":255}"#, false);
    sub.wait_for("the light on", T, |t, p| t == "roomsense/g5/gpio/lamp" && p.contains("\"ON\""));
    let pwm = svc.sim.pwm(12).unwrap();
    assert!(pwm.enabled && pwm.duty == 1.0 && pwm.period == Duration::from_millis(1), "{pwm:?}");
    broker.publish("roomsense/g5/gpio/chime/set", "beep", false);
    wait_until("the beep to play and end", T, || {
        states(&sub, "roomsense/g5/gpio/chime") == ["idle", "beep", "idle"]
    });
    let pwm = svc.sim.pwm(33).unwrap();
    assert!(!pwm.enabled && pwm.writes >= 2, "{pwm:?}");
    // The first reading was taken at start with drifting air; the fixed air comes with the
    // next one at the earliest, so look for any room-like value.
    sub.wait_for("a temperature", T, |t, p| {
        t == "roomsense/g5/gpio/environment/temperature"
            && p.parse::<f64>().is_ok_and(|v| (15.0..30.0).contains(&v))
    });
    sub.wait_for("a pressure", T, |t, p| {
        t == "roomsense/g5/gpio/environment/pressure"
            && p.parse::<f64>().is_ok_and(|v| (950.0..1060.0).contains(&v))
    });
}
