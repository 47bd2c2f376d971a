//! Configuration: one TOML file, one typed section per service, all problems reported at once
//! with file, line, key and what is allowed.
//!
//! Two stages: serde reads what the user wrote (`deny_unknown_fields`), then each section's
//! `validate` records every problem with its key path; [`ConfigFile`] turns key paths into lines.

mod file;
mod mqtt;
mod node;
mod problems;

pub use file::{ConfigError, ConfigFile, LocatedProblem};
pub use mqtt::{MqttConfig, credentials_file};
pub use node::NodeConfig;
pub use problems::{Problem, Problems};

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Root {
        node: NodeConfig,
        #[serde(default)]
        mqtt: MqttConfig,
    }

    fn parse(text: &str) -> Result<Root, ConfigError> {
        ConfigFile::from_text("/etc/roomsense/roomsense.toml", text).parse(|r: &Root, p| {
            r.node.validate(p);
            r.mqtt.validate(p);
        })
    }

    fn only_problem(text: &str) -> LocatedProblem {
        let err = parse(text).expect_err("config should be refused");
        let problems = err.problems();
        assert_eq!(problems.len(), 1, "{err}");
        problems[0].clone()
    }

    const GOOD: &str = "[node]\nid = \"hall\"\nroom = \"hallway\"\n";

    #[test]
    fn a_minimal_file_takes_every_mqtt_default() {
        let root = parse(GOOD).unwrap();
        assert_eq!(root.mqtt, MqttConfig::default());
        assert_eq!(root.mqtt.port(), 1883);
    }

    #[test]
    fn an_unknown_key_names_its_line_and_the_keys_allowed() {
        let p = only_problem("[node]\nid = \"hall\"\nroom = \"hallway\"\n\n[mqtt]\nhots = \"x\"\n");
        assert_eq!(p.line, Some(6));
        assert_eq!(p.problem.key, "mqtt.hots");
        assert_eq!(p.problem.message, "unknown key");
        assert!(p.problem.allowed.as_deref().unwrap().contains("host"), "{p}");
    }

    #[test]
    fn a_wrong_type_names_the_range_of_the_number() {
        let p = only_problem(&format!("{GOOD}[mqtt]\nport = \"1883\"\n"));
        assert_eq!(p.line, Some(5));
        assert_eq!(p.problem.key, "mqtt.port");
        assert_eq!(p.problem.allowed.as_deref(), Some("a whole number from 0 to 65535"));
    }

    #[test]
    fn an_out_of_range_number_names_the_range() {
        let p = only_problem(&format!("{GOOD}[mqtt]\nkeep_alive_s = 1\n"));
        assert_eq!(p.line, Some(5));
        assert_eq!(p.problem.key, "mqtt.keep_alive_s");
        assert_eq!(p.problem.allowed.as_deref(), Some("5 to 3600 seconds"));
    }

    #[test]
    fn a_missing_required_key_names_its_table() {
        let p = only_problem("[node]\nid = \"hall\"\n");
        assert_eq!(p.problem.key, "node.room");
        assert_eq!(p.problem.message, "missing required key");
        assert_eq!(p.line, Some(1));
    }

    #[test]
    fn a_bad_id_says_which_characters_are_allowed() {
        let p = only_problem("[node]\nid = \"Hall Way\"\nroom = \"hallway\"\n");
        assert_eq!(p.line, Some(2));
        assert_eq!(p.problem.key, "node.id");
        assert_eq!(p.problem.allowed.as_deref(), Some("1 to 64 of a-z, 0-9, _ and -"));
    }

    #[test]
    fn broken_toml_names_the_line() {
        let p = only_problem("[node]\nid = \"hall\nroom = \"x\"\n");
        assert_eq!(p.line, Some(2));
        assert!(p.problem.message.starts_with("not valid TOML"), "{p}");
    }

    #[test]
    fn every_validation_problem_is_reported_at_once() {
        let err = parse(&format!(
            "{GOOD}[mqtt]\nport = 0\nkeep_alive_s = 99999\ntopic_prefix = \"a/#\"\n"
        ))
        .unwrap_err();
        let keys: Vec<_> = err.problems().iter().map(|p| p.problem.key.as_str()).collect();
        assert_eq!(keys, ["mqtt.port", "mqtt.keep_alive_s", "mqtt.topic_prefix"]);
        let text = err.to_string();
        assert!(text.starts_with("/etc/roomsense/roomsense.toml has 3 problems:"), "{text}");
        assert!(text.contains("/etc/roomsense/roomsense.toml:5: mqtt.port: 0 is out of range (allowed: 1 to 65535)"), "{text}");
    }

    #[test]
    fn a_missing_ca_file_is_refused_before_anything_connects() {
        let p =
            only_problem(&format!("{GOOD}[mqtt]\ntls = true\nca_file = \"/nonexistent/ca.crt\"\n"));
        assert_eq!(p.problem.key, "mqtt.ca_file");
        assert_eq!(p.line, Some(6));
        assert!(p.problem.message.contains("cannot read /nonexistent/ca.crt"), "{p}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, "not a certificate\n").unwrap();
        let p =
            only_problem(&format!("{GOOD}[mqtt]\ntls = true\nca_file = \"{}\"\n", ca.display()));
        assert!(p.problem.message.contains("holds no PEM CERTIFICATE"), "{p}");
    }

    #[test]
    fn tls_without_a_ca_file_is_refused() {
        let p = only_problem(&format!("{GOOD}[mqtt]\ntls = true\n"));
        assert_eq!(p.problem.key, "mqtt.ca_file");
    }

    #[test]
    fn a_password_without_a_user_and_an_unreadable_password_file_are_refused() {
        let err =
            parse(&format!("{GOOD}[mqtt]\npassword_file = \"/nonexistent/pw\"\n")).unwrap_err();
        let keys: Vec<_> = err.problems().iter().map(|p| p.problem.key.as_str()).collect();
        assert_eq!(keys, ["mqtt.username", "mqtt.password_file"]);
    }

    #[test]
    fn credentials_dir_gives_each_service_its_own_login() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(credentials_file(dir.path(), "ble"), "s3cret\n").unwrap();
        let root =
            parse(&format!("{GOOD}[mqtt]\ncredentials_dir = \"{}\"\n", dir.path().display()))
                .unwrap();
        let login = root.mqtt.login("hall-ble", "ble").unwrap();
        assert_eq!(login, Some(("hall-ble".to_owned(), "s3cret".to_owned())));
        let missing = root.mqtt.login("hall-gpio", "gpio").unwrap_err();
        assert!(missing.contains("gpio.password"), "{missing}");
    }

    #[test]
    fn credentials_dir_and_a_username_together_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = only_problem(&format!(
            "{GOOD}[mqtt]\ncredentials_dir = \"{}\"\nusername = \"u\"\npassword = \"p\"\n",
            dir.path().display()
        ));
        assert_eq!(p.problem.key, "mqtt.credentials_dir");
    }

    #[test]
    fn a_missing_file_says_how_to_name_another() {
        let err = ConfigFile::load("/nonexistent/roomsense.toml").unwrap_err();
        assert!(err.to_string().contains("pass --config"), "{err}");
    }
}
