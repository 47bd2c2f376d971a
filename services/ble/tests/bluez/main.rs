//! The BlueZ source on a private system bus with python-dbusmock's `bluez5` template
//! (`reference/crates.md` §2.7): adverts arrive from property-change signals, the discovery
//! filter is LE/duplicate-data/RSSI −127, and a bluetoothd restart mid-run is survived.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use roomsense_ble::{
    AdvertisementSource, BluezOptions, BluezSource, NodeSettings, Now, SourceEvent, Tracker,
};
use tokio::sync::mpsc;

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

/// Kills the child when the test ends, however it ends.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have_dbusmock() -> bool {
    let ok = |c: &mut Command| {
        c.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    };
    ok(Command::new("/usr/bin/python3").args(["-c", "import dbusmock"]))
        && ok(Command::new("dbus-daemon").arg("--version"))
}

fn start_mock(log: &Path) -> Kill {
    let log = std::fs::File::create(log).expect("mock log should be creatable");
    Kill(
        Command::new("/usr/bin/python3")
            .args(["-m", "dbusmock", "--system", "--template", "bluez5"])
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("dbusmock should start"),
    )
}

fn drive(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bluez/drive.py");
    // The mock needs a moment to own its name after a (re)start; on a loaded machine Python's
    // own start-up takes seconds, so the deadline is generous.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("/usr/bin/python3")
            .arg(script)
            .args(args)
            .output()
            .expect("python3 should start");
        if out.status.success() {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!("drive.py {args:?} should succeed: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the mock logged `needle` (e.g. our `StartDiscovery`), instead of sleeping.
async fn wait_for_log(path: &Path, needle: &str) {
    for _ in 0..200 {
        if std::fs::read_to_string(path).is_ok_and(|l| l.contains(needle)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} should contain {needle}", path.display());
}

async fn adverts_from(
    rx: &mut mpsc::UnboundedReceiver<roomsense_ble::Advertisement>,
    addr: &str,
    n: usize,
) -> Vec<roomsense_ble::Advertisement> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.len() < n {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(a)) if a.addr.to_string() == addr && !a.mfg.is_empty() => got.push(a),
            Ok(Some(_)) => {}
            _ => panic!("expected {n} adverts from {addr}, got {}", got.len()),
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adverts_flow_from_bluez_signals_and_survive_a_bluetoothd_restart() {
    if !have_dbusmock() {
        eprintln!("skipped: needs dbus-daemon and python3-dbusmock (apt install python3-dbusmock)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("system_bus_socket");
    let conf = dir.path().join("bus.conf");
    std::fs::write(&conf, BUS_CONF.replace("SOCKET", socket.to_str().unwrap())).unwrap();
    let _bus = Kill(
        Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .arg("--nofork")
            .spawn()
            .expect("dbus-daemon should start"),
    );
    for _ in 0..400 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: set before the source or any other thread of this binary reads the environment.
    unsafe {
        std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", format!("unix:path={}", socket.display()))
    };

    let mut mock = start_mock(&dir.path().join("mock1.log"));
    drive(&["adapter"]);
    let opts = BluezOptions { retry_after: Duration::from_millis(500), ..BluezOptions::default() };
    let mut source = BluezSource::new(opts).await.expect("source should connect");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        while let Ok(Some(ev)) = source.next_event().await {
            if let SourceEvent::Advert(a) = ev
                && tx.send(a).is_err()
            {
                break;
            }
        }
    });

    wait_for_log(&dir.path().join("mock1.log"), "StartDiscovery").await;
    tokio::task::spawn_blocking(|| drive(&["adverts", "5A:00:00:00:00:01", "5"])).await.unwrap();
    let first = adverts_from(&mut rx, "5a:00:00:00:00:01", 5).await;
    let log = std::fs::read_to_string(dir.path().join("mock1.log")).unwrap();
    assert!(
        log.contains(r#""RSSI": -127"#)
            && log.contains(r#""Transport": "le""#)
            && log.contains(r#""DuplicateData": True"#),
        "{log}"
    );

    // The pipeline sees an iBeacon with the advertised RSSI.
    let mut t = Tracker::new(NodeSettings { skip_ms: 0, ..NodeSettings::default() }, 100);
    let r = t.handle(&first[0], Now::from_wall(first[0].ts_ms)).expect("an ibeacon is reported");
    assert_eq!(r.id, "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-2");

    // bluetoothd (the mock) restarts: discovery must be re-armed on the new daemon.
    drop(mock);
    mock = start_mock(&dir.path().join("mock2.log"));
    tokio::task::spawn_blocking(|| drive(&["adapter"])).await.unwrap();
    // Discovery re-armed on the new daemon, then adverts flow again.
    wait_for_log(&dir.path().join("mock2.log"), "StartDiscovery").await;
    tokio::task::spawn_blocking(|| drive(&["adverts", "5A:00:00:00:00:02", "5"])).await.unwrap();
    adverts_from(&mut rx, "5a:00:00:00:00:02", 5).await;
    drop(mock);
    pump.abort();
}
