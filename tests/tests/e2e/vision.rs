use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use roomsense_tests::mosquitto::Mosquitto;
use roomsense_tests::process::{roomsense, terminate};

fn photo(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../services/vision/testdata/images").join(name)
}

#[test]
fn detect_prints_one_json_object_per_image_and_reports_a_corrupt_one() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.jpg");
    std::fs::write(&broken, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
    let out = roomsense()
        .args(["vision", "detect"])
        .arg(photo("astronaut.png"))
        .arg(&broken)
        .arg(photo("coffee.png"))
        .output()
        .expect("roomsense should run");
    assert_eq!(out.status.code(), Some(1), "one image was refused");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line should be JSON"))
        .collect();
    assert_eq!(lines.len(), 3);
    let astronaut = &lines[0];
    assert!(astronaut["image"].as_str().unwrap().ends_with("astronaut.png"));
    let persons = astronaut["persons"].as_array().unwrap();
    assert_eq!(persons.len(), 1, "{astronaut}");
    assert!((persons[0]["score"].as_f64().unwrap() - 0.92).abs() < 0.02, "{astronaut}");
    let b: Vec<f64> =
        persons[0]["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(b[0] < 0.05 && b[2] > 0.65 && b[3] > 0.95, "box {b:?}");
    assert!(astronaut["ms"].as_f64().unwrap() > 0.0);
    assert!(lines[1]["error"].as_str().unwrap().contains("cannot decode"), "{}", lines[1]);
    assert_eq!(lines[2]["persons"].as_array().unwrap().len(), 0);
}

#[test]
fn detect_refuses_a_corrupt_model_naming_file_and_manifest_entry() {
    let dir = tempfile::tempdir().unwrap();
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    std::fs::copy(models.join("vision.manifest.toml"), dir.path().join("vision.manifest.toml"))
        .unwrap();
    std::fs::write(dir.path().join("ssdlite_mobilenetv2_pedestrian.onnx"), b"not a model").unwrap();
    let out = roomsense()
        .args(["vision", "detect", "--models-dir"])
        .arg(dir.path())
        .arg(photo("astronaut.png"))
        .output()
        .expect("roomsense should run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("model `person`")
            && stderr.contains("ssdlite_mobilenetv2_pedestrian.onnx")
            && stderr.contains("sha256"),
        "{stderr}"
    );
}

#[test]
fn the_demo_counts_the_people_in_its_sample_photos() {
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/dv/vision/#", "homeassistant/device/dv_vision/config"]);
    let child = roomsense()
        .args([
            "demo",
            "--quiet",
            "--node-id",
            "dv",
            "--broker",
            &format!("127.0.0.1:{}", broker.port()),
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("roomsense demo should start");
    let wait = Duration::from_secs(60);
    sub.wait_for("vision online", wait, |t, p| t == "roomsense/dv/vision/status" && p == "online");
    sub.wait_for("the discovery", wait, |t, _| t == "homeassistant/device/dv_vision/config");
    sub.wait_for("a person", wait, |t, p| t == "roomsense/dv/vision/demo/person" && p == "1");
    sub.wait_for("occupied", wait, |t, p| t == "roomsense/dv/vision/demo/occupancy" && p == "ON");
    sub.wait_for("a zone count", wait, |t, _| t == "roomsense/dv/vision/demo/zone/left/person");
    terminate(child, Duration::from_secs(10));
    assert_eq!(broker.retained("roomsense/dv/vision/status").as_deref(), Some("offline"));
}

#[test]
fn check_config_locates_problems_in_the_vision_section() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roomsense.toml");
    std::fs::write(
        &file,
        "[node]\nid = \"hall\"\nroom = \"hallway\"\n\n[vision]\nhold_s = 99999\n\n[[vision.cameras]]\nid = \"door\"\nsource = \"webcam\"\n",
    )
    .unwrap();
    let out = roomsense().arg("check-config").arg(&file).output().expect("roomsense should run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":6: vision.hold_s: 99999 is out of range"), "{stderr}");
    assert!(stderr.contains(":10: vision.cameras[0].source: unknown source `webcam`"), "{stderr}");
}
