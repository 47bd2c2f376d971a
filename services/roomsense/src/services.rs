//! The table of services, and how the binary runs a set of them: each with its own link, its
//! own task, its own health, restarted in place when it asks, all stopped by one token.

use std::time::Duration;

use anyhow::Context as _;
use roomsense_audio::{AudioService, Mic, SourceSpec};
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
pub(crate) const SERVICES: &[&str] = &[roomsense_core::NODE_SERVICE, AUDIO];

/// The audio service's name.
pub(crate) const AUDIO: &str = <AudioService as Service>::NAME;

/// How long services and links get to stop before the process gives up on them.
const STOP_DEADLINE: Duration = Duration::from_secs(8);

/// Builds a service from the config; called again when the service asks to be restarted.
fn build_node(config: &RoomsenseConfig, hardware: Hardware, ctx: Context) -> NodeService {
    let settings = NodeSettings {
        report_interval: Duration::from_secs(config.node.report_interval_s),
        services: SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        config_summary: config.summary(),
        model: match hardware {
            Hardware::Real => "roomsense node".into(),
            Hardware::Simulated => "roomsense demo (simulated hardware)".into(),
        },
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
pub(crate) async fn run(
    config: RoomsenseConfig,
    names: &'static [&'static str],
    hardware: Hardware,
    shutdown: CancellationToken,
    started: impl FnOnce(Vec<Health>),
) -> anyhow::Result<()> {
    let services = TaskTracker::new();
    let links = TaskTracker::new();
    let links_stop = CancellationToken::new();
    let mut health = Vec::new();
    let seed: u64 = rand::random();
    for (i, &name) in names.iter().enumerate() {
        let identity = Identity::new(&config.node, &config.mqtt, name);
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
            AUDIO => {
                services.spawn(supervise(name, token, move || {
                    build_audio(&config, hardware, ctx.clone())
                }));
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
    Ok(())
}

/// Runs one service, building it anew when it asks to be restarted; a service that fails is
/// logged by name and the others go on.
async fn supervise<S, F>(name: &'static str, shutdown: CancellationToken, build: F)
where
    S: Service,
    F: Fn() -> S + Send + 'static,
{
    loop {
        match build().run(shutdown.clone()).await {
            Ok(Stopped::Shutdown) => return,
            Ok(Stopped::RestartRequested) => tracing::info!(service = name, "restarting"),
            Err(e) => {
                tracing::error!(service = name, error = %e, "service stopped with an error");
                return;
            }
        }
    }
}
