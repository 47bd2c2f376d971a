//! The BlueZ source on a private system bus with python-dbusmock's `bluez5` template
//! (`reference/crates.md` §2.7): adverts arrive from property-change signals, the discovery
//! filter is LE/duplicate-data/RSSI −127, and a bluetoothd restart mid-run is survived.

use std::time::Duration;

use roomsense_ble::{
    AdvertisementSource, BluezOptions, BluezSource, NodeSettings, Now, SourceEvent, Tracker,
};
use roomsense_tests::bluez::{SystemBus, dbusmock_available};
use tokio::sync::mpsc;
use tokio::task::block_in_place;

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
    if !dbusmock_available() {
        eprintln!("skipped: needs dbus-daemon and python3-dbusmock (apt install python3-dbusmock)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let bus = SystemBus::start(dir.path());
    // SAFETY: set before the source or any other thread of this binary reads the environment.
    unsafe { std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", bus.address()) };

    let mut mock = bus.start_bluetoothd(&dir.path().join("mock1.log"));
    bus.drive(&["adapter"]);
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

    // The harness blocks while it waits or drives; the pump goes on on the other worker.
    block_in_place(|| {
        mock.wait_for_call("StartDiscovery");
        bus.drive(&["adverts", "5A:00:00:00:00:01", "5"]);
    });
    let first = adverts_from(&mut rx, "5a:00:00:00:00:01", 5).await;
    let log = mock.log();
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
    mock = bus.start_bluetoothd(&dir.path().join("mock2.log"));
    // Discovery re-armed on the new daemon, then adverts flow again.
    block_in_place(|| {
        bus.drive(&["adapter"]);
        mock.wait_for_call("StartDiscovery");
        bus.drive(&["adverts", "5A:00:00:00:00:02", "5"]);
    });
    adverts_from(&mut rx, "5a:00:00:00:00:02", 5).await;
    drop(mock);
    pump.abort();
}
