//! The demo's embedded MQTT broker (rumqttd) on loopback, so the demo needs nothing installed.
//! The image uses Mosquitto; this one exists only so a newcomer sees roomsense work.

use std::net::{SocketAddr, TcpListener};

use anyhow::Context as _;

/// Starts rumqttd on 127.0.0.1, on port 1883 when it is free, else on a free port; returns the
/// address. The broker runs on its own threads until the process exits.
pub(crate) fn start_embedded() -> anyhow::Result<SocketAddr> {
    let addr = free_loopback_addr()?;
    let config = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 100
max_outgoing_packet_count = 200
max_segment_size = 10485760
max_segment_count = 10

[v4.1]
name = "demo"
listen = "{addr}"
next_connection_delay_ms = 1
    [v4.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = 262144
    max_inflight_count = 100
    dynamic_filters = true
"#
    );
    let config: rumqttd::Config = toml_config(&config)?;
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("demo-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .context("cannot start the embedded broker's thread")?;
    wait_until_listening(addr)?;
    Ok(addr)
}

fn toml_config(text: &str) -> anyhow::Result<rumqttd::Config> {
    toml::from_str(text).context("embedded broker config should parse")
}

fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let preferred: SocketAddr = ([127, 0, 0, 1], 1883).into();
    if TcpListener::bind(preferred).is_ok() {
        return Ok(preferred);
    }
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .context("no free loopback port for the embedded broker")?;
    Ok(listener.local_addr()?)
}

fn wait_until_listening(addr: SocketAddr) -> anyhow::Result<()> {
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    anyhow::bail!("the embedded broker did not start listening on {addr}")
}
