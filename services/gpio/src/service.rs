//! The GPIO service's shell: opens every part on the backend, then one `select!` over
//! commands, input edges, the next timer of any part, and shutdown. The only place in the
//! crate that awaits.

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use roomsense_core::api::Response;
use roomsense_core::mqtt::Incoming;
use roomsense_core::{Context, Service, Stopped};
use serde_json::json;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::config::{BuzzerPlan, LedPlan, Plan, SensorPlan};
use crate::domain::buzzer::{Buzzer, BuzzerEffects, Sound};
use crate::domain::command::{self, BuzzerCommand, Refused, SwitchCommand};
use crate::domain::environment::calibrate;
use crate::domain::input::BinaryInput;
use crate::domain::light::{Light, LightEffects};
use crate::domain::relay::{Relay, RelayEffects};
use crate::error::Error;
use crate::publish::{Topics, discovery, light_state, on_off, reading};
use crate::sources::{DigitalIn, DigitalOut, Edge, EnvironmentSensor, GpioBackend, PwmOut};

/// What the binary tells the service besides its plan.
#[derive(Debug, Clone)]
pub struct GpioSettings {
    /// The board model Home Assistant shows (the same on every service of the node).
    pub model: String,
}

/// The GPIO service.
pub struct GpioService {
    ctx: Context,
    plan: Plan,
    settings: GpioSettings,
    backend: Box<dyn GpioBackend>,
}

impl std::fmt::Debug for GpioService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpioService").field("board", &self.plan.board.id).finish_non_exhaustive()
    }
}

/// Commands waiting to be handled; more are dropped (and counted by the link).
const COMMAND_QUEUE: usize = 64;
/// How often health is re-evaluated.
const HEALTH_EVERY: Duration = Duration::from_secs(5);

impl GpioService {
    /// A service driving `plan`'s parts on `backend`. Does nothing until run.
    pub fn new(
        ctx: Context,
        plan: Plan,
        settings: GpioSettings,
        backend: Box<dyn GpioBackend>,
    ) -> Self {
        Self { ctx, plan, settings, backend }
    }
}

struct RelayPart {
    name: String,
    relay: Relay,
    out: Box<dyn DigitalOut>,
    stopped: bool,
}

impl Drop for RelayPart {
    fn drop(&mut self) {
        // A panic unwinding through the service, or a part that failed to open after this
        // one: leave the relay safe.
        if !self.stopped
            && let Some(level) = self.relay.shutdown().set
        {
            let _ = self.out.set(level);
        }
    }
}

struct LedPart {
    plan: LedPlan,
    light: Light,
    pwm: Box<dyn PwmOut>,
}

struct BuzzerPart {
    plan: BuzzerPlan,
    buzzer: Buzzer,
    pwm: Box<dyn PwmOut>,
}

struct InputPart {
    name: String,
    input: BinaryInput,
}

struct SensorPart {
    plan: SensorPlan,
    sensor: Box<dyn EnvironmentSensor>,
    next: Instant,
}

/// A part that takes commands.
#[derive(Debug, Clone, Copy)]
enum Commandable {
    Relay(usize),
    Led(usize),
    Buzzer(usize),
}

/// Every part, opened; `lines` are kept apart so their edge futures can borrow them while
/// the rest changes.
struct Parts {
    relays: Vec<RelayPart>,
    leds: Vec<LedPart>,
    buzzers: Vec<BuzzerPart>,
    inputs: Vec<InputPart>,
    sensors: Vec<SensorPart>,
    by_name: BTreeMap<String, Commandable>,
}

/// What went wrong at run time, for the `errors` entity and health.
#[derive(Debug, Default)]
struct Counters {
    errors: u64,
    published: u64,
    failing: bool,
}

impl GpioService {
    fn open(&mut self, now: Instant) -> Result<(Parts, Vec<Box<dyn DigitalIn>>), Error> {
        let b = &mut self.backend;
        let mut parts = Parts {
            relays: Vec::new(),
            leds: Vec::new(),
            buzzers: Vec::new(),
            inputs: Vec::new(),
            sensors: Vec::new(),
            by_name: BTreeMap::new(),
        };
        for r in &self.plan.relays {
            let relay = Relay::new(r.startup, r.safe_state, r.auto_off);
            let out =
                b.output(&format!("relay {}", r.name), &r.line, r.active_low, relay.initial())?;
            parts.by_name.insert(r.name.clone(), Commandable::Relay(parts.relays.len()));
            parts.relays.push(RelayPart { name: r.name.clone(), relay, out, stopped: false });
        }
        for l in &self.plan.leds {
            let pwm = b.pwm(&format!("led {}", l.name), &l.pwm)?;
            parts.by_name.insert(l.name.clone(), Commandable::Led(parts.leds.len()));
            parts.leds.push(LedPart { plan: l.clone(), light: Light::new(l.fade), pwm });
        }
        for z in &self.plan.buzzers {
            let pwm = b.pwm(&format!("buzzer {}", z.name), &z.pwm)?;
            parts.by_name.insert(z.name.clone(), Commandable::Buzzer(parts.buzzers.len()));
            parts.buzzers.push(BuzzerPart { plan: z.clone(), buzzer: Buzzer::new(), pwm });
        }
        let mut lines = Vec::new();
        for i in &self.plan.inputs {
            let part = format!("input {}", i.name);
            let mut line = b.input(&part, i)?;
            let level = line.level()?;
            let debounce = if line.debounced() { Duration::ZERO } else { i.debounce };
            parts.inputs.push(InputPart {
                name: i.name.clone(),
                input: BinaryInput::new(level, debounce, i.hold),
            });
            lines.push(line);
        }
        for s in &self.plan.sensors {
            let sensor = b.environment(&format!("bme280 {}", s.name), s)?;
            parts.sensors.push(SensorPart { plan: s.clone(), sensor, next: now });
        }
        Ok((parts, lines))
    }
}

impl Service for GpioService {
    const NAME: &'static str = "gpio";
    type Error = Error;

    async fn run(mut self, shutdown: CancellationToken) -> Result<Stopped, Error> {
        let identity = self.ctx.link.identity().clone();
        let topics = Topics::new(&identity);
        let now = Instant::now();
        // Everything is opened before anything is announced: a part that cannot be opened
        // stops the service with an error naming it, and the relays opened so far are
        // dropped back to their safe state.
        let (mut parts, mut lines) = self.open(now)?;
        self.ctx.link.announce(&discovery(&identity, &topics, &self.settings.model, &self.plan));
        let mut commands = self.ctx.link.subscribe(&topics.set_filter, COMMAND_QUEUE);
        let mut counters = Counters::default();
        let shell = Shell { ctx: &self.ctx, topics: &topics };
        shell.start(&mut parts, &mut counters, now);
        let mut health = tokio::time::interval(HEALTH_EVERY);
        tracing::info!(
            service = Self::NAME,
            node = identity.node_id(),
            count = parts.by_name.len() + lines.len() + parts.sensors.len(),
            "running"
        );
        loop {
            let deadline = parts.deadline();
            let timer = async {
                match deadline {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(message) = commands.recv() => shell.command(&mut parts, &mut counters, message),
                (i, edge) = next_edge(&mut lines) => match edge {
                    Ok(edge) => shell.edge(&mut parts, &mut counters, i, edge),
                    Err(e) => {
                        counters.failed(&e);
                        // A line that keeps failing would spin: give it a moment.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                },
                () = timer => shell.poll(&mut parts, &mut counters, Instant::now()),
                _ = health.tick() => {
                    self.ctx.health.set(self.ctx.link.is_connected() && !counters.failing);
                    counters.failing = false;
                }
            }
            if counters.errors != counters.published {
                counters.published = counters.errors;
                self.ctx.link.publish_state(&topics.errors(), counters.errors.to_string(), true);
            }
        }
        shell.stop(&mut parts, &mut counters);
        Ok(Stopped::Shutdown)
    }
}

/// The first edge of any input line. Each line's future is cancel-safe, so the ones that
/// did not win lose nothing when dropped.
async fn next_edge(lines: &mut [Box<dyn DigitalIn>]) -> (usize, Result<Edge, Error>) {
    if lines.is_empty() {
        return std::future::pending().await;
    }
    let mut futures: Vec<_> = lines.iter_mut().map(|l| l.next_edge()).collect();
    poll_fn(|cx| {
        for (i, f) in futures.iter_mut().enumerate() {
            if let Poll::Ready(r) = f.as_mut().poll(cx) {
                return Poll::Ready((i, r));
            }
        }
        Poll::Pending
    })
    .await
}

impl Parts {
    fn deadline(&self) -> Option<Instant> {
        let relays = self.relays.iter().filter_map(|r| r.relay.deadline());
        let leds = self.leds.iter().filter_map(|l| l.light.deadline());
        let buzzers = self.buzzers.iter().filter_map(|b| b.buzzer.deadline());
        let inputs = self.inputs.iter().filter_map(|i| i.input.deadline());
        let sensors = self.sensors.iter().map(|s| s.next);
        relays.chain(leds).chain(buzzers).chain(inputs).chain(sensors).min()
    }
}

impl Counters {
    fn failed(&mut self, e: &Error) {
        self.errors += 1;
        self.failing = true;
        tracing::warn!(error = %e, count = self.errors, "hardware error");
    }
}

/// The handlers the loop calls: each applies a domain decision to the hardware and the link.
struct Shell<'a> {
    ctx: &'a Context,
    topics: &'a Topics,
}

impl Shell<'_> {
    fn start(&self, parts: &mut Parts, counters: &mut Counters, now: Instant) {
        for r in &mut parts.relays {
            let e = r.relay.start(now);
            self.relay(r, counters, e);
        }
        for l in &parts.leds {
            self.ctx.link.publish_state(
                &self.topics.state(&l.plan.name),
                light_state(l.light.state()),
                true,
            );
        }
        for b in &parts.buzzers {
            self.ctx.link.publish_state(&self.topics.state(&b.plan.name), "idle", true);
        }
        for i in &parts.inputs {
            self.input_state(&i.name, i.input.state());
        }
        self.ctx.link.publish_state(&self.topics.errors(), counters.errors.to_string(), true);
    }

    fn stop(&self, parts: &mut Parts, counters: &mut Counters) {
        for r in &mut parts.relays {
            let e = r.relay.shutdown();
            self.relay(r, counters, e);
            r.stopped = true;
        }
        for l in &mut parts.leds {
            if let Err(e) = l.pwm.set(period_of(l.plan.frequency_hz), 0.0, false) {
                counters.failed(&e);
            }
        }
        for b in &mut parts.buzzers {
            let e = b.buzzer.stop();
            self.buzzer(b, counters, e);
        }
    }

    fn relay(&self, r: &mut RelayPart, counters: &mut Counters, e: RelayEffects) {
        if let Some(level) = e.set
            && let Err(err) = r.out.set(level)
        {
            counters.failed(&err);
        }
        if let Some(on) = e.publish {
            self.ctx.link.publish_state(&self.topics.state(&r.name), on_off(on), true);
        }
    }

    fn led(&self, l: &mut LedPart, counters: &mut Counters, e: LightEffects) {
        if let Some(duty) = e.duty
            && let Err(err) = l.pwm.set(period_of(l.plan.frequency_hz), duty, duty > 0.0)
        {
            counters.failed(&err);
        }
        if let Some(s) = e.publish {
            self.ctx.link.publish_state(&self.topics.state(&l.plan.name), light_state(s), true);
        }
    }

    fn buzzer(&self, b: &mut BuzzerPart, counters: &mut Counters, e: BuzzerEffects) {
        let result = match e.sound {
            Some(Sound::Tone(hz)) => b.pwm.set(period_of(hz), 0.5, true),
            Some(Sound::Silent) => b.pwm.set(period_of(1000), 0.0, false),
            None => Ok(()),
        };
        if let Err(err) = result {
            counters.failed(&err);
        }
        if let Some(playing) = e.publish {
            let text = playing.as_deref().unwrap_or("idle").to_owned();
            self.ctx.link.publish_state(&self.topics.state(&b.plan.name), text, true);
        }
    }

    /// Input states go through the must-deliver outbox, all of them, so they arrive in order.
    fn input_state(&self, name: &str, on: bool) {
        if let Err(e) = self.ctx.link.publish_event(&self.topics.state(name), on_off(on), true) {
            tracing::error!(device = name, error = %e, "input state not queued");
        }
    }

    fn command(&self, parts: &mut Parts, counters: &mut Counters, message: Incoming) {
        // Retained commands are stale: from before we connected.
        if message.retain {
            return;
        }
        let Some(name) = self.topics.part_of_set(&message.topic) else { return };
        let Some(&target) = parts.by_name.get(name) else {
            tracing::debug!(topic = %message.topic, "command for no part");
            return;
        };
        let now = Instant::now();
        let answer = match target {
            Commandable::Relay(i) => {
                let r = &mut parts.relays[i];
                command::switch(&message.payload).map(|p| {
                    let on = match p.command {
                        SwitchCommand::On => true,
                        SwitchCommand::Off => false,
                        SwitchCommand::Toggle => !r.relay.is_on(),
                    };
                    let e = r.relay.command(on, now);
                    self.relay(r, counters, e);
                    (json!({"state": on_off(on)}), p.transaction)
                })
            }
            Commandable::Led(i) => {
                let l = &mut parts.leds[i];
                command::light(&message.payload, l.light.state().on).map(|p| {
                    let e = l.light.command(p.command, now);
                    self.led(l, counters, e);
                    let s = l.light.state();
                    (json!({"state": on_off(s.on), "brightness": s.brightness}), p.transaction)
                })
            }
            Commandable::Buzzer(i) => {
                let b = &mut parts.buzzers[i];
                command::buzzer(&message.payload, b.plan.patterns.keys()).map(|p| {
                    let e = match &p.command {
                        BuzzerCommand::Play(name) => {
                            let pattern = &b.plan.patterns[name];
                            b.buzzer.play(name, pattern, now)
                        }
                        BuzzerCommand::Stop => b.buzzer.stop(),
                    };
                    self.buzzer(b, counters, e);
                    (json!({"playing": b.buzzer.playing()}), p.transaction)
                })
            }
        };
        let response = match answer {
            Ok((data, transaction)) => Response::ok(data, transaction),
            Err(Refused { error, transaction }) => {
                counters.errors += 1;
                tracing::debug!(topic = %message.topic, error = %error, "command refused");
                let transaction = transaction.or_else(|| {
                    roomsense_core::api::Request::salvage_transaction(&message.payload)
                });
                Response::error(error, transaction)
            }
        };
        self.ctx.link.publish_state(&self.topics.response(name), response.to_bytes(), false);
    }

    fn edge(&self, parts: &mut Parts, counters: &mut Counters, i: usize, edge: Edge) {
        let input = &mut parts.inputs[i];
        if let Some(on) = input.input.edge(edge.level, edge.at) {
            self.input_state(&input.name, on);
        }
        // A settle deadline already past (edges read late) is handled at once.
        self.poll(parts, counters, Instant::now());
    }

    fn poll(&self, parts: &mut Parts, counters: &mut Counters, now: Instant) {
        for r in &mut parts.relays {
            let e = r.relay.poll(now);
            self.relay(r, counters, e);
        }
        for l in &mut parts.leds {
            let e = l.light.poll(now);
            self.led(l, counters, e);
        }
        for b in &mut parts.buzzers {
            let e = b.buzzer.poll(now);
            self.buzzer(b, counters, e);
        }
        for i in &mut parts.inputs {
            if let Some(on) = i.input.poll(now) {
                self.input_state(&i.name, on);
            }
        }
        for s in &mut parts.sensors {
            if now < s.next {
                continue;
            }
            s.next = now + s.plan.interval;
            // A forced BME280 conversion blocks for about 10 ms, once per interval.
            match s.sensor.read() {
                Ok(raw) => match calibrate(raw, s.plan.offsets) {
                    Ok(r) => {
                        for (quantity, text) in reading(&r) {
                            self.ctx.link.publish_state(
                                &self.topics.quantity(&s.plan.name, quantity),
                                text,
                                true,
                            );
                        }
                    }
                    Err(why) => {
                        counters.errors += 1;
                        counters.failing = true;
                        tracing::debug!(device = %s.plan.name, error = %why, "reading refused");
                    }
                },
                Err(e) => counters.failed(&e),
            }
        }
    }
}

fn period_of(frequency_hz: u32) -> Duration {
    Duration::from_nanos(1_000_000_000 / u64::from(frequency_hz.max(1)))
}
