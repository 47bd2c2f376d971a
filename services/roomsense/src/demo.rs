//! `roomsense demo`: every service on simulated hardware, against an embedded broker (or the
//! one `--broker` names), with a live view of what it publishes.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::Duration;

use roomsense_core::config::{MqttConfig, NodeConfig};
use roomsense_core::mqtt::Observer;
use roomsense_gpio::GpioConfig;
use tokio_util::sync::CancellationToken;

use crate::config::RoomsenseConfig;
use crate::services::{self, Hardware};

/// What `roomsense demo` was asked.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Use this broker (HOST:PORT) instead of starting an embedded one.
    #[arg(long, value_name = "HOST:PORT")]
    broker: Option<String>,
    /// User name for --broker.
    #[arg(long, requires = "broker")]
    username: Option<String>,
    /// Password for --broker.
    #[arg(long, requires = "username", env = "ROOMSENSE_DEMO_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// The demo node's id.
    #[arg(long, default_value = "demo")]
    node_id: String,
    /// No live view; log lines only (what a service manager or a test wants).
    #[arg(long)]
    quiet: bool,
}

pub(crate) async fn run(args: DemoArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let (host, port, embedded) = match &args.broker {
        Some(broker) => {
            let (host, port) = split_host_port(broker)?;
            (host, port, false)
        }
        None => {
            let addr: SocketAddr = crate::broker::start_embedded()?;
            (addr.ip().to_string(), addr.port(), true)
        }
    };
    let state = tempfile::Builder::new().prefix("roomsense-demo-").tempdir()?;
    let node = NodeConfig {
        id: args.node_id.clone(),
        room: "living_room".into(),
        name: Some("roomsense demo".into()),
        state_dir: state.path().to_path_buf(),
        report_interval_s: 5,
    };
    let mqtt = MqttConfig {
        host: host.clone(),
        port: Some(port),
        username: args.username.clone(),
        password: args.password.clone(),
        ..MqttConfig::default()
    };
    // The demo's microphone plays a recorded sentence every 16 s: voice ON, then OFF after 5 s.
    let audio = roomsense_audio::AudioConfig {
        voice_hold_s: 5,
        level_window_ms: 2000,
        ..roomsense_audio::AudioConfig::default()
    };
    let (rooms, _) = roomsense_rooms::RoomsConfig::from_toml(
        "demo rooms",
        &roomsense_rooms::SimHouse::new(&args.node_id).config(),
    )?;
    // No house is configured in the demo: the locator runs on the built-in one, whose
    // `living_room` node is the demo node's room.
    let config = RoomsenseConfig {
        node,
        mqtt,
        locate: roomsense_locate::demo_house(),
        broker: Default::default(),
        rooms,
        gpio: demo_gpio(),
        ble: roomsense_ble::BleConfig::demo(),
        vision: roomsense_vision::VisionConfig::demo(),
        audio,
    };
    // The demo's settings pass the same checks as a user's file.
    let mut problems = roomsense_core::config::Problems::default();
    config.validate(&mut problems);
    if !problems.is_empty() {
        let text: Vec<String> = problems.into_vec().iter().map(ToString::to_string).collect();
        anyhow::bail!("invalid demo arguments: {}", text.join("; "));
    }
    print_banner(&config, embedded);

    let view_stop = CancellationToken::new();
    let login = args.username.clone().map(|u| (u, args.password.clone().unwrap_or_default()));
    let prefix = &config.mqtt.topic_prefix;
    let own = format!("{prefix}/{}/#", config.node.id);
    let occupancy = format!("{prefix}/rooms/+/occupancy");
    let count = format!("{prefix}/rooms/+/count");
    let discovery = format!("{}/device/#", config.mqtt.discovery_prefix);
    let located = format!("{prefix}/devices/#");
    let (observer, mut messages) = Observer::new(
        &format!("{}-demo-view", config.node.id),
        &host,
        port,
        login,
        &[&own, &occupancy, &count, &located, &discovery, "espresense/#"],
        1024,
    );
    let view_task = tokio::spawn(observer.run(view_stop.clone()));
    let live = !args.quiet && std::io::stdout().is_terminal();
    let view = tokio::spawn(async move {
        let mut view = crate::live_view::LiveView::default();
        let mut redraw = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                message = messages.recv() => match message {
                    Some(m) => {
                        if let Some(line) = view.update(&m.topic, &m.payload).filter(|_| !live && !args.quiet) {
                            println!("{line}");
                        }
                    }
                    None => return,
                },
                _ = redraw.tick(), if live => {
                    print!("{}", view.redraw());
                    let _ = std::io::stdout().flush();
                }
            }
        }
    });

    let result = services::run(
        config,
        services::SERVICES,
        Hardware::Simulated,
        Default::default(),
        shutdown,
        |_| {},
    )
    .await;
    view_stop.cancel();
    let _ = view_task.await;
    view.abort();
    result
}

/// What the demo node has on its (simulated) header: the common parts of `hardware/wiring/`.
fn demo_gpio() -> GpioConfig {
    let text = r#"
board = "rpi-4b"

[[relay]]
name = "fan"
pin = 11

[[led]]
name = "lamp"
pin = 12

[[buzzer]]
name = "chime"
pin = 33

[[input]]
name = "motion"
pin = 16
hold_s = 10

[[input]]
name = "door"
pin = 18
device_class = "door"
pull = "up"

[[bme280]]
name = "environment"
interval_s = 5
"#;
    toml::from_str(text).expect("the demo's [gpio] section should parse (tested)")
}

fn split_host_port(broker: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = broker.rsplit_once(':').ok_or_else(|| {
        anyhow::anyhow!("--broker `{broker}` needs a port: HOST:PORT, e.g. 127.0.0.1:1883")
    })?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
        anyhow::anyhow!("--broker `{broker}`: `{port}` is not a port (1 to 65535)")
    })?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        anyhow::bail!("--broker `{broker}` needs a host: HOST:PORT, e.g. 127.0.0.1:1883");
    }
    Ok((host.to_owned(), port))
}

fn print_banner(config: &RoomsenseConfig, embedded: bool) {
    let host = &config.mqtt.host;
    let port = config.mqtt.port();
    let node = &config.node.id;
    let login = match &config.mqtt.username {
        Some(u) => format!(" -u {u} -P '<password>'"),
        None => String::new(),
    };
    println!("roomsense demo: node `{node}` on simulated hardware");
    println!(
        "broker: {host}:{port}{}",
        if embedded { " (embedded; pass --broker HOST:PORT to use yours)" } else { "" }
    );
    println!(
        "watch:  mosquitto_sub -h {host} -p {port}{login} -v -t 'roomsense/#' -t 'espresense/#' -t 'homeassistant/#'"
    );
    println!(
        "Home Assistant: add the MQTT integration with broker {host}, port {port}; the device `roomsense demo` appears"
    );
    println!("ctrl-c stops it\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demos_gpio_parts_fit_its_board() {
        let mut problems = roomsense_core::config::Problems::default();
        let plan = demo_gpio().plan(&mut problems);
        assert!(problems.is_empty(), "{:?}", problems.into_vec());
        assert_eq!(plan.unwrap().inputs.len(), 2);
    }

    #[test]
    fn broker_addresses_need_a_host_and_a_real_port() {
        assert_eq!(split_host_port("127.0.0.1:1883").unwrap(), ("127.0.0.1".into(), 1883));
        assert_eq!(split_host_port("[::1]:1884").unwrap(), ("::1".into(), 1884));
        assert!(split_host_port("localhost").is_err());
        assert!(split_host_port("localhost:0").is_err());
        assert!(split_host_port("localhost:99999").is_err());
        assert!(split_host_port(":1883").is_err());
    }
}
