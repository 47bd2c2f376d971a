//! `roomsense provision`: the image's first boot. Merges the `roomsense.toml` the user put on
//! the SD card's FAT partition into the node's config on `/data`, and turns its `[wifi]` section
//! into a wpa_supplicant network. The card's keys win over what `/data` has; the merged file is
//! checked with the same code as `check-config` before it replaces the old one, so a typo on the
//! card never leaves the node without a config. The services log in to the bundled broker with
//! the logins `roomsense broker init` makes (`[mqtt] credentials_dir`, unless the file names a
//! login), and a bridge's password given on the card (`[broker.bridge] password`) goes into a
//! file of its own (`password_file`), not into the config.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use roomsense_core::config::ConfigFile;
use toml::{Table, Value};

use crate::config::RoomsenseConfig;

/// The arguments of `roomsense provision`.
#[derive(Debug, clap::Args)]
pub(crate) struct ProvisionArgs {
    /// The user's file on the boot partition; a missing file means defaults only.
    #[arg(long, default_value = "/boot/roomsense.toml")]
    boot_config: PathBuf,
    /// The node's config, created or updated in place.
    #[arg(long, default_value = crate::config::DEFAULT_PATH)]
    config: PathBuf,
    /// The node id when neither file sets `[node] id` (the image derives it from the MAC).
    #[arg(long)]
    default_id: String,
    /// Where the Wi-Fi network goes (wpa_supplicant format, mode 0600) when `[wifi]` is given.
    #[arg(long)]
    wifi: Option<PathBuf>,
}

/// Runs the merge; prints the node id it settled on.
pub(crate) fn run(args: &ProvisionArgs) -> anyhow::Result<()> {
    let card = read_table(&args.boot_config, true)?;
    let current = read_table(&args.config, true)?;
    let default_credentials = args.config.with_file_name("mqtt");
    let mut merged = merge_card(current, card, &args.default_id, &default_credentials)?;
    // The check wants the services' login directory to exist; broker init fills it.
    if let Some(dir) = merged.config.get("mqtt").and_then(|m| m.get("credentials_dir")) {
        let dir = Path::new(dir.as_str().unwrap_or_default());
        if !dir.as_os_str().is_empty() && !dir.exists() {
            use std::os::unix::fs::DirBuilderExt as _;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
    }
    let bridge_password_file = args.config.with_file_name("bridge.password");
    if let Some(password) = &merged.bridge_password {
        // Before the check, which reads it.
        write_private(&bridge_password_file, &format!("{password}\n"), 0o600)?;
        bridge_table(&mut merged.config)?.insert(
            "password_file".to_owned(),
            Value::String(bridge_password_file.display().to_string()),
        );
    }
    let text = toml::to_string(&merged.config).context("the merged config should serialise")?;
    // Checked with the binary's own loader before anything is written.
    RoomsenseConfig::parse(&ConfigFile::from_text(&args.config, text.clone())).map_err(|e| {
        anyhow::anyhow!("{e}\n(after merging {} into it)", args.boot_config.display())
    })?;
    if let (Some(path), Some(wifi)) = (&args.wifi, &merged.wifi) {
        write_private(path, &wifi.to_wpa_supplicant(), 0o600)?;
    } else if merged.wifi.is_some() {
        bail!("{} has a [wifi] section but no --wifi path was given", args.boot_config.display());
    }
    write_private(&args.config, &text, 0o640)?;
    println!("{}", merged.node_id);
    Ok(())
}

/// What the merge produced.
#[derive(Debug)]
struct Merged {
    config: Table,
    wifi: Option<Wifi>,
    /// `[broker.bridge] password` from the card, taken out of the config.
    bridge_password: Option<String>,
    node_id: String,
}

/// Merges the card's file into the current config: `[wifi]` comes out, every other key of the
/// card replaces the same key of the config (tables merge key by key), `[node] id` falls back
/// to `default_id` and `[node] room` to the id, `[mqtt] credentials_dir` to `credentials_dir`
/// (where broker init then writes the services' logins) when no login is given.
fn merge_card(
    mut config: Table,
    mut card: Table,
    default_id: &str,
    credentials_dir: &Path,
) -> anyhow::Result<Merged> {
    let wifi = match card.remove("wifi") {
        None => None,
        Some(Value::Table(t)) => Some(Wifi::from_table(t)?),
        Some(_) => bail!("wifi: must be a table ([wifi])"),
    };
    let bridge_password = match card.get_mut("broker").and_then(|b| b.get_mut("bridge")) {
        Some(Value::Table(bridge)) => match bridge.remove("password") {
            None => None,
            Some(Value::String(p)) if !p.is_empty() => Some(p),
            Some(_) => bail!("broker.bridge.password: must be a non-empty string"),
        },
        _ => None,
    };
    merge_into(&mut config, card);
    let mqtt = config
        .entry("mqtt")
        .or_insert_with(|| Value::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| anyhow::anyhow!("mqtt: must be a table ([mqtt])"))?;
    if !mqtt.contains_key("username") && !mqtt.contains_key("credentials_dir") {
        mqtt.insert(
            "credentials_dir".to_owned(),
            Value::String(credentials_dir.display().to_string()),
        );
    }
    let node = config
        .entry("node")
        .or_insert_with(|| Value::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| anyhow::anyhow!("node: must be a table ([node])"))?;
    let id = node.entry("id").or_insert_with(|| Value::String(default_id.to_owned()));
    let node_id =
        id.as_str().ok_or_else(|| anyhow::anyhow!("node.id: must be a string"))?.to_owned();
    node.entry("room").or_insert_with(|| Value::String(node_id.clone()));
    Ok(Merged { config, wifi, bridge_password, node_id })
}

/// The config's `[broker.bridge]` table (there when the card gave a bridge password).
fn bridge_table(config: &mut Table) -> anyhow::Result<&mut Table> {
    config
        .get_mut("broker")
        .and_then(|b| b.get_mut("bridge"))
        .and_then(Value::as_table_mut)
        .ok_or_else(|| anyhow::anyhow!("broker.bridge: must be a table ([broker.bridge])"))
}

fn merge_into(into: &mut Table, from: Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Table(old)), Value::Table(new)) => merge_into(old, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// A missing file is an empty table when `missing_ok`.
fn read_table(path: &Path, missing_ok: bool) -> anyhow::Result<Table> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("{}: not valid TOML", path.display()))
        }
        Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => Ok(Table::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `text` to `path` through a temporary file in the same directory, so a power cut
/// leaves the old file or the new one, never half of one.
fn write_private(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;

    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// The `[wifi]` section of the card's file.
#[derive(Debug, PartialEq, Eq)]
struct Wifi {
    ssid: String,
    psk: Option<String>,
    country: Option<String>,
    hidden: bool,
}

impl Wifi {
    fn from_table(table: Table) -> anyhow::Result<Self> {
        let mut problems = Vec::new();
        let mut wifi = Wifi { ssid: String::new(), psk: None, country: None, hidden: false };
        for (key, value) in table {
            match (key.as_str(), value) {
                ("ssid", Value::String(s)) => wifi.ssid = s,
                ("psk", Value::String(s)) => wifi.psk = Some(s),
                ("country", Value::String(s)) => wifi.country = Some(s),
                ("hidden", Value::Boolean(b)) => wifi.hidden = b,
                ("ssid" | "psk" | "country", _) => {
                    problems.push(format!("wifi.{key}: must be a string"))
                }
                ("hidden", _) => problems.push("wifi.hidden: must be true or false".to_owned()),
                (other, _) => problems.push(format!(
                    "wifi.{other}: unknown key (allowed: ssid, psk, country, hidden)"
                )),
            }
        }
        if wifi.ssid.is_empty() || wifi.ssid.len() > 32 {
            problems.push("wifi.ssid: must be 1 to 32 bytes".to_owned());
        }
        if let Some(psk) = &wifi.psk {
            let hex = psk.len() == 64 && psk.bytes().all(|b| b.is_ascii_hexdigit());
            let passphrase =
                (8..=63).contains(&psk.len()) && psk.bytes().all(|b| (0x20..0x7f).contains(&b));
            if !hex && !passphrase {
                problems.push(
                    "wifi.psk: must be 8 to 63 printable ASCII characters, or 64 hex digits"
                        .to_owned(),
                );
            }
        }
        if let Some(country) = &wifi.country
            && !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()))
        {
            problems.push(
                "wifi.country: must be two capital letters (ISO 3166-1, e.g. \"DE\")".to_owned(),
            );
        }
        if problems.is_empty() { Ok(wifi) } else { bail!("{}", problems.join("\n")) }
    }

    /// The network as wpa_supplicant reads it. The SSID goes in hex, so any byte is safe; a
    /// passphrase is quoted (wpa_supplicant takes everything up to the last quote).
    fn to_wpa_supplicant(&self) -> String {
        let mut out = String::from("# written by roomsense provision from roomsense.toml\n");
        out.push_str("ctrl_interface=/run/wpa_supplicant\nupdate_config=0\n");
        if let Some(country) = &self.country {
            let _ = writeln!(out, "country={country}");
        }
        out.push_str("network={\n");
        let hex: String = self.ssid.bytes().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "    ssid={hex}");
        match &self.psk {
            Some(psk) if psk.len() == 64 => {
                let _ = writeln!(out, "    psk={psk}");
            }
            Some(psk) => {
                let _ = writeln!(out, "    psk=\"{psk}\"");
            }
            None => out.push_str("    key_mgmt=NONE\n"),
        }
        if self.hidden {
            out.push_str("    scan_ssid=1\n");
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_cards_keys_win_and_tables_merge_key_by_key() {
        let current = table(
            "[node]\nid = \"hall\"\nroom = \"hallway\"\n[mqtt]\nport = 1883\nusername = \"node\"\n",
        );
        let card = table("[node]\nroom = \"kitchen\"\n[mqtt]\nport = 8883\n");
        let merged = merge_card(current, card, "roomsense-123456", Path::new("/c")).unwrap();
        assert_eq!(merged.node_id, "hall");
        let node = merged.config["node"].as_table().unwrap();
        assert_eq!(node["room"].as_str(), Some("kitchen"));
        let mqtt = merged.config["mqtt"].as_table().unwrap();
        assert_eq!(mqtt["port"].as_integer(), Some(8883));
        assert_eq!(mqtt["username"].as_str(), Some("node"));
    }

    #[test]
    fn a_new_card_gets_the_default_id_and_its_room_defaults_to_the_id() {
        let merged =
            merge_card(Table::new(), Table::new(), "roomsense-abcdef", Path::new("/c")).unwrap();
        assert_eq!(merged.node_id, "roomsense-abcdef");
        assert_eq!(merged.config["node"]["room"].as_str(), Some("roomsense-abcdef"));
        assert!(merged.wifi.is_none());
        assert_eq!(merged.config["mqtt"]["credentials_dir"].as_str(), Some("/c"));
    }

    #[test]
    fn a_bridge_password_on_the_card_goes_into_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("roomsense.toml");
        let card = dir.path().join("card.toml");
        std::fs::write(
            &card,
            "[node]\nroom = \"kitchen\"\n[broker.bridge]\naddress = \"ha.local:8883\"\n\
             username = \"roomsense\"\npassword = \"s3cret pass\"\n",
        )
        .unwrap();
        let args = ProvisionArgs {
            boot_config: card,
            config: config.clone(),
            default_id: "roomsense-0a0b0c".into(),
            wifi: None,
        };
        run(&args).unwrap();
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        let written = RoomsenseConfig::load(&config).unwrap();
        let bridge = written.broker.bridge.unwrap();
        assert_eq!(bridge.password_file, dir.path().join("bridge.password"));
        assert_eq!(std::fs::read_to_string(&bridge.password_file).unwrap(), "s3cret pass\n");
    }

    #[test]
    fn wifi_is_taken_out_of_the_config_and_rendered_for_wpa_supplicant() {
        let card = table(
            "[node]\nroom = \"kitchen\"\n[wifi]\nssid = \"Home \\\"5G\\\"\"\npsk = \"correct horse\"\ncountry = \"DE\"\n",
        );
        let merged = merge_card(Table::new(), card, "n", Path::new("/c")).unwrap();
        assert!(!merged.config.contains_key("wifi"));
        let conf = merged.wifi.unwrap().to_wpa_supplicant();
        assert!(conf.contains("country=DE\n"), "{conf}");
        assert!(conf.contains("ssid=486f6d652022354722\n"), "{conf}");
        assert!(conf.contains("psk=\"correct horse\"\n"), "{conf}");
    }

    #[test]
    fn an_open_network_has_no_key_management() {
        let wifi = Wifi::from_table(table("ssid = \"cafe\"")).unwrap();
        assert!(wifi.to_wpa_supplicant().contains("key_mgmt=NONE"));
    }

    #[test]
    fn bad_wifi_settings_are_all_reported() {
        let err = Wifi::from_table(table(
            "ssid = \"\"\npsk = \"short\"\ncountry = \"de\"\nchannel = 6\n",
        ))
        .unwrap_err()
        .to_string();
        for want in ["wifi.ssid", "wifi.psk", "wifi.country", "wifi.channel: unknown key"] {
            assert!(err.contains(want), "{want} missing in: {err}");
        }
    }

    #[test]
    fn an_invalid_card_leaves_the_config_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("roomsense.toml");
        std::fs::write(&config, "[node]\nid = \"hall\"\nroom = \"hallway\"\n").unwrap();
        let card = dir.path().join("card.toml");
        std::fs::write(&card, "[node]\nroom = \"Not A Slug\"\n").unwrap();
        let args = ProvisionArgs {
            boot_config: card,
            config: config.clone(),
            default_id: "x".into(),
            wifi: None,
        };
        let err = run(&args).unwrap_err().to_string();
        assert!(err.contains("node.room"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&config).unwrap(),
            "[node]\nid = \"hall\"\nroom = \"hallway\"\n"
        );
    }

    #[test]
    fn a_valid_card_is_written_with_private_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("etc/roomsense.toml");
        let card = dir.path().join("card.toml");
        std::fs::write(
            &card,
            "[node]\nroom = \"kitchen\"\n[wifi]\nssid = \"home\"\npsk = \"12345678\"\n",
        )
        .unwrap();
        let wifi = dir.path().join("wpa/wlan0.conf");
        let args = ProvisionArgs {
            boot_config: card,
            config: config.clone(),
            default_id: "roomsense-0a0b0c".into(),
            wifi: Some(wifi.clone()),
        };
        run(&args).unwrap();
        let written = RoomsenseConfig::load(&config).unwrap();
        assert_eq!(written.node.id, "roomsense-0a0b0c");
        assert_eq!(written.node.room, "kitchen");
        assert_eq!(std::fs::metadata(&config).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::metadata(&wifi).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
