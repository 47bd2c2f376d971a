//! The `roomsense` binary: parses the command line, loads the config, sets up logging, picks
//! the hardware, and runs services from the table in `services`. Nothing else lives here.

mod broker;
mod config;
mod demo;
mod live_view;
mod provision;
mod services;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::RoomsenseConfig;
use crate::services::Hardware;

/// roomsense: room presence from BLE, camera, microphone and sensors, over MQTT to Home Assistant.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The config file.
    #[arg(long, global = true, env = "ROOMSENSE_CONFIG", default_value = config::DEFAULT_PATH)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node service: the node's health entities and the management API.
    Node,
    /// Run every service on simulated hardware against an embedded broker: try it with nothing set up.
    Demo(demo::DemoArgs),
    /// Check a config file and exit: 0 when it is valid, 2 with every problem listed when not.
    CheckConfig {
        /// The file to check (default: --config).
        file: Option<PathBuf>,
    },
    /// First boot of the image: merge the SD card's roomsense.toml into the config, write Wi-Fi.
    Provision(provision::ProvisionArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The embedded broker logs every client that hangs up as an error: noise in a demo.
    let default_level =
        if matches!(cli.command, Command::Demo(_)) { "warn,rumqttd=off" } else { "info" };
    init_tracing(default_level);
    match cli.command {
        Command::CheckConfig { file } => check_config(&file.unwrap_or(cli.config)),
        Command::Node => serve(&cli.config, &[roomsense_core::NODE_SERVICE]),
        Command::Demo(args) => block_on(|shutdown| demo::run(args, shutdown)),
        Command::Provision(args) => match provision::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match RoomsenseConfig::load(path) {
        Ok(_) => {
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn serve(path: &std::path::Path, names: &'static [&'static str]) -> ExitCode {
    let config = match RoomsenseConfig::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    block_on(move |shutdown| async move {
        let watchdog_stop = shutdown.clone();
        services::run(config, names, Hardware::Real, shutdown, move |health| {
            tokio::spawn(roomsense_core::runtime::feed_watchdog(health, watchdog_stop));
        })
        .await
    })
}

fn block_on<F, Fut>(main: F) -> ExitCode
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(roomsense_core::runtime::cancel_on_signal(shutdown.clone()));
        match main(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}

/// `RUST_LOG`-style filters (default `info`, `warn` for the demo's live view); to journald
/// when systemd gave us a journal stream, else to stderr.
fn init_tracing(default_level: &str) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let journald = std::env::var_os("JOURNAL_STREAM").and_then(|_| tracing_journald::layer().ok());
    let registry = tracing_subscriber::registry().with(filter);
    match journald {
        Some(layer) => registry.with(layer).init(),
        None => registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).init(),
    }
}
