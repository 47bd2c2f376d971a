//! The table of services, and how the binary runs a set of them: each with its own link, its
//! own task, its own health, restarted in place when it asks, all stopped by one token.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use roomsense_ble::{BleInput, BleService, Speed};
use roomsense_core::mqtt::{Link, LinkOptions};
use roomsense_core::{Context, Health, Identity, Service, Stopped};
use roomsense_node::{LinuxSystem, NodeService, NodeSettings, SimEnvironment, SimSystem};
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
pub(crate) const SERVICES: &[&str] = &[roomsense_core::NODE_SERVICE, BleService::NAME];

/// Inputs the command line chose instead of the hardware.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inputs {
    /// `roomsense ble --replay FILE --speed N|max`.
    pub(crate) ble_replay: Option<(PathBuf, Speed)>,
}

/// How long services and links get to stop before the process gives up on them.
const STOP_DEADLINE: Duration = Duration::from_secs(8);

/// Builds a service from the config; called again when the service asks to be restarted.
fn build_node(config: &RoomsenseConfig, hardware: Hardware, ctx: Context) -> NodeService {
    let settings = NodeSettings {
        report_interval: Duration::from_secs(config.node.report_interval_s),
        services: SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        config_summary: config.summary(),
        model: model(hardware),
    };
    match hardware {
        Hardware::Real => NodeService::new(
            ctx,
            settings,
            Box::new(LinuxSystem::new(&config.node.state_dir)),
            None,
        ),
        Hardware::Simulated => NodeService::new(
            ctx,
            settings,
            Box::new(SimSystem),
            Some(Box::new(SimEnvironment::new(config.node.id.len() as u64))),
        ),
    }
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

fn model(hardware: Hardware) -> String {
    match hardware {
        Hardware::Real => "roomsense node".into(),
        Hardware::Simulated => "roomsense demo (simulated hardware)".into(),
    }
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
    let failure: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();
    let services = TaskTracker::new();
    let links = TaskTracker::new();
    let links_stop = CancellationToken::new();
    let mut health = Vec::new();
    let seed: u64 = rand::random();
    for (i, &name) in names.iter().enumerate() {
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
                services.spawn(supervise(name, token, move || {
                    build_node(&config, hardware, ctx.clone())
                }));
            }
            BleService::NAME => {
                let (ble, input) = ble.expect("the ble config should have been built above");
                let failed =
                    (hardware == Hardware::Real).then(|| (failure.clone(), shutdown.clone()));
                services.spawn(async move {
                    let result = supervise(name, token, move || {
                        BleService::new(ctx.clone(), ble.clone(), input.clone(), model(hardware))
                    })
                    .await;
                    if let (Err(e), Some((failure, shutdown))) = (result, failed) {
                        *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        shutdown.cancel();
                    }
                });
            }
            other => anyhow::bail!("unknown service `{other}`; known: {}", SERVICES.join(", ")),
        }
    }
    started(health);
    roomsense_core::runtime::notify_ready();
    shutdown.cancelled().await;
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
    match failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Runs one service, building it anew when it asks to be restarted; a service that fails is
/// logged by name (and its error returned) and the others go on.
async fn supervise<S, F>(
    name: &'static str,
    shutdown: CancellationToken,
    build: F,
) -> anyhow::Result<()>
where
    S: Service,
    F: Fn() -> S + Send + 'static,
{
    loop {
        match build().run(shutdown.clone()).await {
            Ok(Stopped::Shutdown) => return Ok(()),
            Ok(Stopped::RestartRequested) => tracing::info!(service = name, "restarting"),
            Err(e) => {
                tracing::error!(service = name, error = %e, "service stopped with an error");
                // The service's errors already name their cause in their message.
                return Err(anyhow::anyhow!("the {name} service stopped: {e}"));
            }
        }
    }
}
