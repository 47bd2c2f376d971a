use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::Duration;

use roomsense_tests::mosquitto::Mosquitto;
use roomsense_tests::process::{notifications, roomsense, terminate};

#[test]
fn the_node_tells_systemd_it_is_ready_and_feeds_the_watchdog_only_while_healthy() {
    let mut broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("roomsense.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nid = \"wd\"\nroom = \"lab\"\nstate_dir = \"{}\"\nreport_interval_s = 1\n\n[mqtt]\nport = {}\nkeep_alive_s = 5\n",
            dir.path().join("state").display(),
            broker.port()
        ),
    )
    .unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let child = roomsense()
        .arg("--config")
        .arg(&config)
        .arg("node")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("roomsense node should start");

    let first = notifications(&socket, Duration::from_secs(4));
    assert!(first.iter().any(|n| n.contains("READY=1")), "{first:?}");
    assert!(first.iter().filter(|n| n.contains("WATCHDOG=1")).count() >= 3, "{first:?}");

    // The broker goes away: the node cannot do its job, so systemd should get to restart it.
    broker.stop();
    let _settling = notifications(&socket, Duration::from_secs(2));
    let unhealthy = notifications(&socket, Duration::from_secs(2));
    assert!(
        !unhealthy.iter().any(|n| n.contains("WATCHDOG=1")),
        "fed while unhealthy: {unhealthy:?}"
    );

    broker.restart();
    let healthy_again = notifications(&socket, Duration::from_secs(6));
    assert!(healthy_again.iter().any(|n| n.contains("WATCHDOG=1")), "{healthy_again:?}");

    terminate(child, Duration::from_secs(10));
    let last = notifications(&socket, Duration::from_millis(200));
    assert!(last.iter().any(|n| n.contains("STOPPING=1")), "{last:?}");
}
