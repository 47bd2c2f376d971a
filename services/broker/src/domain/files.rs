//! The broker's files as text: the logins, the ACL and `mosquitto.conf`, from the templates the
//! image ships (`yocto/meta-roomsense/recipes-connectivity/mosquitto/files/`).

use std::path::Path;

use super::template::render;

/// `mosquitto.conf`'s template.
pub(crate) const CONF_TEMPLATE: &str = include_str!(
    "../../../../yocto/meta-roomsense/recipes-connectivity/mosquitto/files/mosquitto.conf.in"
);
/// The bridge section's template, appended to `mosquitto.conf` in bridge mode.
pub(crate) const BRIDGE_TEMPLATE: &str = include_str!(
    "../../../../yocto/meta-roomsense/recipes-connectivity/mosquitto/files/bridge.conf.in"
);
/// The ACL's template.
pub(crate) const ACL_TEMPLATE: &str =
    include_str!("../../../../yocto/meta-roomsense/recipes-connectivity/mosquitto/files/acl.in");

/// Every roomsense service that gets its own login, as DESIGN.md lists them.
pub const SERVICES: [&str; 7] = ["node", "ble", "locate", "vision", "audio", "gpio", "rooms"];

/// Home Assistant's login.
pub const HOME_ASSISTANT: &str = "homeassistant";
/// The login of another broker bridging into this one.
pub const BRIDGE: &str = "bridge";

/// Names every file is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    /// The node id (`roomsense/<node>/...`).
    pub(crate) node: String,
    /// Client id prefix: each service is `<client>-<service>`.
    pub(crate) client: String,
    /// The node's room (`espresense/rooms/<room>/...`).
    pub(crate) room: String,
    /// roomsense's topic prefix.
    pub(crate) prefix: String,
    /// Home Assistant's discovery prefix.
    pub(crate) discovery: String,
}

/// One login of the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The MQTT user name (for a service, also its client id).
    pub user: String,
    /// Its password file's stem in the credentials directory (`<stem>.password`).
    pub stem: String,
}

/// The logins to create: every service, Home Assistant, and the bridge if asked.
pub(crate) fn logins(names: &Names, bridge_user: bool) -> Vec<Login> {
    let mut logins: Vec<Login> = SERVICES
        .iter()
        .map(|s| Login { user: format!("{}-{s}", names.client), stem: (*s).to_owned() })
        .collect();
    logins.push(Login { user: HOME_ASSISTANT.into(), stem: HOME_ASSISTANT.into() });
    if bridge_user {
        logins.push(Login { user: BRIDGE.into(), stem: BRIDGE.into() });
    }
    logins
}

/// The ACL.
pub(crate) fn acl(names: &Names) -> Result<String, String> {
    render(
        ACL_TEMPLATE,
        &[
            ("client", &names.client),
            ("node", &names.node),
            ("room", &names.room),
            ("prefix", &names.prefix),
            ("discovery", &names.discovery),
        ],
    )
}

/// What `mosquitto.conf` is filled with.
#[derive(Debug, Clone)]
pub(crate) struct ConfValues<'a> {
    pub(crate) config_dir: &'a Path,
    pub(crate) data_dir: &'a Path,
    pub(crate) run_as: &'a str,
    pub(crate) port: u16,
    pub(crate) tls_port: u16,
    pub(crate) tls_bind: &'a str,
    pub(crate) ca_file: &'a Path,
    pub(crate) cert_file: &'a Path,
    pub(crate) key_file: &'a Path,
}

/// The bridge section's values.
#[derive(Debug, Clone)]
pub(crate) struct BridgeValues<'a> {
    pub(crate) address: &'a str,
    pub(crate) client_id: String,
    pub(crate) username: &'a str,
    pub(crate) password: &'a str,
    pub(crate) ca_file: Option<&'a Path>,
    pub(crate) topics: Vec<String>,
}

/// `mosquitto.conf`, with the bridge section when given.
pub(crate) fn mosquitto_conf(
    v: &ConfValues<'_>,
    bridge: Option<&BridgeValues<'_>>,
) -> Result<String, String> {
    let path = |p: &Path| p.display().to_string().trim_end_matches('/').to_owned();
    let mut text = render(
        CONF_TEMPLATE,
        &[
            ("config_dir", &path(v.config_dir)),
            ("data_dir", &path(v.data_dir)),
            ("run_as", v.run_as),
            ("port", &v.port.to_string()),
            ("tls_port", &v.tls_port.to_string()),
            ("tls_bind", v.tls_bind),
            ("ca_file", &path(v.ca_file)),
            ("cert_file", &path(v.cert_file)),
            ("key_file", &path(v.key_file)),
        ],
    )?;
    if let Some(b) = bridge {
        let tls = match b.ca_file {
            Some(ca) => format!("bridge_cafile {}\nbridge_insecure false\n", path(ca)),
            None => String::new(),
        };
        // Both ways: roomsense's state goes out; commands, Home Assistant's birth and other
        // ESPresense nodes' reports come in. Mosquitto-to-Mosquitto bridges with try_private
        // do not echo a message back to where it came from.
        let topics: String = b.topics.iter().map(|t| format!("topic {t} both 1\n")).collect();
        text.push_str(&render(
            BRIDGE_TEMPLATE,
            &[
                ("bridge_name", "home"),
                ("bridge_address", b.address),
                ("bridge_client_id", &b.client_id),
                ("bridge_username", b.username),
                ("bridge_password", b.password),
                ("bridge_tls", &tls),
                ("bridge_topics", topics.trim_end()),
            ],
        )?);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            node: "hall".into(),
            client: "hall".into(),
            room: "hallway".into(),
            prefix: "roomsense".into(),
            discovery: "homeassistant".into(),
        }
    }

    fn values() -> ConfValues<'static> {
        ConfValues {
            config_dir: Path::new("/etc/mosquitto/roomsense/"),
            data_dir: Path::new("/var/lib/mosquitto"),
            run_as: "mosquitto",
            port: 1883,
            tls_port: 8883,
            tls_bind: "",
            ca_file: Path::new("/etc/mosquitto/roomsense/ca.crt"),
            cert_file: Path::new("/etc/mosquitto/roomsense/server.crt"),
            key_file: Path::new("/etc/mosquitto/roomsense/server.key"),
        }
    }

    #[test]
    fn each_service_logs_in_as_its_client_id_and_home_assistant_as_itself() {
        let users: Vec<_> = logins(&names(), false).into_iter().map(|l| l.user).collect();
        assert_eq!(
            users,
            [
                "hall-node",
                "hall-ble",
                "hall-locate",
                "hall-vision",
                "hall-audio",
                "hall-gpio",
                "hall-rooms",
                "homeassistant"
            ]
        );
        assert_eq!(logins(&names(), true).last().unwrap().user, "bridge");
    }

    #[test]
    fn the_acl_gives_every_login_a_block_and_names_the_node_and_room() {
        let acl = acl(&names()).unwrap();
        for login in logins(&names(), true) {
            assert!(acl.contains(&format!("\nuser {}\n", login.user)), "{}", login.user);
        }
        assert!(acl.contains("topic write espresense/devices/+/hallway\n"));
        assert!(acl.contains("topic write homeassistant/device/hall_ble/config\n"));
        assert!(acl.contains("topic read roomsense/hall/request/+\n"));
        assert!(!acl.contains('@'), "{acl}");
    }

    #[test]
    fn plain_mqtt_is_on_loopback_only_and_tls_on_every_interface_by_default() {
        let conf = mosquitto_conf(&values(), None).unwrap();
        let listeners: Vec<_> = conf.lines().filter(|l| l.starts_with("listener ")).collect();
        assert_eq!(listeners, ["listener 1883 127.0.0.1", "listener 8883"]);
        assert!(conf.contains("\nallow_anonymous false\n"));
        assert!(conf.contains("\npassword_file /etc/mosquitto/roomsense/passwd\n"));
        assert!(conf.contains("\npersistence true\n"));
        assert!(!conf.contains("connection "), "no bridge unless asked");
    }

    #[test]
    fn the_bridge_section_carries_the_remote_login_tls_and_each_topic_tree() {
        let bridge = BridgeValues {
            address: "ha.local:8883",
            client_id: "hall-bridge".into(),
            username: "roomsense",
            password: "pw",
            ca_file: Some(Path::new("/etc/roomsense/home-ca.crt")),
            topics: vec!["roomsense/#".into(), "espresense/#".into()],
        };
        let conf = mosquitto_conf(&values(), Some(&bridge)).unwrap();
        for line in [
            "connection home",
            "address ha.local:8883",
            "remote_username roomsense",
            "remote_password pw",
            "bridge_cafile /etc/roomsense/home-ca.crt",
            "bridge_insecure false",
            "topic roomsense/# both 1",
            "topic espresense/# both 1",
            "cleansession false",
        ] {
            assert!(conf.lines().any(|l| l == line), "missing `{line}` in:\n{conf}");
        }
    }
}
