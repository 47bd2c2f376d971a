//! Owns the real Home Assistant Core that end-to-end tests assert against: its temporary
//! config dir (MQTT entry seeded), its process (started from a venv built by
//! `tests/ha/setup-venv`, stopped by PID), onboarding/auth, and the REST calls tests use.
//!
//! Typical use:
//! ```no_run
//! # use roomsense_tests::home_assistant::{HomeAssistant, MqttLogin};
//! # use std::{path::Path, time::Duration};
//! let ha = HomeAssistant::start(Path::new("/path/to/ha-venv"), MqttLogin::anonymous("127.0.0.1", 1883))?;
//! let s = ha.wait_for_state("sensor.kitchen_temperature", |s| s.state == "21.5", Duration::from_secs(30))?;
//! # Ok::<(), roomsense_tests::home_assistant::HarnessError>(())
//! ```

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

/// How long a start (process launch → API up → HA running → MQTT entry loaded) may take.
/// Measured 5–10 s for 2025.4.4 on a warm disk; the first start after a venv build also
/// compiles nothing, but a loaded 2-core CI box can be several times slower.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// SIGTERM grace on restart: HA stops in 2–5 s and flushes `.storage` while doing so, which
/// the restarted instance needs (auth tokens, registries), so wait generously before SIGKILL.
const RESTART_GRACE: Duration = Duration::from_secs(30);
/// SIGTERM grace on drop: nothing reads the config dir afterwards, so just be quick.
const DROP_GRACE: Duration = Duration::from_secs(5);
/// Poll interval of every wait loop.
const POLL: Duration = Duration::from_millis(250);
/// Per-request timeout; HA answers loopback requests in milliseconds once up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Refresh the access token this long before HA says it expires (it lives 30 min).
const TOKEN_SLACK: Duration = Duration::from_secs(60);
/// Lines of HA's log put into failure messages.
const LOG_TAIL_LINES: usize = 80;
/// HA's output (stdout + stderr) inside the config dir; appended to across restarts.
const LOG_FILE: &str = "hass-output.log";
/// Line the harness writes into the log before each start of `hass`.
const START_MARKER: &str = "----- roomsense harness: starting hass -----";
/// What HA 2025.4's MQTT client logs (INFO) once its broker connection is up.
const MQTT_CONNECTED: &str = "Connected to MQTT server";
/// Owner account created by onboarding; only reachable on 127.0.0.1 in a temp config dir.
const USERNAME: &str = "roomsense";
const PASSWORD: &str = "roomsense-e2e-password";
/// Entry id of the seeded MQTT config entry (any 32 hex digits do).
const MQTT_ENTRY_ID: &str = "0123456789abcdef0123456789abcdef";

/// Where and how Home Assistant logs in to the MQTT broker under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttLogin {
    /// Broker host as HA should connect to it, e.g. `127.0.0.1`.
    pub host: String,
    /// Broker TCP port (plain MQTT, no TLS).
    pub port: u16,
    /// Username, if the broker requires one.
    pub username: Option<String>,
    /// Password, if the broker requires one.
    pub password: Option<String>,
}

impl MqttLogin {
    /// A broker that allows anonymous clients.
    pub fn anonymous(host: impl Into<String>, port: u16) -> Self {
        Self { host: host.into(), port, username: None, password: None }
    }
}

/// One entity's state as returned by `GET /api/states/<entity_id>`.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityState {
    /// The state string, e.g. `"on"`, `"21.5"`, `"unavailable"`.
    pub state: String,
    /// The attributes object (`friendly_name`, `device_class`, ...).
    pub attributes: Value,
}

impl EntityState {
    /// Parses HA's state object; `None` if it has no string `state`.
    fn from_json(value: &Value) -> Option<Self> {
        Some(Self {
            state: value.get("state")?.as_str()?.to_owned(),
            attributes: value.get("attributes").cloned().unwrap_or(Value::Null),
        })
    }
}

impl fmt::Display for EntityState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "state {:?} attributes {}", self.state, self.attributes)
    }
}

/// What went wrong while running Home Assistant; every message says what to check next.
#[derive(Debug)]
pub enum HarnessError {
    /// `<venv>/bin/hass` is missing or not executable.
    VenvMissing {
        /// The venv path the test was given.
        venv: PathBuf,
    },
    /// A local file or process operation failed.
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// HA exited or did not become ready during start or restart.
    StartFailed {
        /// What was awaited or how the process ended.
        reason: String,
        /// The last lines of HA's log.
        log_tail: String,
    },
    /// An HTTP request to HA could not be made or its response not read.
    Http {
        /// Which request.
        context: String,
        /// The underlying error.
        source: Box<ureq::Error>,
    },
    /// HA answered with an unexpected status code.
    Status {
        /// Which request.
        context: String,
        /// The HTTP status code.
        status: u16,
        /// The response body (HA puts its reason there).
        body: String,
    },
    /// HA answered 2xx but the body was not what the API documents.
    BadResponse {
        /// Which request.
        context: String,
        /// What was wrong, with the body.
        detail: String,
    },
    /// A wait ran out of time.
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the harness waited.
        waited: Duration,
        /// The last observation (state, absence, or error).
        last_seen: String,
        /// The last lines of HA's log.
        log_tail: String,
    },
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VenvMissing { venv } => write!(
                f,
                "{} is not an executable Home Assistant; build the venv with tests/ha/setup-venv \
                 and pass the path it prints (e.g. ROOMSENSE_HA_VENV=$(tests/ha/setup-venv | tail -n1))",
                venv.join("bin/hass").display()
            ),
            Self::Io { context, source } => write!(f, "{context}: {source}"),
            Self::StartFailed { reason, log_tail } => write!(
                f,
                "Home Assistant did not start: {reason}. If the log mentions a missing module, \
                 rebuild the venv (tests/ha/setup-venv). Last lines of its log:\n{log_tail}"
            ),
            Self::Http { context, source } => {
                write!(f, "{context}: {source} (is Home Assistant still running? see log_tail())")
            }
            Self::Status { context, status, body } => {
                write!(f, "{context}: Home Assistant answered HTTP {status}: {body}")
            }
            Self::BadResponse { context, detail } => write!(f, "{context}: {detail}"),
            Self::Timeout { what, waited, last_seen, log_tail } => write!(
                f,
                "timed out after {waited:?} waiting for {what}; last seen: {last_seen}. \
                 Last lines of Home Assistant's log:\n{log_tail}"
            ),
        }
    }
}

impl std::error::Error for HarnessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Http { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> HarnessError {
    move |source| HarnessError::Io { context: context.into(), source }
}

/// Tokens from `/auth/token`.
struct Tokens {
    access: String,
    /// Absent only if HA stopped issuing one; then the login flow (credentials) is used.
    refresh: Option<String>,
    /// When to stop using `access` (HA's expiry minus [`TOKEN_SLACK`]).
    renew_at: Instant,
}

/// Request body shapes the harness sends.
enum Payload<'a> {
    None,
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

/// A running Home Assistant Core on `127.0.0.1`, stopped (SIGTERM, then SIGKILL) on drop.
pub struct HomeAssistant {
    hass: PathBuf,
    dir: TempDir,
    port: u16,
    agent: ureq::Agent,
    child: Mutex<Option<Child>>,
    tokens: Mutex<Option<Tokens>>,
}

impl fmt::Debug for HomeAssistant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = lock(&self.child).as_ref().map(Child::id);
        f.debug_struct("HomeAssistant")
            .field("config_dir", &self.dir.path())
            .field("port", &self.port)
            .field("pid", &pid)
            .finish_non_exhaustive()
    }
}

/// Locks ignoring poison: the guarded data stays consistent even if a test panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl HomeAssistant {
    /// Starts HA from `venv` (see `tests/ha/setup-venv`) in a fresh temporary config dir
    /// with an MQTT config entry for `mqtt`, onboards an owner user and waits until HA is
    /// running and the MQTT entry is loaded.
    pub fn start(venv: &Path, mqtt: MqttLogin) -> Result<Self, HarnessError> {
        Self::start_with_yaml(venv, mqtt, "")
    }

    /// Like [`start`](Self::start), with `extra_yaml` appended to `configuration.yaml` (YAML-only
    /// integrations such as `mqtt_room`), e.g. `"sensor:\n  - platform: mqtt_room\n    ..."`.
    pub fn start_with_yaml(
        venv: &Path,
        mqtt: MqttLogin,
        extra_yaml: &str,
    ) -> Result<Self, HarnessError> {
        let hass = venv.join("bin/hass");
        if !is_executable(&hass) {
            return Err(HarnessError::VenvMissing { venv: venv.to_owned() });
        }
        let dir = tempfile::Builder::new()
            .prefix("roomsense-ha-")
            .tempdir()
            .map_err(io_err("creating the Home Assistant config dir"))?;
        let port = free_port()?;
        write_config(dir.path(), port, &mqtt, extra_yaml)?;

        let agent = ureq::Agent::config_builder()
            // Only loopback is spoken to; an HTTP(S)_PROXY from the environment must not apply.
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .into();
        let mut ha =
            Self { hass, dir, port, agent, child: Mutex::new(None), tokens: Mutex::new(None) };
        ha.launch()?;
        let deadline = Instant::now() + START_TIMEOUT;
        ha.wait_for_onboarding(deadline)?;
        ha.onboard()?;
        ha.wait_until_running(deadline)?;
        Ok(ha)
    }

    /// `http://127.0.0.1:<port>` of this instance.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The config dir (`configuration.yaml`, `.storage/`, the log file).
    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A currently valid access token, for requests the harness does not wrap (websocket).
    pub fn access_token(&self) -> Result<String, HarnessError> {
        self.token()
    }

    /// The state of `entity_id`, or `None` if HA has no such entity.
    pub fn state(&self, entity_id: &str) -> Result<Option<EntityState>, HarnessError> {
        let context = format!("GET /api/states/{entity_id}");
        let (status, body) =
            self.authed(&context, "GET", &format!("/api/states/{entity_id}"), Payload::None)?;
        match status {
            404 => Ok(None),
            200 => {
                let value = parse_json(&context, &body)?;
                EntityState::from_json(&value).map(Some).ok_or_else(|| HarnessError::BadResponse {
                    context,
                    detail: format!("no string \"state\" in {body}"),
                })
            }
            _ => Err(HarnessError::Status { context, status, body }),
        }
    }

    /// Renders a Jinja template in HA (`POST /api/template`), e.g.
    /// `{{ device_attr(device_id('sensor.x'), 'manufacturer') }}`.
    pub fn render_template(&self, template: &str) -> Result<String, HarnessError> {
        let context = format!("POST /api/template {template:?}");
        let body = json!({ "template": template });
        let (status, text) =
            self.authed(&context, "POST", "/api/template", Payload::Json(&body))?;
        if status != 200 {
            return Err(HarnessError::Status { context, status, body: text });
        }
        Ok(text)
    }

    /// Calls a service (`POST /api/services/<domain>/<service>`) and returns HA's answer
    /// (the states that changed), e.g. `call_service("switch", "turn_on", json!({"entity_id": "switch.x"}))`.
    pub fn call_service(
        &self,
        domain: &str,
        service: &str,
        data: Value,
    ) -> Result<Value, HarnessError> {
        let path = format!("/api/services/{domain}/{service}");
        let context = format!("POST {path}");
        let (status, body) = self.authed(&context, "POST", &path, Payload::Json(&data))?;
        if status != 200 {
            return Err(HarnessError::Status { context, status, body });
        }
        parse_json(&context, &body)
    }

    /// Polls [`state`](Self::state) every 250 ms until `predicate` holds, and returns that
    /// state; the timeout error says what was last seen.
    pub fn wait_for_state(
        &self,
        entity_id: &str,
        predicate: impl Fn(&EntityState) -> bool,
        timeout: Duration,
    ) -> Result<EntityState, HarnessError> {
        let deadline = Instant::now() + timeout;
        let mut last_seen;
        loop {
            last_seen = match self.state(entity_id) {
                Ok(Some(state)) if predicate(&state) => return Ok(state),
                Ok(Some(state)) => state.to_string(),
                Ok(None) => format!("{entity_id} does not exist"),
                // Transient errors (HA busy, mid-restart) are retried; the last one is reported.
                Err(err) => format!("error: {err}"),
            };
            if let Some(status) = self.exited() {
                last_seen = format!("{last_seen}; Home Assistant exited ({status})");
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            thread::sleep(POLL);
        }
        Err(HarnessError::Timeout {
            what: format!("{entity_id} to match the predicate"),
            waited: timeout,
            last_seen,
            log_tail: self.log_tail(),
        })
    }

    /// Stops HA (SIGTERM, waiting for it to flush its storage) and starts it again on the
    /// same config dir and port, then waits for the API, re-authenticates and waits until
    /// HA is running with the MQTT entry loaded. Entities come back as restored/unavailable
    /// until MQTT discovery re-adds them.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop(RESTART_GRACE);
        self.launch()?;
        let deadline = Instant::now() + START_TIMEOUT;
        self.wait_for_http(deadline)?;
        // The tokens survive in HA's auth store, but renew the access token now so a restart
        // also exercises the refresh grant; `token()` falls back to the password login.
        if let Some(tokens) = lock(&self.tokens).as_mut() {
            tokens.renew_at = Instant::now();
        }
        self.wait_until_running(deadline)
    }

    /// Waits until HA's MQTT client has connected to the broker since the latest (re)start.
    /// `start` does not wait for this, because the MQTT config entry loads even while the
    /// broker is unreachable. Subscriptions follow within moments; the birth message on
    /// `homeassistant/status` (5 s after discovery goes quiet) is the signal that HA is
    /// ready for non-retained discovery.
    pub fn wait_for_mqtt_connected(&self, timeout: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            let path = self.dir.path().join(LOG_FILE);
            let log = fs::read(&path).map_err(io_err(format!("reading {}", path.display())))?;
            let log = String::from_utf8_lossy(&log);
            if since_last_start(&log).contains(MQTT_CONNECTED) {
                return Ok(());
            }
            let exited = self.exited();
            if exited.is_some() || Instant::now() >= deadline {
                let last_seen = match exited {
                    Some(status) => format!("Home Assistant exited ({status})"),
                    None => format!("no {MQTT_CONNECTED:?} line in its log; is the broker up?"),
                };
                return Err(HarnessError::Timeout {
                    what: "Home Assistant to connect to the MQTT broker".into(),
                    waited: timeout,
                    last_seen,
                    log_tail: self.log_tail(),
                });
            }
            thread::sleep(POLL);
        }
    }

    /// The last ~80 lines of HA's log (stdout + stderr), for failure messages.
    pub fn log_tail(&self) -> String {
        let path = self.dir.path().join(LOG_FILE);
        match fs::read(&path) {
            Ok(bytes) => tail_lines(&String::from_utf8_lossy(&bytes), LOG_TAIL_LINES),
            Err(err) => format!("(cannot read {}: {err})", path.display()),
        }
    }

    /// Spawns `hass` with output appended to the log file.
    fn launch(&mut self) -> Result<(), HarnessError> {
        let log_path = self.dir.path().join(LOG_FILE);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_err(format!("opening {}", log_path.display())))?;
        // Separates the runs of a restart; `wait_for_mqtt_connected` only looks after it.
        writeln!(log, "{START_MARKER}")
            .map_err(io_err(format!("writing {}", log_path.display())))?;
        let stderr = log.try_clone().map_err(io_err("duplicating the log file handle"))?;
        let child = Command::new(&self.hass)
            // --skip-pip: never install at run time; setup-venv installed every requirement.
            .args(["--skip-pip", "--log-no-color", "-c"])
            .arg(self.dir.path())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(io_err(format!("starting {}", self.hass.display())))?;
        *lock(&self.child) = Some(child);
        Ok(())
    }

    /// Exit status if HA's process has ended (`None` while running or not started).
    fn exited(&self) -> Option<ExitStatus> {
        lock(&self.child).as_mut().and_then(|child| child.try_wait().ok().flatten())
    }

    fn start_failed(&self, reason: String) -> HarnessError {
        HarnessError::StartFailed { reason, log_tail: self.log_tail() }
    }

    /// Fails fast if HA exited, or if `deadline` passed while waiting for `what`.
    fn check_start_progress(
        &self,
        deadline: Instant,
        what: &str,
        last: &str,
    ) -> Result<(), HarnessError> {
        if let Some(status) = self.exited() {
            return Err(self.start_failed(format!("it exited ({status}) before {what}")));
        }
        if Instant::now() >= deadline {
            return Err(self.start_failed(format!(
                "{what} did not happen within {START_TIMEOUT:?}; last seen: {last}"
            )));
        }
        thread::sleep(POLL);
        Ok(())
    }

    /// First start: waits until the onboarding API answers (it is registered a little
    /// after the HTTP server starts listening).
    fn wait_for_onboarding(&self, deadline: Instant) -> Result<(), HarnessError> {
        let what = "the onboarding API answering";
        loop {
            let last = match self.request(what, "GET", "/api/onboarding", None, Payload::None) {
                Ok((200, _)) => return Ok(()),
                Ok((status, body)) => format!("HTTP {status} {body}"),
                Err(err) => err.to_string(),
            };
            self.check_start_progress(deadline, what, &last)?;
        }
    }

    /// Restart: waits until the auth API answers. `/auth/providers` needs no token, so
    /// polling it does not log "invalid authentication" warnings the way `/api/` would.
    fn wait_for_http(&self, deadline: Instant) -> Result<(), HarnessError> {
        let what = "the auth API answering (GET /auth/providers)";
        loop {
            let last = match self.request(what, "GET", "/auth/providers", None, Payload::None) {
                Ok((200, _)) => return Ok(()),
                Ok((status, body)) => format!("HTTP {status} {body}"),
                Err(err) => err.to_string(),
            };
            self.check_start_progress(deadline, what, &last)?;
        }
    }

    /// Creates the owner user and exchanges the returned auth code for tokens.
    fn onboard(&self) -> Result<(), HarnessError> {
        let context = "creating the owner user (POST /api/onboarding/users)";
        let body = json!({
            "client_id": self.client_id(),
            "name": "roomsense e2e",
            "username": USERNAME,
            "password": PASSWORD,
            "language": "en",
        });
        let (status, text) =
            self.request(context, "POST", "/api/onboarding/users", None, Payload::Json(&body))?;
        if status != 200 {
            return Err(HarnessError::Status { context: context.into(), status, body: text });
        }
        let code = json_str(context, &parse_json(context, &text)?, "auth_code")?;
        let tokens = self.exchange_code(&code)?;
        *lock(&self.tokens) = Some(tokens);
        Ok(())
    }

    /// Waits for `core state == RUNNING` and a loaded MQTT config entry.
    fn wait_until_running(&self, deadline: Instant) -> Result<(), HarnessError> {
        let what = "Home Assistant reporting state RUNNING (GET /api/config)";
        loop {
            let last = match self.authed(what, "GET", "/api/config", Payload::None) {
                Ok((200, body)) => match serde_json::from_str::<Value>(&body) {
                    // Recovery mode also reaches RUNNING, without MQTT: fail with the cause.
                    Ok(config) if config.get("recovery_mode") == Some(&json!(true)) => {
                        return Err(self.start_failed(
                            "it booted into recovery mode: a critical integration (frontend) \
                             failed, usually because a requirement is missing from the venv; \
                             rebuild it with tests/ha/setup-venv"
                                .into(),
                        ));
                    }
                    Ok(config) if config.get("state") == Some(&json!("RUNNING")) => break,
                    Ok(config) => format!("state {}", config.get("state").unwrap_or(&Value::Null)),
                    Err(err) => format!("unparsable body ({err}): {body}"),
                },
                Ok((status, body)) => format!("HTTP {status} {body}"),
                Err(err) => err.to_string(),
            };
            self.check_start_progress(deadline, what, &last)?;
        }
        let what = "the MQTT config entry to be loaded";
        let path = "/api/config/config_entries/entry?domain=mqtt";
        loop {
            let last = match self.authed(what, "GET", path, Payload::None) {
                Ok((200, body)) => match serde_json::from_str::<Value>(&body) {
                    Ok(entries) => {
                        let state = entries
                            .as_array()
                            .and_then(|list| list.first())
                            .and_then(|entry| entry.get("state"))
                            .cloned()
                            .unwrap_or(Value::Null);
                        if state == json!("loaded") {
                            return Ok(());
                        }
                        // setup_retry here usually means the broker is unreachable.
                        format!("entry state {state} (entries: {body}); is the broker up?")
                    }
                    Err(err) => format!("unparsable body ({err}): {body}"),
                },
                Ok((status, body)) => format!("HTTP {status} {body}"),
                Err(err) => err.to_string(),
            };
            self.check_start_progress(deadline, what, &last)?;
        }
    }

    fn client_id(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// A valid access token: the cached one, else refreshed, else a fresh login.
    fn token(&self) -> Result<String, HarnessError> {
        let mut tokens = lock(&self.tokens);
        if let Some(current) = tokens.as_ref()
            && Instant::now() < current.renew_at
        {
            return Ok(current.access.clone());
        }
        let refresh = tokens.as_ref().and_then(|t| t.refresh.clone());
        let renewed = match refresh.map(|r| self.refresh(&r)) {
            Some(Ok(renewed)) => renewed,
            // No refresh token or HA refused it (e.g. its auth store was not flushed before
            // a kill): log in again with the owner's credentials.
            Some(Err(_)) | None => self.login()?,
        };
        let access = renewed.access.clone();
        *tokens = Some(renewed);
        Ok(access)
    }

    fn refresh(&self, refresh_token: &str) -> Result<Tokens, HarnessError> {
        let client_id = self.client_id();
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id.as_str()),
        ];
        let mut tokens = self.token_request("refreshing the access token", &form)?;
        // HA does not send a new refresh token with a refresh grant; keep the old one.
        tokens.refresh.get_or_insert_with(|| refresh_token.to_owned());
        Ok(tokens)
    }

    /// The login flow with username and password, as the frontend does it.
    fn login(&self) -> Result<Tokens, HarnessError> {
        let client_id = self.client_id();
        let context = "starting a login flow (POST /auth/login_flow)";
        let body = json!({
            "client_id": client_id,
            "handler": ["homeassistant", null],
            "redirect_uri": client_id,
        });
        let (status, text) =
            self.request(context, "POST", "/auth/login_flow", None, Payload::Json(&body))?;
        if status != 200 {
            return Err(HarnessError::Status { context: context.into(), status, body: text });
        }
        let flow_id = json_str(context, &parse_json(context, &text)?, "flow_id")?;

        let context = "logging in with the owner's password (POST /auth/login_flow/<id>)";
        let body = json!({ "client_id": client_id, "username": USERNAME, "password": PASSWORD });
        let path = format!("/auth/login_flow/{flow_id}");
        let (status, text) = self.request(context, "POST", &path, None, Payload::Json(&body))?;
        if status != 200 {
            return Err(HarnessError::Status { context: context.into(), status, body: text });
        }
        let code = json_str(context, &parse_json(context, &text)?, "result")?;
        self.exchange_code(&code)
    }

    fn exchange_code(&self, code: &str) -> Result<Tokens, HarnessError> {
        let client_id = self.client_id();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client_id.as_str()),
        ];
        self.token_request("exchanging the auth code for tokens", &form)
    }

    fn token_request(&self, context: &str, form: &[(&str, &str)]) -> Result<Tokens, HarnessError> {
        let (status, text) =
            self.request(context, "POST", "/auth/token", None, Payload::Form(form))?;
        if status != 200 {
            return Err(HarnessError::Status { context: context.into(), status, body: text });
        }
        let value = parse_json(context, &text)?;
        let access = json_str(context, &value, "access_token")?;
        let refresh = value.get("refresh_token").and_then(Value::as_str).map(str::to_owned);
        let lifetime =
            Duration::from_secs(value.get("expires_in").and_then(Value::as_u64).unwrap_or(1800));
        Ok(Tokens {
            access,
            refresh,
            renew_at: Instant::now() + lifetime.saturating_sub(TOKEN_SLACK),
        })
    }

    /// A request with the access token; a 401 drops the token and retries once.
    fn authed(
        &self,
        context: &str,
        method: &str,
        path: &str,
        payload: Payload<'_>,
    ) -> Result<(u16, String), HarnessError> {
        let token = self.token()?;
        let (status, body) =
            self.request(context, method, path, Some(&token), clone_payload(&payload))?;
        if status != 401 {
            return Ok((status, body));
        }
        *lock(&self.tokens) = None;
        let token = self.token()?;
        self.request(context, method, path, Some(&token), payload)
    }

    /// One HTTP request to HA; returns status and body whatever the status.
    fn request(
        &self,
        context: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        payload: Payload<'_>,
    ) -> Result<(u16, String), HarnessError> {
        let url = format!("{}{path}", self.base_url());
        let auth = token.map(|t| format!("Bearer {t}"));
        let result = match method {
            "GET" => {
                let mut req = self.agent.get(&url);
                if let Some(auth) = &auth {
                    req = req.header("Authorization", auth);
                }
                req.call()
            }
            _ => {
                let mut req = self.agent.post(&url);
                if let Some(auth) = &auth {
                    req = req.header("Authorization", auth);
                }
                match payload {
                    Payload::None => req.send_empty(),
                    Payload::Json(value) => req.send_json(value),
                    Payload::Form(form) => req.send_form(form.iter().copied()),
                }
            }
        };
        let http_err =
            |source| HarnessError::Http { context: context.to_owned(), source: Box::new(source) };
        let mut response = result.map_err(http_err)?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().map_err(http_err)?;
        Ok((status, body))
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL; always reaps the process.
    fn stop(&self, grace: Duration) {
        if let Some(child) = lock(&self.child).take() {
            crate::process::terminate(child, grace);
        }
    }
}

impl Drop for HomeAssistant {
    fn drop(&mut self) {
        self.stop(DROP_GRACE);
    }
}

fn clone_payload<'a>(payload: &Payload<'a>) -> Payload<'a> {
    match payload {
        Payload::None => Payload::None,
        Payload::Json(value) => Payload::Json(value),
        Payload::Form(form) => Payload::Form(form),
    }
}

fn parse_json(context: &str, body: &str) -> Result<Value, HarnessError> {
    serde_json::from_str(body).map_err(|err| HarnessError::BadResponse {
        context: context.to_owned(),
        detail: format!("not JSON ({err}): {body}"),
    })
}

fn json_str(context: &str, value: &Value, key: &str) -> Result<String, HarnessError> {
    value.get(key).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
        HarnessError::BadResponse {
            context: context.to_owned(),
            detail: format!("no string {key:?} in {value}"),
        }
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A loopback port nobody listens on right now (the OS picks it; HA binds it moments later).
fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(io_err("binding 127.0.0.1:0 to pick a free port"))?;
    let addr = listener.local_addr().map_err(io_err("reading the picked port"))?;
    Ok(addr.port())
}

/// `configuration.yaml`: loopback HTTP on `port`, fixed location (no detection over the
/// network), logs at warning except MQTT at debug (discovery problems show up there), then
/// `extra` as given.
fn configuration_yaml(port: u16, extra: &str) -> String {
    let mut yaml = format!(
        "homeassistant:
  name: roomsense-e2e
  latitude: 52.0
  longitude: 5.0
  elevation: 0
  unit_system: metric
  time_zone: UTC
  country: NL
  currency: EUR
http:
  server_host: 127.0.0.1
  server_port: {port}
logger:
  default: warning
  logs:
    homeassistant.components.mqtt: debug
    homeassistant.bootstrap: info
"
    );
    yaml.push_str(extra);
    yaml
}

/// `.storage/core.config_entries` with one MQTT entry in the oldest storage format
/// (store 1.1, entry 1.1): HA's own migrations upgrade it, so it keeps working with newer
/// HA releases, while MQTT cannot be configured in YAML any more.
fn config_entries_json(mqtt: &MqttLogin) -> Value {
    let mut data = json!({ "broker": mqtt.host, "port": mqtt.port });
    if let Some(username) = &mqtt.username {
        data["username"] = json!(username);
    }
    if let Some(password) = &mqtt.password {
        data["password"] = json!(password);
    }
    json!({
        "version": 1,
        "minor_version": 1,
        "key": "core.config_entries",
        "data": { "entries": [{
            "entry_id": MQTT_ENTRY_ID,
            "version": 1,
            "domain": "mqtt",
            "title": mqtt.host,
            "source": "user",
            "options": {},
            "data": data,
        }]},
    })
}

fn write_config(
    dir: &Path,
    port: u16,
    mqtt: &MqttLogin,
    extra_yaml: &str,
) -> Result<(), HarnessError> {
    let write = |path: PathBuf, content: String| {
        File::create(&path)
            .and_then(|mut f| f.write_all(content.as_bytes()))
            .map_err(io_err(format!("writing {}", path.display())))
    };
    write(dir.join("configuration.yaml"), configuration_yaml(port, extra_yaml))?;
    let storage = dir.join(".storage");
    fs::create_dir_all(&storage).map_err(io_err(format!("creating {}", storage.display())))?;
    write(storage.join("core.config_entries"), config_entries_json(mqtt).to_string())
}

/// The part of the log after the latest start marker (all of it if there is none).
fn since_last_start(log: &str) -> &str {
    log.rfind(START_MARKER).map_or(log, |at| &log[at..])
}

/// The last `n` lines of `text`.
fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let tail = tail_lines(&text, 80);
        assert_eq!(tail.lines().count(), 80);
        assert!(tail.starts_with("line 21\n"));
        assert!(tail.ends_with("line 100"));
        assert_eq!(tail_lines("a\nb", 80), "a\nb");
        assert_eq!(tail_lines("", 80), "");
    }

    #[test]
    fn only_the_latest_run_counts() {
        let log = format!("{START_MARKER}\n{MQTT_CONNECTED} x\n{START_MARKER}\nstarting\n");
        assert!(!since_last_start(&log).contains(MQTT_CONNECTED));
        assert_eq!(since_last_start("no marker"), "no marker");
    }

    #[test]
    fn config_entry_has_credentials_only_when_given() {
        let anonymous = config_entries_json(&MqttLogin::anonymous("127.0.0.1", 1883));
        let entry = &anonymous["data"]["entries"][0];
        assert_eq!(entry["domain"], "mqtt");
        assert_eq!(entry["data"], json!({ "broker": "127.0.0.1", "port": 1883 }));
        assert_eq!(anonymous["version"], 1);
        assert_eq!(anonymous["minor_version"], 1);

        let login = MqttLogin {
            host: "127.0.0.1".into(),
            port: 18830,
            username: Some("ha".into()),
            password: Some("pw".into()),
        };
        let data = &config_entries_json(&login)["data"]["entries"][0]["data"];
        assert_eq!(data["username"], "ha");
        assert_eq!(data["password"], "pw");
    }

    #[test]
    fn configuration_binds_loopback_on_the_given_port() {
        let yaml = configuration_yaml(18123, "sensor:\n  - platform: mqtt_room\n");
        assert!(yaml.ends_with("\nsensor:\n  - platform: mqtt_room\n"), "{yaml}");
        assert!(yaml.contains("server_host: 127.0.0.1\n"));
        assert!(yaml.contains("server_port: 18123\n"));
        assert!(yaml.contains("homeassistant.components.mqtt: debug"));
    }

    #[test]
    fn write_config_lays_out_the_dir() {
        let dir = TempDir::new().expect("temp dir");
        write_config(dir.path(), 8123, &MqttLogin::anonymous("127.0.0.1", 1883), "")
            .expect("write");
        let stored =
            fs::read_to_string(dir.path().join(".storage/core.config_entries")).expect("read");
        let value: Value = serde_json::from_str(&stored).expect("json");
        assert_eq!(value["key"], "core.config_entries");
        assert!(dir.path().join("configuration.yaml").is_file());
    }

    #[test]
    fn entity_state_parses_ha_state_objects() {
        let value = json!({
            "entity_id": "sensor.x",
            "state": "21.5",
            "attributes": { "unit_of_measurement": "°C" },
            "last_changed": "2025-01-01T00:00:00+00:00",
        });
        let state = EntityState::from_json(&value).expect("state");
        assert_eq!(state.state, "21.5");
        assert_eq!(state.attributes["unit_of_measurement"], "°C");
        assert!(EntityState::from_json(&json!({ "attributes": {} })).is_none());
        assert!(state.to_string().contains("\"21.5\""));
    }

    #[test]
    fn free_port_is_nonzero_and_bindable() {
        let port = free_port().expect("port");
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("port should be free again");
    }

    #[test]
    fn missing_venv_is_reported_with_the_fix() {
        let dir = TempDir::new().expect("temp dir");
        let err = HomeAssistant::start(dir.path(), MqttLogin::anonymous("127.0.0.1", 1))
            .expect_err("no hass in an empty dir");
        assert!(matches!(err, HarnessError::VenvMissing { .. }));
        assert!(err.to_string().contains("tests/ha/setup-venv"), "{err}");
    }

    #[test]
    fn timeout_message_names_the_last_state_and_log() {
        let err = HarnessError::Timeout {
            what: "sensor.x to match the predicate".into(),
            waited: Duration::from_secs(2),
            last_seen: "state \"unavailable\" attributes {}".into(),
            log_tail: "ERROR something".into(),
        };
        let msg = err.to_string();
        assert!(
            msg.contains("sensor.x")
                && msg.contains("unavailable")
                && msg.contains("ERROR something")
        );
    }
}
