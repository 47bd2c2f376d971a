//! `roomsense broker init`: the logins, password file, ACL, TLS files and `mosquitto.conf` on
//! disk. Idempotent: secrets are made once and reused; a file it wrote before is rewritten only
//! when its content should change, and a file the user edited is left alone without `force`.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use ring::rand::SecureRandom;
use roomsense_core::Identity;
use roomsense_core::config::{MqttConfig, NodeConfig, credentials_file};
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::BrokerConfig;
use crate::domain::files::{self, BridgeValues, ConfValues, HOME_ASSISTANT, Login, Names};
use crate::domain::manifest::Manifest;
use crate::domain::passwd;
use crate::error::Error;

/// Where the services' passwords go when `[mqtt] credentials_dir` is not set.
pub const DEFAULT_CREDENTIALS_DIR: &str = "/etc/roomsense/mqtt";
const MANIFEST: &str = ".roomsense-broker.sha256";

/// What `broker init` is asked to do.
#[derive(Debug, Clone)]
pub struct InitRequest {
    /// `[node]`.
    pub node: NodeConfig,
    /// `[mqtt]` (client id prefix, topic prefixes, credentials directory).
    pub mqtt: MqttConfig,
    /// `[broker]`.
    pub broker: BrokerConfig,
    /// Overwrite files the user edited.
    pub force: bool,
    /// Also create the `bridge` login, for another broker bridging into this one.
    pub bridge_user: bool,
    /// This machine's host name, for the certificate and what Home Assistant is told.
    pub hostname: String,
    /// Now, for the certificate's validity.
    pub now: OffsetDateTime,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// It did not exist and was written.
    Created,
    /// It was ours, unedited, and its content changed.
    Updated,
    /// It already held what it should.
    Unchanged,
    /// The user edited it; left alone (run with --force to overwrite).
    KeptEdited,
    /// The user edited it and `--force` overwrote it.
    Overwritten,
}

/// One file `broker init` looked after.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    /// The file.
    pub path: PathBuf,
    /// What happened.
    pub action: Action,
}

/// What Home Assistant (or any other client on the network) needs to connect.
#[derive(Debug, Clone, Serialize)]
pub struct ClientLogin {
    /// Host name to connect to (the certificate is valid for it).
    pub host: String,
    /// TLS port.
    pub port: u16,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The CA to trust (PEM).
    pub ca_file: PathBuf,
}

/// What `broker init` did and what to tell the user.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// Every file, in the order handled.
    pub files: Vec<FileOutcome>,
    /// Home Assistant's login.
    pub home_assistant: ClientLogin,
    /// The bridge login, when asked for.
    pub bridge: Option<ClientLogin>,
    /// The `[mqtt]` lines the node's config needs for its services to log in.
    pub mqtt_config: String,
    /// The broker's config file, to start Mosquitto with (`mosquitto -c`).
    pub mosquitto_conf: PathBuf,
}

/// The TLS files the listener uses.
#[derive(Debug, Clone)]
struct TlsPaths {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// The generated CA's key; `None` when the user brought their own files.
    ca_key: Option<PathBuf>,
}

/// Writes everything; see the module docs.
pub fn init(request: &InitRequest, rng: &dyn SecureRandom) -> Result<InitReport, Error> {
    let broker = &request.broker;
    let names = names(&request.node, &request.mqtt);
    let credentials_dir = request
        .mqtt
        .credentials_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CREDENTIALS_DIR));
    let owner =
        if rustix::process::geteuid().is_root() { system_user(&broker.run_as) } else { None };
    let mut files = Vec::new();

    make_dir(&broker.config_dir, 0o755, None)?;
    make_dir(&credentials_dir, 0o700, None)?;
    make_dir(&broker.data_dir, 0o700, owner)?;

    // Secrets first: made once, then only read.
    let logins = files::logins(&names, request.bridge_user);
    let mut passwords = Vec::new();
    for login in &logins {
        let path = credentials_file(&credentials_dir, &login.stem);
        let (password, action) = ensure_password(&path, rng)?;
        files.push(FileOutcome { path, action });
        passwords.push((login.clone(), password));
    }
    let tls = tls_paths(broker);
    files.extend(ensure_tls(request, &tls, owner, rng)?);

    // Derived files, under the manifest's protection.
    let manifest_path = broker.config_dir.join(MANIFEST);
    let mut manifest = Manifest::parse(&fs::read_to_string(&manifest_path).unwrap_or_default());
    let passwd_path = broker.config_dir.join("passwd");
    let current = fs::read_to_string(&passwd_path).ok();
    let passwd_text = match &current {
        Some(text) if passwd_matches(text, &passwords) => text.clone(),
        _ => passwd_file(&passwords, rng)?,
    };
    let put = |name: &str, text: &str, mode: u32, manifest: &mut Manifest| {
        write_derived(&broker.config_dir.join(name), text, mode, owner, request.force, manifest)
    };
    files.push(put("passwd", &passwd_text, 0o600, &mut manifest)?);
    let acl = files::acl(&names)
        .map_err(|placeholder| Error::Template { template: "acl.in", placeholder })?;
    files.push(put("acl", &acl, 0o600, &mut manifest)?);
    let bridge_password = broker
        .bridge
        .as_ref()
        .map(|b| read_first_line(&b.password_file).map_err(Error::BridgePassword))
        .transpose()?;
    let bridge =
        broker.bridge.as_ref().zip(bridge_password.as_deref()).map(|(b, password)| BridgeValues {
            address: &b.address,
            client_id: format!("{}-bridge", names.client),
            username: &b.username,
            password,
            ca_file: b.ca_file.as_deref(),
            topics: b.topics.clone().unwrap_or_else(|| {
                vec![
                    format!("{}/#", names.prefix),
                    "espresense/#".into(),
                    format!("{}/#", names.discovery),
                ]
            }),
        });
    let conf = files::mosquitto_conf(
        &ConfValues {
            config_dir: &broker.config_dir,
            data_dir: &broker.data_dir,
            run_as: &broker.run_as,
            port: broker.port,
            tls_port: broker.tls_port,
            tls_bind: &broker.tls_bind,
            ca_file: &tls.ca,
            cert_file: &tls.cert,
            key_file: &tls.key,
        },
        bridge.as_ref(),
    )
    .map_err(|placeholder| Error::Template { template: "mosquitto.conf.in", placeholder })?;
    // 0600: in bridge mode it holds the remote password.
    files.push(put("mosquitto.conf", &conf, 0o600, &mut manifest)?);
    write_file(&manifest_path, manifest.render().as_bytes(), 0o600, None)?;

    let host = ha_host(request);
    let login_of = |stem: &str| {
        passwords.iter().find(|(l, _)| l.stem == stem).map(|(l, p)| ClientLogin {
            host: host.clone(),
            port: broker.tls_port,
            username: l.user.clone(),
            password: p.clone(),
            ca_file: tls.ca.clone(),
        })
    };
    Ok(InitReport {
        files,
        home_assistant: login_of(HOME_ASSISTANT).expect("Home Assistant always has a login"),
        bridge: login_of(files::BRIDGE),
        mqtt_config: format!(
            "[mqtt]\nhost = \"127.0.0.1\"\nport = {}\ncredentials_dir = \"{}\"\n",
            broker.port,
            credentials_dir.display()
        ),
        mosquitto_conf: broker.config_dir.join("mosquitto.conf"),
    })
}

fn names(node: &NodeConfig, mqtt: &MqttConfig) -> Names {
    let identity = Identity::new(node, mqtt, "x");
    let client = identity.client_id();
    Names {
        node: node.id.clone(),
        client: client.trim_end_matches("-x").to_owned(),
        room: node.room.clone(),
        prefix: mqtt.topic_prefix.clone(),
        discovery: mqtt.discovery_prefix.clone(),
    }
}

fn tls_paths(broker: &BrokerConfig) -> TlsPaths {
    match (&broker.ca_file, &broker.cert_file, &broker.key_file) {
        (Some(ca), Some(cert), Some(key)) => {
            TlsPaths { ca: ca.clone(), cert: cert.clone(), key: key.clone(), ca_key: None }
        }
        _ => {
            let d = &broker.config_dir;
            TlsPaths {
                ca: d.join("ca.crt"),
                cert: d.join("server.crt"),
                key: d.join("server.key"),
                ca_key: Some(d.join("ca.key")),
            }
        }
    }
}

/// The names the generated server certificate is valid for.
fn certificate_names(request: &InitRequest) -> Vec<String> {
    let mut names = request.broker.hostnames.clone();
    let host = request.hostname.trim();
    if !host.is_empty() && host != "localhost" {
        // mDNS first: what Home Assistant elsewhere on the network can resolve.
        if !host.contains('.') {
            names.push(format!("{host}.local"));
        }
        names.push(host.to_owned());
    }
    names.extend(["localhost".to_owned(), "127.0.0.1".to_owned()]);
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

fn ha_host(request: &InitRequest) -> String {
    certificate_names(request).into_iter().next().unwrap_or_else(|| "localhost".into())
}

fn ensure_tls(
    request: &InitRequest,
    tls: &TlsPaths,
    owner: Option<(u32, u32)>,
    rng: &dyn SecureRandom,
) -> Result<Vec<FileOutcome>, Error> {
    let Some(ca_key) = &tls.ca_key else {
        // The user's own files: used as they are.
        return Ok(Vec::new());
    };
    let all = [&tls.ca, ca_key, &tls.cert, &tls.key];
    let present: Vec<_> = all.iter().filter(|p| p.exists()).collect();
    if present.len() == all.len() && !request.force {
        return Ok(all.iter().map(|p| unchanged(p)).collect());
    }
    if let (Some(p), false) = (present.first(), request.force) {
        let missing = all.iter().find(|p| !p.exists()).expect("some file is missing");
        return Err(Error::PartialTls { present: (**p).clone(), missing: (*missing).clone() });
    }
    let mut serial = [0u8; 16];
    rng.fill(&mut serial).map_err(|_| Error::Certificate("no randomness from the OS".into()))?;
    let generated = crate::certs::generate(&certificate_names(request), request.now, serial)?;
    let action = if present.is_empty() { Action::Created } else { Action::Overwritten };
    write_file(&tls.ca, generated.ca_cert.as_bytes(), 0o644, owner)?;
    write_file(ca_key, generated.ca_key.as_bytes(), 0o600, None)?;
    write_file(&tls.cert, generated.server_cert.as_bytes(), 0o644, owner)?;
    write_file(&tls.key, generated.server_key.as_bytes(), 0o600, owner)?;
    Ok(all.iter().map(|p| FileOutcome { path: (*p).clone(), action }).collect())
}

fn unchanged(path: &Path) -> FileOutcome {
    FileOutcome { path: path.to_path_buf(), action: Action::Unchanged }
}

/// A password file's password, made now (random, 0600) if it does not exist.
fn ensure_password(path: &Path, rng: &dyn SecureRandom) -> Result<(String, Action), Error> {
    if path.exists() {
        let password = read_first_line(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        return Ok((password, Action::Unchanged));
    }
    let password = random_password(rng)?;
    write_file(path, format!("{password}\n").as_bytes(), 0o600, None)?;
    Ok((password, Action::Created))
}

/// 32 characters from a-z, A-Z, 0-9 (190 bits): safe in any config file and shell.
fn random_password(rng: &dyn SecureRandom) -> Result<String, Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(32);
    while out.len() < 32 {
        let mut bytes = [0u8; 64];
        rng.fill(&mut bytes).map_err(|_| Error::Certificate("no randomness from the OS".into()))?;
        // Rejection sampling keeps every character equally likely.
        for b in bytes.into_iter().filter(|b| usize::from(*b) < ALPHABET.len() * 4) {
            if out.len() < 32 {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

fn passwd_file(passwords: &[(Login, String)], rng: &dyn SecureRandom) -> Result<String, Error> {
    let mut text = String::new();
    for (login, password) in passwords {
        let mut salt = [0u8; passwd::SALT_LEN];
        rng.fill(&mut salt).map_err(|_| Error::Certificate("no randomness from the OS".into()))?;
        text.push_str(&passwd::hash_line(&login.user, password, &salt));
        text.push('\n');
    }
    Ok(text)
}

/// Whether `text` has exactly these logins, each with its current password.
fn passwd_matches(text: &str, passwords: &[(Login, String)]) -> bool {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines.len() == passwords.len()
        && passwords.iter().all(|(login, password)| {
            lines.iter().any(|l| passwd::line_matches(l, &login.user, password))
        })
}

/// Writes a file `broker init` owns, unless the user edited it (see the module docs).
fn write_derived(
    path: &Path,
    text: &str,
    mode: u32,
    owner: Option<(u32, u32)>,
    force: bool,
    manifest: &mut Manifest,
) -> Result<FileOutcome, Error> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    let action = match fs::read(path) {
        Err(_) => Action::Created,
        Ok(current) if current == text.as_bytes() => {
            manifest.record(&name, &current);
            // Ownership and mode may have been lost (a copied file); put them back.
            set_owner_and_mode(path, mode, owner)?;
            return Ok(unchanged(path));
        }
        Ok(current) if manifest.is_ours(&name, &current) => Action::Updated,
        Ok(_) if force => Action::Overwritten,
        Ok(_) => return Ok(FileOutcome { path: path.to_path_buf(), action: Action::KeptEdited }),
    };
    write_file(path, text.as_bytes(), mode, owner)?;
    manifest.record(&name, text.as_bytes());
    Ok(FileOutcome { path: path.to_path_buf(), action })
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file; the mode
/// is set before any byte is written.
fn write_file(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), Error> {
    let tmp = path.with_extension("roomsense-tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(Error::io(&tmp))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(Error::io(&tmp))?;
    set_owner_and_mode(&tmp, mode, owner)?;
    fs::rename(&tmp, path).map_err(Error::io(path))
}

fn set_owner_and_mode(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<(), Error> {
    if let Some((uid, gid)) = owner {
        let (uid, gid) = (rustix::fs::Uid::from_raw(uid), rustix::fs::Gid::from_raw(gid));
        rustix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| Error::Io { path: path.to_path_buf(), source: e.into() })?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(Error::io(path))
}

fn make_dir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<(), Error> {
    if !path.is_dir() {
        fs::create_dir_all(path).map_err(Error::io(path))?;
        set_owner_and_mode(path, mode, owner)?;
    } else if owner.is_some() {
        set_owner_and_mode(path, mode, owner)?;
    }
    Ok(())
}

fn read_first_line(path: &Path) -> Result<String, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match text.lines().next().map(str::trim_end) {
        Some(line) if !line.is_empty() => Ok(line.to_owned()),
        _ => Err(format!("{} is empty", path.display())),
    }
}

/// The uid and gid of a system user, from /etc/passwd.
fn system_user(name: &str) -> Option<(u32, u32)> {
    let text = fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == name).then_some(())?;
        let _password = f.next()?;
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;

    use super::*;

    fn request(dir: &Path) -> InitRequest {
        InitRequest {
            node: NodeConfig::new("hall", "hallway", dir.join("state")),
            mqtt: MqttConfig {
                credentials_dir: Some(dir.join("credentials")),
                ..MqttConfig::default()
            },
            broker: BrokerConfig {
                config_dir: dir.join("broker"),
                data_dir: dir.join("data"),
                run_as: "nobody-roomsense-test".into(),
                ..BrokerConfig::default()
            },
            force: false,
            bridge_user: false,
            hostname: "hall".into(),
            now: OffsetDateTime::now_utc(),
        }
    }

    fn actions(report: &InitReport) -> Vec<Action> {
        report.files.iter().map(|f| f.action).collect()
    }

    #[test]
    fn a_second_run_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let rng = SystemRandom::new();
        let first = init(&request(dir.path()), &rng).unwrap();
        assert!(actions(&first).iter().all(|a| *a == Action::Created), "{first:?}");
        let snapshot = |p: &Path| fs::read(p).unwrap();
        let before: Vec<_> = first.files.iter().map(|f| snapshot(&f.path)).collect();
        let second = init(&request(dir.path()), &rng).unwrap();
        assert!(actions(&second).iter().all(|a| *a == Action::Unchanged), "{second:?}");
        let after: Vec<_> = second.files.iter().map(|f| snapshot(&f.path)).collect();
        assert_eq!(before, after);
        assert_eq!(first.home_assistant.password, second.home_assistant.password);
    }

    #[test]
    fn an_edited_file_survives_without_force_and_is_replaced_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let rng = SystemRandom::new();
        let report = init(&request(dir.path()), &rng).unwrap();
        let acl = dir.path().join("broker/acl");
        let edited = format!(
            "{}\nuser esp32\ntopic write espresense/#\n",
            fs::read_to_string(&acl).unwrap()
        );
        fs::write(&acl, &edited).unwrap();
        let again = init(&request(dir.path()), &rng).unwrap();
        let acl_outcome = again.files.iter().find(|f| f.path == acl).unwrap();
        assert_eq!(acl_outcome.action, Action::KeptEdited);
        assert_eq!(fs::read_to_string(&acl).unwrap(), edited);
        let forced = init(&InitRequest { force: true, ..request(dir.path()) }, &rng).unwrap();
        let acl_outcome = forced.files.iter().find(|f| f.path == acl).unwrap();
        assert_eq!(acl_outcome.action, Action::Overwritten);
        assert_ne!(fs::read_to_string(&acl).unwrap(), edited);
        drop(report);
    }

    #[test]
    fn our_own_file_is_updated_when_the_config_changes() {
        let dir = tempfile::tempdir().unwrap();
        let rng = SystemRandom::new();
        init(&request(dir.path()), &rng).unwrap();
        let mut changed = request(dir.path());
        changed.broker.tls_port = 18883;
        let report = init(&changed, &rng).unwrap();
        let conf = report.files.iter().find(|f| f.path.ends_with("mosquitto.conf")).unwrap();
        assert_eq!(conf.action, Action::Updated);
        assert!(fs::read_to_string(&conf.path).unwrap().contains("listener 18883"));
    }

    #[test]
    fn secrets_are_private_and_each_service_has_a_password_line() {
        let dir = tempfile::tempdir().unwrap();
        let report = init(&request(dir.path()), &SystemRandom::new()).unwrap();
        for f in &report.files {
            let mode = fs::metadata(&f.path).unwrap().permissions().mode() & 0o777;
            let public = f.path.extension().is_some_and(|e| e == "crt");
            assert_eq!(mode, if public { 0o644 } else { 0o600 }, "{}", f.path.display());
        }
        let passwd = fs::read_to_string(dir.path().join("broker/passwd")).unwrap();
        let ble = read_first_line(&dir.path().join("credentials/ble.password")).unwrap();
        assert_eq!(ble.len(), 32);
        assert!(passwd.lines().any(|l| passwd::line_matches(l, "hall-ble", &ble)));
        assert_eq!(passwd.lines().count(), 8);
        assert!(report.mqtt_config.contains("credentials_dir"));
        assert_eq!(report.home_assistant.host, "hall.local");
    }

    #[test]
    fn a_half_present_tls_set_is_refused_rather_than_mixed() {
        let dir = tempfile::tempdir().unwrap();
        let rng = SystemRandom::new();
        init(&request(dir.path()), &rng).unwrap();
        fs::remove_file(dir.path().join("broker/server.key")).unwrap();
        let err = init(&request(dir.path()), &rng).unwrap_err();
        assert!(matches!(err, Error::PartialTls { .. }), "{err}");
    }

    #[test]
    fn the_certificate_names_the_host_its_mdns_name_and_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = request(dir.path());
        r.broker.hostnames = vec!["pi.example.org".into()];
        assert_eq!(
            certificate_names(&r),
            ["pi.example.org", "hall.local", "hall", "localhost", "127.0.0.1"]
        );
    }
}
