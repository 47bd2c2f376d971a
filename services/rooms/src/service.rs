//! The rooms service's shell: evidence topics in, fusion and automations on a clock, occupancy,
//! evidence, commands and events out. The only place in the crate that awaits; it reads the
//! monotonic clock through tokio (so tests can pause it) and the local time of day for
//! automation conditions.

use std::time::Duration;

use roomsense_core::mqtt::{Incoming, Link};
use roomsense_core::{Context, Service, Stopped};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::domain::automation::{Automations, Outcome};
use crate::domain::decode::decode;
use crate::domain::fusion::{Fusion, RoomUpdate};
use crate::domain::house::{House, Occupancy, TimeOfDay};
use crate::publish::{command, discovery, fired_event};
use crate::sources::sim::{SimHouse, SimMessage};
use crate::topics::Topics;

/// What the rooms service is told by the binary.
#[derive(Debug, Clone)]
pub struct RoomsSettings {
    /// The validated `[rooms]` section.
    pub house: House,
    /// `[mqtt] topic_prefix`.
    pub topic_prefix: String,
}

/// The rooms service.
#[derive(Debug)]
pub struct RoomsService {
    ctx: Context,
    settings: RoomsSettings,
}

/// Messages waiting per subscription; more are dropped (and counted by the link).
const QUEUE: usize = 512;
/// How often health is refreshed.
const HEALTH_EVERY: Duration = Duration::from_secs(5);
/// Longest sleep when nothing is pending (the loop wakes for messages anyway).
const IDLE: Duration = Duration::from_secs(3600);
/// Retained states arrive right after subscribing: nothing is published before they are in, so
/// a restart does not flash an occupied room OFF (and fire "becomes empty" in Home Assistant).
const SETTLE: Duration = Duration::from_secs(2);

/// The local time of day, for automation conditions.
fn local_time_of_day() -> TimeOfDay {
    let now = jiff::Zoned::now();
    TimeOfDay(now.hour() as u16 * 60 + now.minute() as u16)
}

impl RoomsService {
    /// A rooms service on `ctx`'s link. Does nothing until run.
    pub fn new(ctx: Context, settings: RoomsSettings) -> Self {
        Self { ctx, settings }
    }
}

/// The running state: what the loop owns.
struct Shell {
    link: Link,
    topics: Topics,
    house: House,
    fusion: Fusion,
    automations: Automations,
    start: Instant,
    rejected: u64,
    /// Per room: the occupancy and count last published.
    published: Vec<Option<(bool, u32)>>,
    /// Whether the first publication is done (see [`SETTLE`]).
    settled: bool,
}

impl Shell {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn publish(&mut self, updates: Vec<RoomUpdate>, now: Duration) {
        if !self.settled {
            return;
        }
        for u in updates {
            let room = &self.house.rooms[u.room].id;
            let e = &u.evidence;
            // Occupancy and count only when they change; the evidence whenever it does.
            let last = self.published[u.room].replace((e.occupied, e.count));
            if last.map(|l| l.0) != Some(e.occupied)
                && let Some(topic) = self.topics.room(room, "occupancy")
            {
                self.link.publish_state(&topic, if e.occupied { "ON" } else { "OFF" }, true);
            }
            if last.map(|l| l.1) != Some(e.count)
                && let Some(topic) = self.topics.room(room, "count")
            {
                self.link.publish_state(&topic, e.count.to_string(), true);
            }
            if let Some(topic) = self.topics.room(room, "evidence") {
                let json = serde_json::to_vec(e).expect("evidence should serialize");
                self.link.publish_state(&topic, json, true);
            }
            if let Some(to) = u.became {
                tracing::info!(room = %room, count = e.count, reason = %e.reason, "room {}", to.as_str());
                let outcome = self.automations.room_changed(u.room, to, now, local_time_of_day());
                self.act(outcome);
            }
        }
    }

    fn act(&mut self, outcome: Outcome) {
        for s in outcome.skipped {
            tracing::debug!(rule = %s.rule, because = %s.because, "automation conditions not met");
        }
        for f in outcome.fired {
            let actions: Vec<String> = f.actions.iter().map(ToString::to_string).collect();
            tracing::info!(rule = %f.rule, trigger = %f.trigger, actions = ?actions, "automation fired");
            for a in &f.actions {
                if let Some(c) = command(&self.topics, a) {
                    // Newest wins: a command that waited out an outage is replaced by a later one.
                    self.link.publish_state(&c.topic, c.payload, c.retain);
                }
            }
            if let Some(topic) = self.topics.automation_event(&f.rule)
                && let Err(e) = self.link.publish_event(&topic, fired_event(&f), false)
            {
                tracing::warn!(topic = %topic, error = %e, "automation event not queued");
            }
        }
    }

    fn heard(&mut self, message: Incoming) {
        let Some(inbound) = self.topics.parse(&message.topic) else { return };
        let heard = match decode(inbound, &message.payload) {
            Ok(h) => h,
            Err(e) => {
                self.rejected += 1;
                tracing::debug!(topic = %message.topic, error = %e, count = self.rejected, "payload rejected");
                return;
            }
        };
        let now = self.now();
        if let Some(obs) = heard.observation {
            let updates = self.fusion.observe(obs, now);
            self.publish(updates, now);
        }
        if let Some((sensor, value)) = heard.value {
            let outcome = self.automations.sensor(&sensor, value, local_time_of_day());
            self.act(outcome);
        }
    }

    fn advance(&mut self) {
        let now = self.now();
        if !self.settled && now < SETTLE {
            self.fusion.advance(now);
            return;
        }
        if !self.settled {
            // The first publication: every room as it stands, and rooms already occupied are
            // news for the automations (they assumed every room empty).
            self.settled = true;
            self.fusion.republish();
            let updates = self.fusion.advance(now);
            let occupied: Vec<usize> =
                updates.iter().filter(|u| u.evidence.occupied).map(|u| u.room).collect();
            self.publish(updates, now);
            for room in occupied {
                let outcome = self.automations.room_changed(
                    room,
                    Occupancy::Occupied,
                    now,
                    local_time_of_day(),
                );
                self.act(outcome);
            }
        }
        let updates = self.fusion.advance(now);
        self.publish(updates, now);
        let outcome = self.automations.advance(now, local_time_of_day());
        self.act(outcome);
    }

    fn next_wakeup(&self) -> Instant {
        let now = self.now();
        let next = [self.fusion.next_wakeup(now), self.automations.next_deadline()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + IDLE);
        let next = if self.settled { next } else { next.min(SETTLE) };
        self.start + next.max(now)
    }
}

impl Service for RoomsService {
    const NAME: &'static str = "rooms";
    type Error = Error;

    async fn run(self, shutdown: CancellationToken) -> Result<Stopped, Error> {
        let Self { ctx, settings } = self;
        let identity = ctx.link.identity().clone();
        let topics = Topics::new(&settings.topic_prefix);
        ctx.link.announce(&discovery(&identity, &topics, &settings.house));
        let [a, b, c, d] = topics.filters();
        let (mut devices, mut vision, mut audio, mut gpio) = (
            ctx.link.subscribe(&a, QUEUE),
            ctx.link.subscribe(&b, QUEUE),
            ctx.link.subscribe(&c, QUEUE),
            ctx.link.subscribe(&d, QUEUE),
        );
        let mut shell = Shell {
            link: ctx.link.clone(),
            fusion: Fusion::new(&settings.house),
            automations: Automations::new(&settings.house, Duration::ZERO),
            published: vec![None; settings.house.rooms.len()],
            settled: false,
            house: settings.house,
            topics,
            start: Instant::now(),
            rejected: 0,
        };
        shell.advance();
        let mut health = tokio::time::interval(HEALTH_EVERY);
        health.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tracing::info!(
            service = Self::NAME,
            node = identity.node_id(),
            count = shell.house.rooms.len(),
            "running"
        );
        loop {
            let wake = shell.next_wakeup();
            tokio::select! {
                () = shutdown.cancelled() => return Ok(Stopped::Shutdown),
                Some(m) = devices.recv() => shell.heard(m),
                Some(m) = vision.recv() => shell.heard(m),
                Some(m) = audio.recv() => shell.heard(m),
                Some(m) = gpio.recv() => shell.heard(m),
                () = sleep_until(wake) => shell.advance(),
                _ = health.tick() => ctx.health.set(ctx.link.is_connected()),
            }
        }
    }
}

/// The demo's stand-in for the other services: plays a scripted day of people walking between
/// rooms (the locator's, cameras', mics' and inputs' topics), and answers relay and light
/// commands the way the GPIO service does, so the lights visibly follow.
#[derive(Debug)]
pub struct HouseSimulator {
    ctx: Context,
    sim: SimHouse,
    topics: Topics,
}

impl HouseSimulator {
    /// A simulator publishing on `ctx`'s link.
    pub fn new(ctx: Context, sim: SimHouse, topic_prefix: &str) -> Self {
        Self { ctx, sim, topics: Topics::new(topic_prefix) }
    }

    fn play(&self, m: &SimMessage) {
        match self.topics.under(&m.levels) {
            Some(topic) => self.ctx.link.publish_state(&topic, m.payload.clone(), m.retain),
            None => tracing::warn!(topic = %m.levels, "simulated topic refused"),
        }
    }
}

impl Service for HouseSimulator {
    const NAME: &'static str = "house-sim";
    type Error = Error;

    async fn run(self, shutdown: CancellationToken) -> Result<Stopped, Error> {
        let node = self.sim.node().to_owned();
        let commands_filter = format!("{}/{node}/gpio/+/set", self.topics.prefix());
        let mut commands: mpsc::Receiver<Incoming> = self.ctx.link.subscribe(&commands_filter, 64);
        let script = self.sim.script();
        let period = self.sim.period();
        let mut loop_start = Instant::now();
        let mut next = 0usize;
        loop {
            let at = match script.get(next) {
                Some(m) => loop_start + m.at,
                None => loop_start + period,
            };
            tokio::select! {
                () = shutdown.cancelled() => return Ok(Stopped::Shutdown),
                () = sleep_until(at) => {
                    match script.get(next) {
                        Some(m) => {
                            self.play(m);
                            next += 1;
                        }
                        None => {
                            loop_start += period;
                            next = 0;
                        }
                    }
                }
                Some(m) = commands.recv() => {
                    let Some(output) = m.topic.rsplit('/').nth(1) else { continue };
                    if !self.sim.outputs().iter().any(|o| o == output) {
                        continue;
                    }
                    // A light's JSON command carries its state; a relay's is the state itself.
                    let state = serde_json::from_slice::<serde_json::Value>(&m.payload)
                        .ok()
                        .and_then(|v| v.get("state").and_then(|s| s.as_str()).map(str::to_owned))
                        .unwrap_or_else(|| String::from_utf8_lossy(&m.payload).into_owned());
                    if let Some(topic) = self.topics.gpio_state(&node, output) {
                        self.ctx.link.publish_state(&topic, state, true);
                    }
                }
            }
        }
    }
}
