//! The table of services, and how the binary runs a set of them: each with its own link, its
//! own task, its own health, restarted in place when it asks, all stopped by one token.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use roomsense_audio::{AudioService, Mic, SourceSpec};
use roomsense_ble::{BleInput, BleService, Speed};
use roomsense_core::mqtt::{Link, LinkOptions};
use roomsense_core::{Context, Health, Identity, Service, Stopped};
use roomsense_gpio::{GpioService, GpioSettings, LinuxBackend, Plan, SimBackend};
use roomsense_locate::{LocateService, LocateSettings};
use roomsense_node::{LinuxSystem, NodeService, NodeSettings, SimSystem};
use roomsense_rooms::{HouseSimulator, RoomsService, RoomsSettings, SimHouse};
use roomsense_vision::VisionService;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::RoomsenseConfig;

/// Real hardware (the image) or simulated (the demo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hardware {
    Real,
    Simulated,
}

/// Every service the binary knows, in start order.
pub(crate) const SERVICES: &[&str] = &[
    roomsense_core::NODE_SERVICE,
    BleService::NAME,
    GpioService::NAME,
    LocateService::NAME,
    ROOMS,
    VISION,
    AUDIO,
];

/// The rooms service's name.
pub(crate) const ROOMS: &str = "rooms";

/// The vision service's name.
pub(crate) const VISION: &str = "vision";

/// The audio service's name.
pub(crate) const AUDIO: &str = <AudioService as Service>::NAME;

/// The demo's simulated PIR walks from this seed, so every demo run trips alike.
const DEMO_SEED: u64 = 7;

/// Inputs the command line chose instead of the hardware.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inputs {
    /// `roomsense ble --replay FILE --speed N|max`.
    pub(crate) ble_replay: Option<(PathBuf, Speed)>,
}

/// How long services and links get to stop before the process gives up on them.
const STOP_DEADLINE: Duration = Duration::from_secs(8);

/// The model Home Assistant shows; every service of the node says the same.
fn model(hardware: Hardware) -> String {
    match hardware {
        Hardware::Real => "roomsense node".into(),
        Hardware::Simulated => "roomsense demo (simulated hardware)".into(),
    }
}

/// Builds a service from the config; called again when the service asks to be restarted.
fn build_node(config: &RoomsenseConfig, hardware: Hardware, ctx: Context) -> NodeService {
    let settings = NodeSettings {
        report_interval: Duration::from_secs(config.node.report_interval_s),
        services: SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        config_summary: config.summary(),
        model: model(hardware),
    };
    // The environment sensor (a BME280, simulated in the demo) is the GPIO service's.
    match hardware {
        Hardware::Real => {
            NodeService::new(ctx, settings, Box::new(LinuxSystem::new(&config.node.state_dir)))
        }
        Hardware::Simulated => NodeService::new(ctx, settings, Box::new(SimSystem)),
    }
}

/// The locator's validated house: one with nodes.
fn locate_house(
    config: &RoomsenseConfig,
) -> Result<roomsense_locate::Validated, roomsense_locate::Error> {
    let v = config.locate.validate().map_err(|problems| {
        roomsense_locate::Error::ConfigInvalid { file: "[locate]".into(), problems }
    })?;
    if v.house.nodes.is_empty() {
        return Err(roomsense_locate::Error::EmptyHouse);
    }
    Ok(v)
}

fn build_gpio(plan: &Plan, hardware: Hardware, ctx: Context) -> GpioService {
    let settings = GpioSettings { model: model(hardware) };
    let backend: Box<dyn roomsense_gpio::GpioBackend> = match hardware {
        Hardware::Real => Box::new(LinuxBackend::new()),
        Hardware::Simulated => Box::new(SimBackend::with_wandering_pir(DEMO_SEED)),
    };
    GpioService::new(ctx, plan.clone(), settings, backend)
}

/// The BLE service: the trace the command line named, the demo trace on simulated hardware,
/// BlueZ on real hardware (feature `bluez`).
fn ble_input(hardware: Hardware, inputs: &Inputs) -> anyhow::Result<BleInput> {
    if let Some((path, speed)) = &inputs.ble_replay {
        return Ok(BleInput::Replay { path: path.clone(), speed: *speed });
    }
    match hardware {
        Hardware::Simulated => Ok(BleInput::Demo),
        #[cfg(feature = "bluez")]
        Hardware::Real => Ok(BleInput::Bluez),
        #[cfg(not(feature = "bluez"))]
        Hardware::Real => Err(crate::no_bluez()),
    }
}

/// The audio service: the configured microphones, or the demo's recorded sentence.
fn build_audio(config: &RoomsenseConfig, hardware: Hardware, ctx: Context) -> AudioService {
    let mut settings = config.audio.settings();
    let model = match hardware {
        Hardware::Real => "roomsense node",
        Hardware::Simulated => {
            settings.mics = vec![Mic {
                id: "demo_mic".into(),
                name: "Demo microphone".into(),
                source: SourceSpec::Sample { pause: Duration::from_secs(12) },
                calibration_db: 0.0,
            }];
            "roomsense demo (simulated hardware)"
        }
    };
    AudioService::new(ctx, settings, model)
}

/// Runs `names` until `shutdown`; returns the health flags for the watchdog through `started`.
/// On real hardware a service that fails stops the process with its error (systemd restarts
/// it); in the demo it is logged and the others go on.
pub(crate) async fn run(
    config: RoomsenseConfig,
    names: &'static [&'static str],
    hardware: Hardware,
    inputs: Inputs,
    shutdown: CancellationToken,
    started: impl FnOnce(Vec<Health>),
) -> anyhow::Result<()> {
    let services = TaskTracker::new();
    let links = TaskTracker::new();
    let links_stop = CancellationToken::new();
    let mut health = Vec::new();
    let seed: u64 = rand::random();
    // Under systemd (real hardware) a service that fails takes the process down with a
    // non-zero exit, so the unit restarts; the demo logs it and goes on.
    let failed = CancellationToken::new();
    for (i, &name) in names.iter().enumerate() {
        // The house is checked before the locator gets a link, so `roomsense locate` on a
        // house without nodes exits at once with the reason instead of idling.
        let house = match (name == LocateService::NAME).then(|| locate_house(&config)) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(e)) if hardware == Hardware::Real => {
                return Err(e).context("cannot start the locator");
            }
            Some(Err(e)) => {
                tracing::error!(service = name, error = %e, "service not started");
                continue;
            }
        };
        let mut identity = Identity::new(&config.node, &config.mqtt, name);
        let ble = if name == BleService::NAME {
            let ble = (config.valid_ble()?, ble_input(hardware, &inputs)?);
            identity = BleService::identity(identity, &ble.0);
            Some(ble)
        } else {
            None
        };
        let options = LinkOptions {
            identity,
            mqtt: config.mqtt.clone(),
            state_dir: config.node.state_dir.clone(),
            jitter_seed: seed.wrapping_add(i as u64),
        };
        let (link, driver) = Link::open(options)
            .with_context(|| format!("cannot set up the {name} service's MQTT link"))?;
        links.spawn(driver.run(links_stop.clone()));
        let ctx = Context { link, health: Health::default() };
        health.push(ctx.health.clone());
        let config = config.clone();
        let token = shutdown.child_token();
        match name {
            roomsense_core::NODE_SERVICE => {
                services.spawn(supervise(name, token, failed.clone(), move || {
                    build_node(&config, hardware, ctx.clone())
                }));
            }
            LocateService::NAME => {
                let Some(house) = house else { continue };
                let settings = LocateSettings {
                    model: model(hardware),
                    jitter_seed: seed.wrapping_add(i as u64),
                };
                services.spawn(supervise(name, token, failed.clone(), move || {
                    LocateService::new(ctx.clone(), house.clone(), settings.clone())
                }));
            }
            ROOMS => {
                let settings = RoomsSettings {
                    house: config.house()?,
                    topic_prefix: config.mqtt.topic_prefix.clone(),
                };
                services.spawn(supervise(name, token.clone(), failed.clone(), move || {
                    RoomsService::new(ctx.clone(), settings.clone())
                }));
                if hardware == Hardware::Simulated {
                    // Until the locator, vision, audio and GPIO services run in the demo, a
                    // simulated house publishes what they would.
                    let identity = Identity::new(&config.node, &config.mqtt, "house-sim");
                    let options = LinkOptions {
                        identity,
                        mqtt: config.mqtt.clone(),
                        state_dir: config.node.state_dir.clone(),
                        jitter_seed: seed.wrapping_add(1000),
                    };
                    let (link, driver) = Link::open(options)
                        .context("cannot set up the simulated house's MQTT link")?;
                    links.spawn(driver.run(links_stop.clone()));
                    let sim_ctx = Context { link, health: Health::default() };
                    let sim = SimHouse::new(&config.node.id);
                    let prefix = config.mqtt.topic_prefix.clone();
                    services.spawn(supervise("house-sim", token, failed.clone(), move || {
                        HouseSimulator::new(sim_ctx.clone(), sim.clone(), &prefix)
                    }));
                }
            }
            GpioService::NAME => {
                let Some(plan) = config.gpio.plan(&mut Default::default()) else {
                    anyhow::bail!(
                        "the gpio service has nothing to drive: add a board and parts to [gpio]"
                    );
                };
                if plan.is_empty() {
                    tracing::warn!(service = name, "no parts in [gpio]");
                }
                services.spawn(supervise(name, token, failed.clone(), move || {
                    build_gpio(&plan, hardware, ctx.clone())
                }));
            }
            BleService::NAME => {
                let (ble, input) = ble.expect("the ble config should have been built above");
                services.spawn(supervise(name, token, failed.clone(), move || {
                    BleService::new(ctx.clone(), ble.clone(), input.clone(), model(hardware))
                }));
            }
            VISION => {
                // The demo's settings are not checked at load like a user's file: a problem
                // (its photos moved away) leaves the vision service out, not the demo.
                let settings = match config.vision.to_settings() {
                    Ok(s) => s,
                    Err(problems) => {
                        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
                        tracing::error!(service = name, error = %text.join("; "), "service left out");
                        continue;
                    }
                };
                let report = Duration::from_secs(config.node.report_interval_s);
                let model = model(hardware);
                services.spawn(supervise(name, token, failed.clone(), move || {
                    VisionService::new(ctx.clone(), settings.clone(), report, model.clone())
                }));
            }
            AUDIO => {
                services.spawn(supervise(name, token, failed.clone(), move || {
                    build_audio(&config, hardware, ctx.clone())
                }));
            }
            other => anyhow::bail!("unknown service `{other}`; known: {}", SERVICES.join(", ")),
        }
    }
    started(health);
    roomsense_core::runtime::notify_ready();
    let stop_all = async {
        match hardware {
            Hardware::Real => failed.cancelled().await,
            Hardware::Simulated => std::future::pending().await,
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = stop_all => shutdown.cancel(),
    }
    roomsense_core::runtime::notify_stopping();
    services.close();
    if tokio::time::timeout(STOP_DEADLINE, services.wait()).await.is_err() {
        tracing::warn!("services did not stop in time");
    }
    // Links go last, so `offline` is the last thing each service says.
    links_stop.cancel();
    links.close();
    if tokio::time::timeout(STOP_DEADLINE, links.wait()).await.is_err() {
        tracing::warn!("MQTT links did not close in time");
    }
    if failed.is_cancelled() && hardware == Hardware::Real {
        anyhow::bail!("a service stopped with an error (logged above)");
    }
    Ok(())
}

/// Runs one service, building it anew when it asks to be restarted; a service that fails is
/// logged by name and `failed` is cancelled (which stops the process on real hardware only).
async fn supervise<S, F>(
    name: &'static str,
    shutdown: CancellationToken,
    failed: CancellationToken,
    build: F,
) where
    S: Service,
    F: Fn() -> S + Send + 'static,
{
    loop {
        match build().run(shutdown.clone()).await {
            Ok(Stopped::Shutdown) => return,
            Ok(Stopped::RestartRequested) => tracing::info!(service = name, "restarting"),
            Err(e) => {
                tracing::error!(service = name, error = %e, "service stopped with an error");
                failed.cancel();
                return;
            }
        }
    }
}
