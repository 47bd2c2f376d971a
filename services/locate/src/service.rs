//! The locator's shell: ESPresense reports from every node → the [`Locator`] → what the
//! publisher says, through the link; the lease decides whether this locator publishes. The
//! only place in the crate that awaits.

use std::sync::Arc;
use std::time::Duration;

use roomsense_core::mqtt::Link;
use roomsense_core::{Context, Service, Stopped};
use tokio::sync::mpsc::Receiver;
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::config::Validated;
use crate::domain::lease::{Lease, LeaseClaim};
use crate::domain::locator::{Handled, Locator};
use crate::error::Error;
use crate::publish::payloads::{Stats, role_name};
use crate::publish::requests::{self, SetCommand};
use crate::publish::topics::{DEVICE_REPORTS, Topics, espresense_set};
use crate::publish::{Message, Publisher, entities};

/// How often time-outs, attributes, the lease and the counters are looked at.
const TICK: Duration = Duration::from_secs(1);
/// Calibration proposals are recomputed every this many ticks.
const CALIBRATION_TICKS: u64 = 30;
/// A receiver's proposal needs beacons from at least this many other nodes.
const MIN_TRANSMITTERS: usize = 2;
/// Reports waiting to be located; more are dropped and counted by the link.
const REPORT_QUEUE: usize = 4096;
/// Reports handled per wakeup. An update costs at most ~6 µs with 24 nodes (EVALUATION.md), so
/// a batch stays well under a millisecond: cheap enough not to need a blocking thread.
const BATCH: usize = 64;
/// Home Assistant asks for a random delay before re-announcing.
const MAX_REANNOUNCE_JITTER_MS: u64 = 5_000;

/// What the binary tells the locator besides its config.
#[derive(Debug, Clone)]
pub struct LocateSettings {
    /// The board model the node's device shows (the same as the node service says).
    pub model: String,
    /// Seed of the re-announcement delay (from the OS in the binary, a constant in tests).
    pub jitter_seed: u64,
}

/// The `locate` service.
#[derive(Debug)]
pub struct LocateService {
    ctx: Context,
    config: Validated,
    settings: LocateSettings,
}

impl LocateService {
    /// A locator on `ctx`'s link for the validated `[locate]` section. Does nothing until run.
    pub fn new(ctx: Context, config: Validated, settings: LocateSettings) -> Self {
        LocateService { ctx, config, settings }
    }
}

/// Everything the loop owns, so the select arms stay one line each.
#[derive(Debug)]
struct Shell {
    link: Link,
    topics: Topics,
    locator: Locator,
    lease: Lease,
    publisher: Publisher,
    started: Instant,
    rng: u64,
    out: Vec<Message>,
    last_stats: Vec<u8>,
    ticks: u64,
}

impl Service for LocateService {
    const NAME: &'static str = "locate";
    type Error = Error;

    async fn run(self, shutdown: CancellationToken) -> Result<Stopped, Error> {
        let LocateService { ctx, config, settings } = self;
        if config.house.nodes.is_empty() {
            return Err(Error::EmptyHouse);
        }
        let link = ctx.link.clone();
        let identity = link.identity().clone();
        let topics = Topics::new(&identity)?;
        let house = Arc::new(config.house);
        let publisher = Publisher::new(
            house.clone(),
            config.estimator.name(),
            identity.node_id(),
            entities::locator_discovery(&identity, &topics)?,
        );
        link.announce(&entities::node_diagnostics(&identity, &settings.model, &topics));
        let mut reports = link.subscribe(DEVICE_REPORTS, REPORT_QUEUE);
        let mut lease_messages = link.subscribe(topics.lease.as_str(), 16);
        let mut requests = link.subscribe(&topics.requests, 32);
        let mut apply = link.subscribe(topics.apply_calibration.as_str(), 4);
        let mut ha_status = link.subscribe(topics.ha_status.as_str(), 4);
        let mut shell = Shell {
            locator: Locator::new(house, config.settings.clone(), config.estimator),
            lease: Lease::new(identity.node_id(), config.settings.lease.clone()),
            publisher,
            link,
            topics,
            started: Instant::now(),
            rng: settings.jitter_seed | 1,
            out: Vec::new(),
            last_stats: Vec::new(),
            ticks: 0,
        };
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut reannounce_at: Option<Instant> = None;
        tracing::info!(
            service = Self::NAME,
            node = identity.node_id(),
            count = shell.locator.house().nodes.len(),
            "running"
        );
        loop {
            let reannounce = async {
                match reannounce_at {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => {
                    shell.release();
                    return Ok(Stopped::Shutdown);
                }
                Some(first) = reports.recv() => shell.reports(first, &mut reports),
                Some(m) = lease_messages.recv() => shell.lease_message(&m.payload),
                _ = ticker.tick() => {
                    shell.tick();
                    ctx.health.set(shell.link.is_connected());
                }
                Some(m) = requests.recv() => {
                    // Retained requests are stale commands; only the leader answers.
                    if !m.retain && shell.publisher.is_leader() {
                        shell.request(&m.topic, &m.payload);
                    }
                }
                Some(m) = apply.recv() => {
                    if !m.retain && m.payload == b"PRESS" && shell.publisher.is_leader() {
                        tracing::info!(service = Self::NAME, "apply calibration pressed");
                        let proposals = shell.proposals();
                        let (_, commands) = requests::answer("apply_calibration", b"", &proposals);
                        shell.send_settings(&commands);
                    }
                }
                Some(m) = ha_status.recv() => {
                    if m.payload == b"online" && shell.publisher.is_leader() {
                        reannounce_at = Some(Instant::now() + shell.jitter());
                    }
                }
                () = reannounce => {
                    reannounce_at = None;
                    shell.publisher.reannounce(&mut shell.out);
                }
            }
            shell.flush();
        }
    }
}

impl Shell {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Locates a bounded batch of reports.
    fn reports(
        &mut self,
        first: roomsense_core::mqtt::Incoming,
        rest: &mut Receiver<roomsense_core::mqtt::Incoming>,
    ) {
        let now = self.now_ms();
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(m) = next {
            match self.locator.handle(&m.topic, &m.payload, now) {
                Handled::Located(loc) => self.publisher.located(&self.topics, loc, &mut self.out),
                Handled::Rejected(why) => {
                    tracing::trace!(topic = %m.topic, error = why.name(), "report rejected");
                }
                Handled::Beacon | Handled::Ignored => {}
            }
            handled += 1;
            next = if handled < BATCH { rest.try_recv().ok() } else { None };
        }
    }

    fn lease_message(&mut self, payload: &[u8]) {
        let now = self.now_ms();
        if let Some(claim) = self.lease.observe(payload, now) {
            self.claim(&claim);
        }
        self.follow_lease();
    }

    fn tick(&mut self) {
        let now = self.now_ms();
        if let Some(claim) = self.lease.tick(now) {
            self.claim(&claim);
        }
        self.follow_lease();
        let (publisher, topics, out) = (&mut self.publisher, &self.topics, &mut self.out);
        self.locator.tick(now, |loc| publisher.located(topics, loc, out));
        self.publisher.tick(self.locator.devices(), &mut self.out);
        self.ticks += 1;
        if self.ticks.is_multiple_of(CALIBRATION_TICKS) {
            let proposals = self.proposals();
            self.publisher.calibration(&self.topics, &proposals, &mut self.out);
        }
        let stats = Stats::new(
            self.lease.role(),
            self.locator.devices().count(),
            self.locator.counters(),
            self.link.stats().incoming_dropped,
        )
        .to_bytes();
        if stats != self.last_stats {
            self.link.publish_state(&self.topics.stats, stats.clone(), true);
            self.last_stats = stats;
        }
    }

    fn claim(&self, claim: &LeaseClaim) {
        let payload = serde_json::to_vec(claim).expect("a lease claim should always serialize");
        self.link.publish_state(&self.topics.lease, payload, true);
    }

    /// Starts or stops publishing when the lease says so.
    fn follow_lease(&mut self) {
        match (self.lease.is_leader(), self.publisher.is_leader()) {
            (true, false) => {
                tracing::info!(service = "locate", count = self.publisher.devices(), "leading");
                self.publisher.lead(self.locator.devices(), &mut self.out);
                let proposals = self.proposals();
                self.publisher.calibration(&self.topics, &proposals, &mut self.out);
            }
            (false, true) => {
                tracing::info!(
                    service = "locate",
                    role = role_name(self.lease.role()),
                    "following"
                );
                self.publisher.follow();
            }
            _ => {}
        }
    }

    fn proposals(&self) -> Vec<crate::domain::calibration::CalibrationProposal> {
        self.locator.beacons().propose(self.locator.house(), MIN_TRANSMITTERS)
    }

    fn request(&mut self, topic: &str, payload: &[u8]) {
        let Some(command) = self.topics.command_of(topic) else { return };
        let (response, commands) = requests::answer(command, payload, &self.proposals());
        if let Some(error) = &response.error {
            tracing::debug!(topic, error = error.as_str(), "request refused");
        }
        self.send_settings(&commands);
        if let Some(topic) = self.topics.response(command) {
            self.link.publish_state(&topic, response.to_bytes(), false);
        }
    }

    /// The ESPresense `/set` commands: must-deliver, so a node that is briefly away gets them.
    fn send_settings(&self, commands: &[SetCommand]) {
        for c in commands {
            let Some(topic) = espresense_set(&c.node, c.setting) else { continue };
            tracing::info!(service = "locate", node = c.node.as_str(), topic = %topic, "calibration applied");
            if let Err(e) = self.link.publish_event(&topic, c.value.as_bytes(), false) {
                tracing::warn!(topic = %topic, error = %e, "calibration command not sent");
            }
        }
    }

    /// On shutdown the leader hands the lease back, so another locator takes over at once.
    fn release(&self) {
        if self.lease.is_leader() {
            self.link.publish_state(&self.topics.lease, Vec::new(), true);
        }
    }

    fn jitter(&mut self) -> Duration {
        // xorshift64: a spread, not secrecy; seeded by the caller (STYLE R5).
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        Duration::from_millis(self.rng % MAX_REANNOUNCE_JITTER_MS)
    }

    fn flush(&mut self) {
        for m in self.out.drain(..) {
            self.link.publish_state(&m.topic, m.payload, m.retain);
        }
    }
}
