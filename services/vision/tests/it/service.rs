use std::path::{Path, PathBuf};
use std::time::Duration;

use roomsense_core::config::{MqttConfig, NodeConfig};
use roomsense_core::mqtt::{Link, LinkOptions};
use roomsense_core::{Context, Health, Identity, Service};
use roomsense_tests::mosquitto::{Mosquitto, Subscriber};
use roomsense_vision::{CameraConfig, VisionConfig, VisionService, ZoneConfig, sample_images_dir};
use tokio_util::sync::CancellationToken;

/// The vision service and its link on their own runtime, so the test can block.
pub(crate) struct Running {
    stop: CancellationToken,
    runtime: Option<tokio::runtime::Runtime>,
    pub(crate) health: Health,
    _state: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

pub(crate) fn camera(id: &str, source: &str) -> CameraConfig {
    CameraConfig {
        id: id.into(),
        name: None,
        source: source.into(),
        paths: vec![],
        device: None,
        camera_name: None,
        url: None,
        pipeline: None,
        width: 320,
        height: 240,
        fps: 4.0,
        zones: vec![
            ZoneConfig {
                id: "left".into(),
                name: None,
                polygon: vec![[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]],
            },
            ZoneConfig {
                id: "right".into(),
                name: None,
                polygon: vec![[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]],
            },
        ],
    }
}

pub(crate) fn vision(cameras: Vec<CameraConfig>) -> VisionConfig {
    VisionConfig { idle_interval_s: 1, hold_s: 2, cameras, ..VisionConfig::default() }
}

/// Starts the vision service of node `node` on `broker`.
pub(crate) fn start(broker: &Mosquitto, node: &str, config: VisionConfig) -> Running {
    let settings = config.to_settings().expect("test settings should be valid");
    let state = tempfile::tempdir().unwrap();
    let node = NodeConfig {
        id: node.into(),
        room: "lab".into(),
        name: None,
        state_dir: state.path().into(),
        report_interval_s: 1,
    };
    let mqtt = MqttConfig { port: Some(broker.port()), keep_alive_s: 5, ..MqttConfig::default() };
    let identity = Identity::new(&node, &mqtt, "vision");
    let (link, driver) =
        Link::open(LinkOptions { identity, mqtt, state_dir: state.path().into(), jitter_seed: 1 })
            .expect("the link should open");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let stop = CancellationToken::new();
    let health = Health::default();
    let ctx = Context { link, health: health.clone() };
    runtime.spawn(driver.run(stop.clone()));
    let service = VisionService::new(ctx, settings, Duration::from_secs(1), "test".into());
    runtime.spawn(service.run(stop.clone()));
    Running { stop, runtime: Some(runtime), health, _state: state }
}

fn photos(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| {
            let to = dir.join(n);
            std::fs::copy(sample_images_dir().join(n), &to).unwrap();
            to
        })
        .collect()
}

fn last(sub: &Subscriber, topic: &str) -> Option<String> {
    sub.messages().into_iter().rev().find(|(t, _)| t == topic).map(|(_, p)| p)
}

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn a_person_in_view_is_counted_in_the_view_and_her_zone_and_announced_to_home_assistant() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/v1/#", "homeassistant/device/#"]);
    let dir = tempfile::tempdir().unwrap();
    let mut cam = camera("hall", "images");
    cam.paths = photos(dir.path(), &["astronaut.png"]);
    let _service = start(&broker, "v1", vision(vec![cam]));
    sub.wait_for("a count of one", WAIT, |t, p| t == "roomsense/v1/vision/hall/person" && p == "1");
    sub.wait_for("occupancy", WAIT, |t, p| t == "roomsense/v1/vision/hall/occupancy" && p == "ON");
    // Her box is [0.006, 0.063, 0.727, 0.994]: she stands at x 0.37, in the left half.
    sub.wait_for("the left zone", WAIT, |t, p| {
        t == "roomsense/v1/vision/hall/zone/left/person" && p == "1"
    });
    sub.wait_for("the right zone", WAIT, |t, p| {
        t == "roomsense/v1/vision/hall/zone/right/occupancy" && p == "OFF"
    });
    let (_, discovery) =
        sub.wait_for("discovery", WAIT, |t, _| t == "homeassistant/device/v1_vision/config");
    let d: serde_json::Value = serde_json::from_str(&discovery).unwrap();
    assert_eq!(d["device"]["identifiers"][0], "roomsense_v1");
    let c = &d["components"];
    for key in [
        "hall_person",
        "hall_occupancy",
        "hall_left_person",
        "hall_left_occupancy",
        "hall_right_occupancy",
        "hall_frames_rejected",
        "model",
    ] {
        assert!(c.get(format!("roomsense_v1_vision_{key}")).is_some(), "no {key} in {d}");
    }
    assert_eq!(c["roomsense_v1_vision_hall_occupancy"]["device_class"], "occupancy");
    assert!(c.get("roomsense_v1_vision_hall_snapshot").is_none(), "snapshots are off by default");
    assert!(
        sub.messages().iter().all(|(t, _)| !t.ends_with("/snapshot")),
        "no frame leaves the board"
    );
}

#[test]
fn corrupt_and_truncated_frames_are_counted_and_the_camera_goes_on() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/v2/#"]);
    let dir = tempfile::tempdir().unwrap();
    let mut paths = photos(dir.path(), &["camera.png"]);
    std::fs::write(dir.path().join("a_corrupt.jpg"), b"\xff\xd8\xff\xe0\x00\x10JFIF garbage")
        .unwrap();
    let png = std::fs::read(sample_images_dir().join("coffee.png")).unwrap();
    std::fs::write(dir.path().join("b_truncated.png"), &png[..png.len() / 3]).unwrap();
    paths.push(dir.path().join("a_corrupt.jpg"));
    paths.push(dir.path().join("b_truncated.png"));
    let mut cam = camera("desk", "images");
    cam.paths = paths;
    let service = start(&broker, "v2", vision(vec![cam]));
    sub.wait_for("two frames rejected", WAIT, |t, p| {
        t == "roomsense/v2/vision/desk/diagnostics"
            && serde_json::from_str::<serde_json::Value>(p)
                .is_ok_and(|v| v["frames_rejected"].as_u64() >= Some(2))
    });
    sub.wait_for("the cameraman counted", WAIT, |t, p| {
        t == "roomsense/v2/vision/desk/person" && p == "1"
    });
    let diag: serde_json::Value =
        serde_json::from_str(&last(&sub, "roomsense/v2/vision/desk/diagnostics").unwrap()).unwrap();
    assert!(
        diag["last_error"].as_str().unwrap().contains(".png")
            || diag["last_error"].as_str().unwrap().contains(".jpg"),
        "{diag}"
    );
    assert!(service.health.is_healthy());
}

#[test]
fn a_corrupt_model_is_reported_and_the_service_keeps_running_and_retrying() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/v3/#"]);
    let models = tempfile::tempdir().unwrap();
    for f in ["vision.manifest.toml", "ssdlite_mobilenetv2_pedestrian.onnx"] {
        std::fs::copy(roomsense_vision::source_models_dir().join(f), models.path().join(f))
            .unwrap();
    }
    let model = models.path().join("ssdlite_mobilenetv2_pedestrian.onnx");
    let bytes = std::fs::read(&model).unwrap();
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0xff;
    std::fs::write(&model, &flipped).unwrap();
    let mut cam = camera("door", "images");
    cam.paths = vec![sample_images_dir().join("astronaut.png")];
    let mut config = vision(vec![cam]);
    config.models_dir = Some(models.path().into());
    let service = start(&broker, "v3", config);
    let (_, payload) = sub.wait_for("the model refused", WAIT, |t, p| {
        t == "roomsense/v3/vision/model" && p.contains("\"error\"")
    });
    assert!(
        payload.contains("sha256")
            && payload.contains("ssdlite_mobilenetv2_pedestrian.onnx")
            && payload.contains("model `person`"),
        "{payload}"
    );
    assert!(!service.health.is_healthy());
    // Put the right file back: the retry (5 s back-off) loads it and counting starts.
    std::fs::write(&model, &bytes).unwrap();
    sub.wait_for("the model loaded on retry", WAIT, |t, p| {
        t == "roomsense/v3/vision/model" && p.contains("\"loaded\"")
    });
    sub.wait_for("a count", WAIT, |t, p| t == "roomsense/v3/vision/door/person" && p == "1");
}

#[test]
fn snapshots_are_published_only_when_turned_on() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/v4/#", "homeassistant/device/#"]);
    let mut cam = camera("porch", "images");
    cam.paths = vec![sample_images_dir().join("coffee.png")];
    let mut config = vision(vec![cam]);
    config.snapshot = true;
    let _service = start(&broker, "v4", config);
    let (_, discovery) =
        sub.wait_for("discovery", WAIT, |t, _| t == "homeassistant/device/v4_vision/config");
    let d: serde_json::Value = serde_json::from_str(&discovery).unwrap();
    let image = &d["components"]["roomsense_v4_vision_porch_snapshot"];
    assert_eq!(image["platform"], "image");
    assert_eq!(image["image_topic"], "roomsense/v4/vision/porch/snapshot");
    // The snapshot is binary: read it with core's observer rather than mosquitto_sub's text.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let jpeg = rt.block_on(async {
        let stop = CancellationToken::new();
        let (observer, mut rx) = roomsense_core::mqtt::Observer::new(
            "snapshot-test",
            "127.0.0.1",
            broker.port(),
            None,
            &["roomsense/v4/vision/porch/snapshot"],
            4,
        );
        tokio::spawn(observer.run(stop.clone()));
        let m = tokio::time::timeout(WAIT, rx.recv()).await.expect("a snapshot within a minute");
        stop.cancel();
        m.expect("the observer should deliver").payload
    });
    assert_eq!(&jpeg[..2], [0xff, 0xd8], "a JPEG");
    let frame = roomsense_vision::Frame::decode(&jpeg).unwrap();
    assert_eq!((frame.width(), frame.height()), (600, 400), "coffee.png's size");
}
