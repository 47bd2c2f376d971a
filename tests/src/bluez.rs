//! A stand-in for BlueZ: a private system bus (dbus-daemon from a config in a temp dir) with
//! python-dbusmock's `bluez5` template as bluetoothd, driven by `tests/bluez/drive.py`; each
//! child is killed when its handle drops. Used by roomsense-ble's D-Bus test and the e2e tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The driver of the mock: `adapter`, or `adverts ADDR N [RSSI [MINOR]]` (see the script).
const DRIVE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bluez/drive.py");

/// How long the mock may take to log a call. Generous: the test machines are loaded.
const LOG_WAIT: Duration = Duration::from_secs(30);

const BUS_CONF: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/><allow eavesdrop="true"/>
  </policy>
</busconfig>"#;

/// Whether this machine has dbus-daemon and python3-dbusmock; tests skip (or, where required,
/// fail) without them.
pub fn dbusmock_available() -> bool {
    let ok = |c: &mut Command| {
        c.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    };
    ok(Command::new("/usr/bin/python3").args(["-c", "import dbusmock"]))
        && ok(Command::new("dbus-daemon").arg("--version"))
}

/// Kills a child (dbus-daemon, the mock) when the test ends, however it ends.
#[derive(Debug)]
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private "system" bus: its socket and config in the caller's temp dir. Dropping it stops
/// the daemon.
#[derive(Debug)]
pub struct SystemBus {
    _daemon: Kill,
    address: String,
}

impl SystemBus {
    /// Starts dbus-daemon on `dir/system_bus_socket` and waits until it listens.
    pub fn start(dir: &Path) -> Self {
        let socket = dir.join("system_bus_socket");
        let conf = dir.join("bus.conf");
        let socket_path = socket.to_str().expect("the temp dir's path should be UTF-8");
        fs::write(&conf, BUS_CONF.replace("SOCKET", socket_path))
            .expect("the bus config should be writable");
        let daemon = Kill(
            Command::new("dbus-daemon")
                .arg(format!("--config-file={}", conf.display()))
                .arg("--nofork")
                .spawn()
                .expect("dbus-daemon should start (apt-get install dbus-daemon)"),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "dbus-daemon did not listen on {}",
                socket.display()
            );
            thread::sleep(Duration::from_millis(20));
        }
        Self { _daemon: daemon, address: format!("unix:path={}", socket.display()) }
    }

    /// The value for `DBUS_SYSTEM_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// bluetoothd, as python-dbusmock's bluez5 template on this bus, logging its calls to `log`.
    /// It has no adapter until [`SystemBus::drive`]`(&["adapter"])`.
    pub fn start_bluetoothd(&self, log: &Path) -> Bluetoothd {
        let file = fs::File::create(log).expect("the mock's log should be creatable");
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "dbusmock", "--system", "--template", "bluez5"])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m dbusmock should start (apt-get install python3-dbusmock)");
        Bluetoothd { _child: Kill(child), log: log.to_path_buf() }
    }

    /// Runs `drive.py args…` against the mock, retrying until it succeeds; blocks while it
    /// sends. Panics after a minute.
    pub fn drive(&self, args: &[&str]) {
        // The mock needs a moment to own its name after a (re)start; on a loaded machine
        // Python's own start-up takes seconds, so the deadline is generous.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = Command::new("/usr/bin/python3")
                .arg(DRIVE)
                .args(args)
                .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
                .output()
                .expect("python3 should start");
            if out.status.success() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "drive.py {args:?} should succeed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends adverts from several devices at once, each `ADDR N [RSSI [MINOR]]`.
    pub fn send_adverts(&self, devices: &[&[&str]]) {
        thread::scope(|s| {
            for args in devices {
                s.spawn(move || {
                    let mut all = vec!["adverts"];
                    all.extend_from_slice(args);
                    self.drive(&all);
                });
            }
        });
    }
}

/// The mock bluetoothd. Dropping it kills it (a bluetoothd crash, as the clients see it).
#[derive(Debug)]
pub struct Bluetoothd {
    _child: Kill,
    log: PathBuf,
}

impl Bluetoothd {
    /// The mock's log so far: every method call with its arguments.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the mock logged `needle` (e.g. `StartDiscovery`), instead of sleeping.
    pub fn wait_for_call(&self, needle: &str) {
        wait_for_text(&self.log, needle, LOG_WAIT);
    }
}

/// Waits until the file at `path` contains `needle`; panics with its text after `within`.
pub fn wait_for_text(path: &Path, needle: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
        assert!(
            Instant::now() < deadline,
            "{} should contain {needle}:\n{}",
            path.display(),
            fs::read_to_string(path).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(100));
    }
}
