//! The `roomsense` binary: parses the command line, loads the config, sets up logging, picks
//! the hardware, and runs services from the table in `services`. Nothing else lives here.

mod broker;
mod broker_init;
mod config;
mod demo;
mod doctor;
mod live_view;
mod provision;
mod services;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use roomsense_core::Service as _;
use tokio_util::sync::CancellationToken;

use crate::config::RoomsenseConfig;
use crate::services::{Hardware, Inputs};

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
    /// Run the locator: each tracked device's room, from every node's ESPresense reports.
    Locate(LocateArgs),
    /// Run the rooms service: per-room occupancy from every signal, and local automations.
    Rooms,
    /// Run the GPIO service: relays, PWM LEDs, buzzers, PIR and door inputs, BME280 sensors.
    Gpio,
    /// Run the BLE presence node (ESPresense-compatible) on BlueZ, or on a recorded trace.
    Ble(BleArgs),
    /// Run the vision service (people per camera and zone); `vision detect IMAGE...` looks at photos.
    Vision(VisionArgs),
    /// Run the audio service: voice activity and sound level of the configured microphones.
    Audio {
        #[command(subcommand)]
        command: Option<AudioCommand>,
    },
    /// Run every service on simulated hardware against an embedded broker: try it with nothing set up.
    Demo(demo::DemoArgs),
    /// Check a config file and exit: 0 when it is valid, 2 with every problem listed when not.
    CheckConfig {
        /// The file to check (default: --config).
        file: Option<PathBuf>,
    },
    /// Set up the bundled Mosquitto.
    #[command(subcommand)]
    Broker(BrokerCommand),
    /// Check a broker the way an attacker would, and this board the way the broker needs it;
    /// exit 1 when something is unsafe, 2 when something is broken.
    Doctor(doctor::DoctorArgs),
    /// First boot of the image: merge the SD card's roomsense.toml into the config, write Wi-Fi.
    Provision(provision::ProvisionArgs),
}

#[derive(Debug, Subcommand)]
enum BrokerCommand {
    /// Make the logins, ACL, TLS certificate and mosquitto.conf from the config; safe to run
    /// again, keeps your edits unless --force.
    Init(broker_init::InitArgs),
}

/// `roomsense locate [replay|import-companion]`.
#[derive(Debug, clap::Args)]
struct LocateArgs {
    #[command(subcommand)]
    action: Option<LocateAction>,
}

#[derive(Debug, Subcommand)]
enum LocateAction {
    /// Replay a capture offline through the locator (deterministic, no broker); the house is
    /// the [locate] section of --config.
    Replay {
        /// What `mosquitto_sub -v -F %j -t 'espresense/#'` wrote.
        #[arg(long, value_name = "CAPTURE")]
        input: PathBuf,
        /// Where to write one JSON line per estimate (`ts_ms,id,room,floor,x,y,z,confidence`).
        #[arg(long, value_name = "ESTIMATES.jsonl")]
        out: PathBuf,
        /// nearest_node, multilateration or room_filter (default: the config's).
        #[arg(long, value_name = "NAME")]
        estimator: Option<String>,
    },
    /// Convert an ESPresense-companion config.yaml into a [locate] section, printed as TOML.
    ImportCompanion {
        /// The companion's config.yaml.
        file: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct BleArgs {
    /// Replay this JSONL trace instead of scanning with BlueZ (same config, broker and output).
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Replay speed: N times as recorded, or `max` (as fast as the pipeline goes, the trace's
    /// timestamps as the clock).
    #[arg(long, value_name = "N|max", requires = "replay", default_value = "1")]
    speed: roomsense_ble::Speed,
    #[command(subcommand)]
    command: Option<BleCommand>,
}

#[derive(Debug, Subcommand)]
enum BleCommand {
    /// Write every advertisement BlueZ reports to FILE (the trace format) until stopped.
    Record {
        /// The trace file to write.
        file: PathBuf,
    },
}

/// What `roomsense ble` says when the binary cannot scan.
#[cfg(not(feature = "bluez"))]
pub(crate) fn no_bluez() -> anyhow::Error {
    anyhow::anyhow!(
        "this roomsense was built without BlueZ support (cargo feature `bluez`); \
         rebuild with `--features bluez`, or replay a trace with `roomsense ble --replay FILE`"
    )
}

#[derive(Debug, clap::Args)]
struct VisionArgs {
    #[command(subcommand)]
    command: Option<VisionCommand>,
}

#[derive(Debug, Subcommand)]
enum VisionCommand {
    /// Print the people in each image (JPEG, PNG) as JSON, one object per line:
    /// {"image","persons":[{"score","box":[xmin,ymin,xmax,ymax]}],"ms"}, box normalised 0..1.
    Detect {
        /// The images.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// The folder holding vision.manifest.toml (default: as `[vision] models_dir`).
        #[arg(long)]
        models_dir: Option<PathBuf>,
        /// Keep people scoring at least this (default: the manifest's).
        #[arg(long)]
        threshold: Option<f32>,
    },
}

#[derive(Debug, Subcommand)]
enum AudioCommand {
    /// Print a WAV file's speech segments as JSON: {"file","segments":[{"start_s","end_s"}],"rtf"}.
    Vad {
        /// The WAV file (PCM or float, any rate, any channels).
        file: PathBuf,
        /// A model manifest instead of the built-in Silero VAD.
        #[arg(long)]
        model: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The embedded broker logs every client that hangs up as an error: noise in a demo.
    let default_level =
        if matches!(cli.command, Command::Demo(_)) { "warn,rumqttd=off" } else { "info" };
    init_tracing(default_level);
    match cli.command {
        Command::CheckConfig { file } => check_config(&file.unwrap_or(cli.config)),
        Command::Node => serve(&cli.config, &[roomsense_core::NODE_SERVICE], Inputs::default()),
        Command::Locate(LocateArgs { action: None }) => {
            serve(&cli.config, &[roomsense_locate::LocateService::NAME], Inputs::default())
        }
        Command::Locate(LocateArgs { action: Some(action) }) => locate_offline(&cli.config, action),
        Command::Rooms => serve(&cli.config, &[services::ROOMS], Inputs::default()),
        Command::Gpio => {
            serve(&cli.config, &[roomsense_gpio::GpioService::NAME], Inputs::default())
        }
        Command::Ble(BleArgs { command: Some(BleCommand::Record { file }), .. }) => {
            record(&cli.config, file)
        }
        Command::Ble(args) => {
            let inputs = Inputs { ble_replay: args.replay.map(|path| (path, args.speed)) };
            serve(
                &cli.config,
                &[<roomsense_ble::BleService as roomsense_core::Service>::NAME],
                inputs,
            )
        }
        Command::Vision(VisionArgs {
            command: Some(VisionCommand::Detect { images, models_dir, threshold }),
        }) => detect(&images, models_dir, threshold),
        Command::Vision(VisionArgs { command: None }) => {
            serve(&cli.config, &[services::VISION], Inputs::default())
        }
        Command::Audio { command: None } => {
            serve(&cli.config, &[services::AUDIO], Inputs::default())
        }
        Command::Audio { command: Some(AudioCommand::Vad { file, model }) } => {
            audio_vad(&file, model.as_deref())
        }
        Command::Demo(args) => block_on(|shutdown| demo::run(args, shutdown)),
        Command::Provision(args) => match provision::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Broker(BrokerCommand::Init(args)) => match RoomsenseConfig::load(&cli.config) {
            Ok(config) => broker_init::run(&config, &args),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Doctor(args) => {
            let config = if cli.config.exists() {
                match RoomsenseConfig::load(&cli.config) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                None
            };
            doctor::run(config.as_ref(), &args)
        }
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

/// `roomsense locate replay` and `import-companion`: files in, files out, no broker.
fn locate_offline(config: &std::path::Path, action: LocateAction) -> ExitCode {
    let result = match action {
        LocateAction::Replay { input, out, estimator } => estimator
            .map(|name| roomsense_locate::EstimatorKind::from_name(&name))
            .transpose()
            .and_then(|kind| roomsense_locate::replay_files(config, &input, &out, kind))
            .map(|stats| {
                let rejected: u64 = stats.counters.rejected.iter().sum();
                eprintln!(
                    "{} lines ({} unreadable), {} estimates written to {}, {} messages rejected",
                    stats.lines,
                    stats.bad_lines,
                    stats.estimates,
                    out.display(),
                    rejected
                );
            }),
        LocateAction::ImportCompanion { file } => std::fs::read_to_string(&file)
            .map_err(|source| roomsense_locate::Error::Io { file: file.clone(), source })
            .and_then(|yaml| roomsense_locate::import_companion(&yaml, &file))
            .map(|toml| print!("{toml}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn audio_vad(file: &std::path::Path, model: Option<&std::path::Path>) -> ExitCode {
    let model = match model {
        Some(m) => roomsense_audio::VadModel::load(m),
        None => roomsense_audio::VadModel::builtin(),
    };
    // The crate's errors carry their cause in their own message: print them, not the chain.
    let result = model.map_err(|e| e.to_string()).and_then(|model| {
        let rules = roomsense_audio::RuleOverrides::default().apply(model.manifest());
        roomsense_audio::analyze_file(file, &model, rules).map_err(|e| e.to_string())
    });
    match result {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report).expect("a report should serialize"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `roomsense vision detect`: exit 0 when every image was looked at, 1 when one was refused,
/// 2 when the model was.
fn detect(images: &[PathBuf], models_dir: Option<PathBuf>, threshold: Option<f32>) -> ExitCode {
    let dir = models_dir.unwrap_or_else(roomsense_vision::default_models_dir);
    let detector = match roomsense_vision::PersonDetector::load(&dir, "person") {
        Ok(d) => d.with_thresholds(threshold, None),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut refused = 0;
    for image in images {
        let report = roomsense_vision::detect_file(&detector, image);
        refused += usize::from(report.error.is_some());
        println!("{}", serde_json::to_string(&report).expect("a report should serialise"));
    }
    if refused == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn serve(path: &std::path::Path, names: &'static [&'static str], inputs: Inputs) -> ExitCode {
    let config = match RoomsenseConfig::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if names.contains(&services::VISION) && config.vision.cameras.is_empty() {
        eprintln!("error: {}: no cameras: add a [[vision.cameras]] table", path.display());
        return ExitCode::from(2);
    }
    block_on(move |shutdown| async move {
        let watchdog_stop = shutdown.clone();
        services::run(config, names, Hardware::Real, inputs, shutdown, move |health| {
            tokio::spawn(roomsense_core::runtime::feed_watchdog(health, watchdog_stop));
        })
        .await
    })
}

/// `roomsense ble record FILE`.
fn record(path: &std::path::Path, file: PathBuf) -> ExitCode {
    let config = match RoomsenseConfig::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    block_on(move |shutdown| async move {
        let ble = config.valid_ble()?;
        #[cfg(feature = "bluez")]
        {
            let n = roomsense_ble::record(&ble, &file, shutdown).await?;
            eprintln!("{}: {n} advertisements", file.display());
            Ok(())
        }
        #[cfg(not(feature = "bluez"))]
        {
            let _ = (ble, file, shutdown);
            Err(no_bluez())
        }
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
