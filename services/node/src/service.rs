//! The node service's shell: reads the sources on a timer, answers management requests and the
//! restart button, publishes through its link. The only place in the crate that awaits.

use std::time::Duration;

use roomsense_core::{Context, Service, Stopped};
use serde_json::Value;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::domain::requests::{self, Action, Snapshot};
use crate::publish::{Topics, discovery};
use crate::sources::SystemSource;

/// What the node service is told by the binary.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// How often to publish the health values.
    pub report_interval: Duration,
    /// The services configured on this node (for `info`).
    pub services: Vec<String>,
    /// The configuration with secrets left out (for `info`).
    pub config_summary: Value,
    /// The board model Home Assistant shows.
    pub model: String,
}

/// The node service.
pub struct NodeService {
    ctx: Context,
    settings: NodeSettings,
    system: Box<dyn SystemSource>,
}

impl std::fmt::Debug for NodeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeService").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Requests waiting to be answered; more are dropped (and counted by the link).
const REQUEST_QUEUE: usize = 32;

impl NodeService {
    /// A node service on `ctx`'s link, reading `system`. Does nothing until run.
    pub fn new(ctx: Context, settings: NodeSettings, system: Box<dyn SystemSource>) -> Self {
        Self { ctx, settings, system }
    }

    fn publish_readings(&mut self, topics: &Topics, elapsed: Duration) {
        let link = &self.ctx.link;
        link.publish_state(&topics.version, roomsense_core::VERSION, true);
        link.publish_state(&topics.uptime, elapsed.as_secs().to_string(), true);
        let r = self.system.read();
        for (topic, value, digits) in [
            (&topics.cpu_temperature, r.cpu_temp_c, 1),
            (&topics.load, r.load_1m, 2),
            (&topics.memory, r.memory_used_pct, 1),
            (&topics.disk_free, r.disk_free_mib, 0),
        ] {
            if let Some(v) = value {
                link.publish_state(topic, format!("{v:.digits$}"), true);
            }
        }
    }

    fn snapshot(&self, uptime: Duration, refused: u64) -> Snapshot {
        let stats = self.ctx.link.stats();
        Snapshot {
            version: roomsense_core::VERSION.into(),
            node_id: self.ctx.link.identity().node_id().into(),
            uptime_s: uptime.as_secs(),
            services: self.settings.services.clone(),
            config_summary: self.settings.config_summary.clone(),
            mqtt_connected: stats.connected,
            outbox_len: stats.outbox_len,
            incoming_dropped: stats.incoming_dropped,
            requests_refused: refused,
        }
    }
}

impl Service for NodeService {
    const NAME: &'static str = roomsense_core::NODE_SERVICE;
    type Error = Error;

    async fn run(mut self, shutdown: CancellationToken) -> Result<Stopped, Error> {
        let started = Instant::now();
        let identity = self.ctx.link.identity().clone();
        let topics = Topics::new(&identity);
        let first = self.system.read();
        self.ctx.link.announce(&discovery(&identity, &topics, &self.settings.model, &first));
        let mut requests = self.ctx.link.subscribe(&topics.requests, REQUEST_QUEUE);
        let mut restart = self.ctx.link.subscribe(topics.restart.as_str(), 4);
        let mut ticker = tokio::time::interval(self.settings.report_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut refused = 0u64;
        tracing::info!(service = Self::NAME, node = identity.node_id(), "running");
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(Stopped::Shutdown),
                _ = ticker.tick() => {
                    self.ctx.health.set(self.ctx.link.is_connected());
                    self.publish_readings(&topics, started.elapsed());
                }
                Some(message) = requests.recv() => {
                    // Retained requests are stale commands from before we connected: ignored.
                    let Some(command) = topics.command_of(&message.topic).filter(|_| !message.retain) else { continue };
                    let (response, action) = requests::answer(command, &message.payload, &self.snapshot(started.elapsed(), refused));
                    if response.status == roomsense_core::api::Status::Error {
                        refused += 1;
                        tracing::debug!(topic = %message.topic, error = response.error.as_deref().unwrap_or(""), "request refused");
                    }
                    if let Some(topic) = topics.response(command) {
                        self.ctx.link.publish_state(&topic, response.to_bytes(), false);
                    }
                    if action == Some(Action::Restart) {
                        tracing::info!(service = Self::NAME, "restart requested over the API");
                        return Ok(Stopped::RestartRequested);
                    }
                }
                Some(message) = restart.recv() => {
                    if !message.retain && message.payload == b"PRESS" {
                        tracing::info!(service = Self::NAME, "restart button pressed");
                        return Ok(Stopped::RestartRequested);
                    }
                }
            }
        }
    }
}
