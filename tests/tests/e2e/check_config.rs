use std::path::Path;

use roomsense_tests::process::roomsense;

/// Runs `roomsense check-config` on `text`; returns (exit code, stderr).
fn check(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roomsense.toml");
    std::fs::write(&file, text).unwrap();
    check_file(&file)
}

fn check_file(file: &Path) -> (i32, String) {
    let out = roomsense().arg("check-config").arg(file).output().expect("roomsense should run");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_refused(text: &str, expected: &[&str]) {
    let (code, stderr) = check(text);
    assert_eq!(code, 2, "should be refused:\n{text}\n{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "expected `{e}` in:\n{stderr}");
    }
    assert!(stderr.lines().count() <= 24, "the error should fit one screen:\n{stderr}");
}

const NODE: &str = "[node]\nid = \"hall\"\nroom = \"hallway\"\n";

#[test]
fn a_gpio_part_on_a_pin_the_board_cannot_give_is_refused_with_the_free_pins() {
    assert_refused(
        &format!("{NODE}[gpio]\nboard = \"rpi-4b\"\n[[gpio.led]]\nname = \"lamp\"\npin = 11\n"),
        &[
            "roomsense.toml:8: gpio.led[0].pin: pin 11 (GPIO17) has no hardware PWM",
            "free PWM pins: 12 (GPIO18), 32 (GPIO12), 33 (GPIO13), 35 (GPIO19)",
        ],
    );
}

#[test]
fn a_valid_file_passes() {
    let (code, stderr) = check(NODE);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn every_kind_of_bad_file_is_refused_with_line_key_and_what_is_allowed() {
    assert_refused(
        &format!("{NODE}[mqtt]\nport = \"x\"\n"),
        &["roomsense.toml:5", "mqtt.port", "a whole number from 0 to 65535"],
    );
    assert_refused(
        &format!("{NODE}[mqtt]\nprot = 1883\n"),
        &[":5", "mqtt.prot", "unknown key", "port"],
    );
    assert_refused(&format!("{NODE}[mqtt]\nport = 70000\n"), &[":5", "mqtt.port", "65535"]);
    assert_refused("[node]\nid = \"hall\"\n", &["node.room", "missing required key"]);
    assert_refused(
        "[node]\nid = \"Hall!\"\nroom = \"x\"\n",
        &[":2", "node.id", "a-z, 0-9, _ and -"],
    );
    assert_refused(
        &format!("{NODE}[mqtt]\ntls = true\nca_file = \"/nonexistent/ca.pem\"\n"),
        &[":6", "mqtt.ca_file", "cannot read"],
    );
    assert_refused(&format!("{NODE}[mqtt]\ntls = \"yes\"\n"), &[":5", "mqtt.tls", "true or false"]);
    assert_refused(
        &format!("{NODE}[mqtt]\nhost = \"a\"\nhost = \"b\"\n"),
        &[":6", "not valid TOML"],
    );
    assert_refused(
        &format!("{NODE}[camera]\nx = 1\n"),
        &[":4", "camera", "unknown key", "allowed: node, mqtt", "audio"],
    );
}

#[test]
fn a_bad_tls_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
        .unwrap();
    assert_refused(
        &format!("{NODE}[mqtt]\ntls = true\nca_file = \"{}\"\n", ca.display()),
        &["mqtt.ca_file"],
    );
}

#[test]
fn a_missing_file_is_refused_with_how_to_name_another() {
    let (code, stderr) = check_file(Path::new("/nonexistent/roomsense.toml"));
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read config file /nonexistent/roomsense.toml"), "{stderr}");
    assert!(stderr.contains("--config"), "{stderr}");
}
