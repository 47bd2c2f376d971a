//! The `roomsense ble` service: the one `select!` over the advertisement source, the tick and
//! telemetry timers, `/set` commands, device configs and shutdown. Everything it decides comes
//! from the [`Tracker`]; everything it says goes through its own link.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use roomsense_core::mqtt::Incoming;
use roomsense_core::{Context, Identity, Service, Stopped};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::ValidBleConfig;
use crate::domain::advert::Advertisement;
use crate::domain::beacon::NodeBeacon;
use crate::domain::payload::TelemetryPayload;
use crate::domain::settings::SetTopic;
use crate::domain::tracker::{DeviceReport, Now, TickOutcome, Tracker};
use crate::error::{Error, SettingError};
use crate::publish::entities::discovery;
use crate::publish::topics::{DEVICE_CONFIGS, Topics, config_id, status_topic};
use crate::sources::demo::demo_source;
use crate::sources::replay::{ReplayLoop, ReplaySource, Speed};
use crate::sources::{AdvertisementSource, SourceEvent};

/// Where the service's advertisements come from.
#[derive(Debug, Clone, PartialEq)]
pub enum BleInput {
    /// A trace file (`roomsense ble --replay FILE --speed N|max`); the node keeps serving its
    /// settings after the last line.
    Replay {
        /// The JSONL trace.
        path: PathBuf,
        /// Replay speed.
        speed: Speed,
    },
    /// The demo trace, looping (`roomsense demo`).
    Demo,
    /// BlueZ (feature `bluez`), advertising the node beacon.
    #[cfg(feature = "bluez")]
    Bluez,
}

/// The BLE service: a constructor that only stores, and [`Service::run`].
#[derive(Debug)]
pub struct BleService {
    ctx: Context,
    config: ValidBleConfig,
    input: BleInput,
    model: String,
}

/// Housekeeping period (the firmware forgets and counts every ≤ 5 s).
const TICK: Duration = Duration::from_secs(5);
/// Telemetry period (the firmware sends it at most once per 15 s).
const TELEMETRY: Duration = Duration::from_secs(15);
/// `/set` commands waiting per subscription; more are dropped and counted by the link.
const SET_QUEUE: usize = 64;
/// Device configs are retained and arrive all at once on connect: room for the tracker's bound.
const CONFIG_QUEUE: usize = 4096;

impl BleService {
    /// The service's identity: `identity` speaking its availability on ESPresense's
    /// `espresense/rooms/<room>/status`, so one last will serves ESPresense and Home Assistant.
    pub fn identity(identity: Identity, config: &ValidBleConfig) -> Identity {
        identity.with_availability_topic(status_topic(&config.room))
    }

    /// A BLE service on `ctx`'s link (opened with [`BleService::identity`]); `model` is what Home
    /// Assistant shows for the node's device. Does nothing until run.
    pub fn new(ctx: Context, config: ValidBleConfig, input: BleInput, model: String) -> Self {
        BleService { ctx, config, input, model }
    }
}

impl Service for BleService {
    const NAME: &'static str = "ble";
    type Error = Error;

    async fn run(self, shutdown: CancellationToken) -> Result<Stopped, Error> {
        let BleService { ctx, config, input, model } = self;
        match input {
            BleInput::Replay { path, speed } => {
                let name = path.display().to_string();
                let file = std::fs::File::open(&path)
                    .map_err(|source| Error::TraceIo { path: name.clone(), source })?;
                let source = ReplaySource::new(std::io::BufReader::new(file), name, speed);
                Shell::new(ctx, config, model).run(source, shutdown).await
            }
            BleInput::Demo => Shell::new(ctx, config, model).run(demo_source(), shutdown).await,
            #[cfg(feature = "bluez")]
            BleInput::Bluez => {
                let source = crate::sources::BluezSource::new(bluez_options(&config)).await?;
                let live = live::Live::new(source);
                Shell::new(ctx, config, model).run(live, shutdown).await
            }
        }
    }
}

/// A source as the shell drives it: the source itself, plus what the input must keep up besides
/// advertisements (BlueZ: the node beacon).
trait Input: Send + 'static {
    fn next_event(&mut self) -> impl Future<Output = Result<Option<SourceEvent>, Error>> + Send;

    fn trace_clock(&self) -> bool;

    /// Called after every event; returns a beacon newly advertised, whose `node:<room>` config
    /// the shell publishes.
    fn maintain(&mut self, _tx_ref_rssi: i16) -> impl Future<Output = Option<NodeBeacon>> + Send {
        std::future::ready(None)
    }
}

impl<R: std::io::BufRead + Send + 'static> Input for ReplaySource<R> {
    fn next_event(&mut self) -> impl Future<Output = Result<Option<SourceEvent>, Error>> + Send {
        AdvertisementSource::next_event(self)
    }
    fn trace_clock(&self) -> bool {
        AdvertisementSource::trace_clock(self)
    }
}

impl Input for ReplayLoop {
    fn next_event(&mut self) -> impl Future<Output = Result<Option<SourceEvent>, Error>> + Send {
        AdvertisementSource::next_event(self)
    }
    fn trace_clock(&self) -> bool {
        AdvertisementSource::trace_clock(self)
    }
}

/// Awaits the input's next event and hands the input back with it. The future owns the input,
/// so it survives `select!` iterations where another branch won: dropping a half-done
/// `next_event` would lose an advert (replay: one that was waiting for its time) or a device's
/// first properties (BlueZ).
async fn pull<I: Input>(mut input: I) -> (I, Result<Option<SourceEvent>, Error>) {
    let event = input.next_event().await;
    (input, event)
}

/// The running service's state: the tracker and what the shell remembers between wakeups.
struct Shell {
    ctx: Context,
    config: ValidBleConfig,
    model: String,
    /// Whether the adverts' own timestamps are the clock (a replay).
    trace: bool,
    topics: Topics,
    tracker: Tracker,
    started: Instant,
    wall_at_start_ms: u64,
    /// The trace's time of the last advert, when the trace is the clock.
    trace_now: Option<Now>,
    next_trace_tick_ms: u64,
    last_advert: Instant,
    last_tick: TickOutcome,
    connects: u64,
    healthy: bool,
}

impl Shell {
    fn new(ctx: Context, config: ValidBleConfig, model: String) -> Shell {
        let started = Instant::now();
        // The one wall-clock read: ESPresense's report slots are wall-clock aligned; from here
        // on the wall clock advances with tokio's clock (paused in tests).
        let wall_at_start_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        Shell {
            topics: Topics::new(&config.room),
            tracker: Tracker::new(config.settings.clone(), config.max_devices),
            ctx,
            config,
            model,
            trace: false,
            started,
            wall_at_start_ms,
            trace_now: None,
            next_trace_tick_ms: 0,
            last_advert: started,
            last_tick: TickOutcome { count: 0, tracked: 0 },
            connects: 0,
            healthy: true,
        }
    }

    async fn run<I: Input>(
        mut self,
        input: I,
        shutdown: CancellationToken,
    ) -> Result<Stopped, Error> {
        let link = self.ctx.link.clone();
        self.trace = input.trace_clock();
        self.announce();
        self.publish_snapshot();
        let mut set_own = link.subscribe(&self.topics.set_own, SET_QUEUE);
        let mut set_all = link.subscribe(&self.topics.set_all, SET_QUEUE);
        let mut configs = link.subscribe(DEVICE_CONFIGS, CONFIG_QUEUE);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut telemetry = tokio::time::interval(TELEMETRY);
        telemetry.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut pending = Box::pin(pull(input));
        let mut input_done = false;
        tracing::info!(
            service = BleService::NAME,
            node = link.identity().node_id(),
            room = %self.config.room,
            "running"
        );
        loop {
            tokio::select! {
                // Commands and timers first: a replay at full speed must not starve them.
                biased;
                () = shutdown.cancelled() => return Ok(Stopped::Shutdown),
                Some(m) = set_own.recv() => if let Some(stop) = self.on_set(&m) { return Ok(stop) },
                Some(m) = set_all.recv() => if let Some(stop) = self.on_set(&m) { return Ok(stop) },
                Some(m) = configs.recv() => self.on_device_config(&m),
                _ = tick.tick() => self.on_tick(),
                _ = telemetry.tick() => self.publish_telemetry(),
                (mut input, event) = &mut pending, if !input_done => {
                    match event? {
                        Some(SourceEvent::Advert(adv)) => self.on_advert(&adv),
                        Some(SourceEvent::Rejected(e)) => {
                            self.tracker.note_rejected();
                            tracing::debug!(error = %e, "advertisement rejected");
                        }
                        None => {
                            input_done = true;
                            tracing::info!(count = self.tracker.len(), "replay finished; serving settings until stopped");
                        }
                    }
                    if let Some(beacon) = input.maintain(self.tracker.settings().tx_ref_rssi).await {
                        self.publish_beacon_config(&beacon);
                    }
                    if !input_done {
                        pending.set(pull(input));
                    }
                }
            }
        }
    }

    /// The time now: the trace's while it is the clock, else tokio's (wall clock derived).
    fn now(&self) -> Now {
        if self.trace {
            return self.trace_now.unwrap_or(Now { mono_ms: 0, wall_ms: 0 });
        }
        let mono_ms = self.started.elapsed().as_millis() as u64;
        Now { mono_ms, wall_ms: self.wall_at_start_ms + mono_ms }
    }

    fn on_advert(&mut self, adv: &Advertisement) {
        self.last_advert = Instant::now();
        let now = if self.trace {
            let now = Now::from_wall(adv.ts_ms);
            self.trace_now = Some(now);
            now
        } else {
            // Adverts are stamped with the wall clock at the edge; durations use tokio's clock.
            Now { mono_ms: self.started.elapsed().as_millis() as u64, wall_ms: adv.ts_ms }
        };
        if let Some(report) = self.tracker.handle(adv, now) {
            self.publish_report(&report);
        }
        // A fast replay passes many ticks of trace time between two real ticks.
        if self.trace && now.mono_ms >= self.next_trace_tick_ms {
            self.last_tick = self.tracker.tick(now);
            self.next_trace_tick_ms = now.mono_ms + TICK.as_millis() as u64;
        }
    }

    fn publish_report(&self, report: &DeviceReport) {
        let Some(topic) = self.topics.device(&report.id) else {
            tracing::trace!(device = %report.id, "id cannot stand in a topic");
            return;
        };
        // QoS-0-style best effort: `publish_state` keeps only the newest value per topic while
        // the broker is slow or away, so a device's older report is replaced by its newer one.
        // ESPresense's own gating does the same (at most one report per device per slot), and
        // its QoS 0 publishes would simply be lost.
        self.ctx.link.publish_state(&topic, report.payload.to_json(), false);
    }

    fn on_set(&mut self, m: &Incoming) -> Option<Stopped> {
        let set = SetTopic::parse(&m.topic).filter(|s| s.is_for(&self.config.room))?;
        let payload = String::from_utf8_lossy(&m.payload);
        match set.key {
            "restart" | "reboot" => {
                // A retained restart would restart the node on every connect.
                if m.retain {
                    tracing::debug!(topic = %m.topic, "retained restart ignored");
                    return None;
                }
                tracing::info!(service = BleService::NAME, "restart requested");
                return Some(Stopped::RestartRequested);
            }
            key => match self.tracker.apply_setting(key, &payload, self.now()) {
                Ok(_) => {
                    tracing::info!(topic = %m.topic, "setting changed");
                    self.publish_snapshot();
                    self.announce();
                }
                Err(Error::Setting { source: SettingError::UnknownKey, .. }) => {
                    tracing::debug!(topic = %m.topic, "unknown setting ignored");
                }
                Err(e) => {
                    tracing::warn!(topic = %m.topic, error = %e, "setting rejected, unchanged")
                }
            },
        }
        None
    }

    fn on_device_config(&mut self, m: &Incoming) {
        let Some(id) = config_id(&m.topic) else { return };
        let now = self.now();
        if let Err(e) = self.tracker.apply_device_config(id, &m.payload, now) {
            // Anyone on the broker can write these: refused, logged, never fatal.
            tracing::debug!(device = id, error = %e, "device config rejected");
        }
    }

    fn on_tick(&mut self) {
        if !self.trace || self.trace_now.is_some() {
            self.last_tick = self.tracker.tick(self.now());
        }
        // Health is "advertisements still arrive", measured on tokio's clock whatever the trace
        // says: it feeds the systemd watchdog.
        let quiet = self.last_advert.elapsed();
        let healthy = quiet < self.config.no_advert_timeout;
        if healthy != self.healthy {
            if healthy {
                tracing::info!(service = BleService::NAME, "advertisements arrive again");
            } else {
                tracing::warn!(
                    service = BleService::NAME,
                    elapsed_ms = quiet.as_millis() as u64,
                    "no advertisement for the watchdog time: unhealthy"
                );
            }
            self.healthy = healthy;
        }
        self.ctx.health.set(healthy);
        // ESPresense re-sends its retained snapshot whenever it comes online again; a broker
        // without persistence would otherwise have lost it.
        let connects = self.ctx.link.stats().connects;
        if connects != self.connects {
            self.connects = connects;
            self.publish_snapshot();
        }
    }

    fn publish_telemetry(&mut self) {
        let stats = self.tracker.take_stats();
        let counting = !self.tracker.settings().count_ids.is_empty();
        let uptime_s = self.started.elapsed().as_secs();
        let t = TelemetryPayload::new(&stats, &self.last_tick, counting, uptime_s, None);
        match serde_json::to_vec(&t) {
            Ok(json) => self.ctx.link.publish_state(&self.topics.telemetry, json, false),
            Err(e) => tracing::warn!(error = %e, "telemetry not serialised"),
        }
    }

    /// The retained settings snapshot: `name`, then the settings in firmware order.
    fn publish_snapshot(&self) {
        let link = &self.ctx.link;
        let name = std::iter::once(("name", self.config.room_name.clone()));
        for (key, value) in name.chain(self.tracker.settings().snapshot()) {
            if let Some(topic) = self.topics.setting(key) {
                link.publish_state(&topic, value, true);
            }
        }
    }

    fn announce(&self) {
        let counting = !self.tracker.settings().count_ids.is_empty();
        let identity = self.ctx.link.identity();
        self.ctx.link.announce(&discovery(identity, &self.topics, &self.model, counting));
    }

    fn publish_beacon_config(&self, beacon: &NodeBeacon) {
        let config = NodeBeacon::config(&self.config.room, &self.config.room_name);
        let (Ok(topic), Ok(json)) =
            (roomsense_core::Topic::new(beacon.config_topic()), serde_json::to_vec(&config))
        else {
            return;
        };
        self.ctx.link.publish_state(&topic, json, true);
    }
}

#[cfg(feature = "bluez")]
fn bluez_options(config: &ValidBleConfig) -> crate::sources::BluezOptions {
    crate::sources::BluezOptions {
        adapter: config.adapter.clone(),
        no_advert_timeout: config.no_advert_timeout,
        max_devices: config.max_devices,
        ..crate::sources::BluezOptions::default()
    }
}

/// `roomsense ble record FILE`: writes every advertisement BlueZ reports to `path` in the trace
/// format until `shutdown`; returns how many were written. Flushed at least once a second.
#[cfg(feature = "bluez")]
pub async fn record(
    config: &ValidBleConfig,
    path: &std::path::Path,
    shutdown: CancellationToken,
) -> Result<u64, Error> {
    use crate::sources::BluezSource;
    use crate::sources::trace::TraceWriter;

    let name = path.display().to_string();
    let io = |source| Error::TraceIo { path: name.clone(), source };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = TraceWriter::new(std::io::BufWriter::new(file));
    let mut source = BluezSource::new(bluez_options(config)).await?;
    let mut written = 0u64;
    let mut flushed = Instant::now();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            event = AdvertisementSource::next_event(&mut source) => match event? {
                Some(SourceEvent::Advert(adv)) => {
                    out.write(&adv).map_err(io)?;
                    written += 1;
                    if flushed.elapsed() >= Duration::from_secs(1) {
                        out.flush().map_err(io)?;
                        flushed = Instant::now();
                    }
                }
                Some(SourceEvent::Rejected(e)) => tracing::debug!(error = %e, "advertisement rejected"),
                None => break,
            }
        }
    }
    out.finish().map_err(io)?;
    tracing::info!(count = written, "trace written");
    Ok(written)
}

#[cfg(feature = "bluez")]
mod live {
    //! BlueZ as the shell's input: the source, and the node beacon kept advertised across
    //! re-arms (a bluetoothd restart forgets advertisements) and `tx_ref_rssi` changes.

    use bluer::adv::AdvertisementHandle;

    use super::Input;
    use crate::domain::beacon::NodeBeacon;
    use crate::error::Error;
    use crate::sources::{AdvertisementSource, BluezSource, SourceEvent};

    pub(super) struct Live {
        source: BluezSource,
        beacon: Option<AdvertisementHandle>,
        /// The source's arm count and the power the beacon was last advertised for.
        advertised_for: (u64, i16),
    }

    impl Live {
        pub(super) fn new(source: BluezSource) -> Live {
            Live { source, beacon: None, advertised_for: (0, i16::MIN) }
        }
    }

    impl Input for Live {
        fn next_event(
            &mut self,
        ) -> impl Future<Output = Result<Option<SourceEvent>, Error>> + Send {
            AdvertisementSource::next_event(&mut self.source)
        }

        fn trace_clock(&self) -> bool {
            false
        }

        async fn maintain(&mut self, tx_ref_rssi: i16) -> Option<NodeBeacon> {
            let arms = self.source.stats().arms;
            if arms == 0 || self.advertised_for == (arms, tx_ref_rssi) {
                return None;
            }
            self.advertised_for = (arms, tx_ref_rssi);
            self.beacon = None;
            let addr = match self.source.adapter_address().await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "adapter address unknown: node beacon not advertised");
                    return None;
                }
            };
            let beacon = NodeBeacon::from_address(&addr, tx_ref_rssi);
            match self.source.advertise_node_beacon(&beacon).await {
                Ok(handle) => {
                    self.beacon = Some(handle);
                    tracing::info!(device = %beacon.id(), "node beacon advertised");
                    Some(beacon)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "node beacon not advertised");
                    None
                }
            }
        }
    }

    use std::future::Future;
}
