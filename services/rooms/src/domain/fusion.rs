//! The fusion state machine: evidence in, per-room occupancy, person count and the evidence that
//! decided them out. Time is passed in (`now`, monotonic, from any origin); nothing here reads a
//! clock. The model is documented in `ROOMS.md`; in short:
//!
//! - each piece of evidence contributes its kind's weight while on, keeps it for the hold time
//!   after it goes off, then fades linearly to zero over the decay time;
//! - a room's score is the sum; an empty room becomes occupied at `occupied_at`, an occupied one
//!   becomes empty below `empty_below`;
//! - a room whose doors all close becomes a box; fresh evidence inside latches it occupied until
//!   a door opens ("wasp in a box");
//! - a device lying in a room whose cameras see nobody stops counting after `camera_veto`;
//! - the person count is the most people any camera of the room counts or the number of people
//!   whose devices are there, whichever is more (at least one in an occupied room).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde::Serialize;

use super::house::{FusionParams, House, Kind, Occupancy, Params, RoomSpec, SourceRef};

/// Where an observation comes from, as decoded from its topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feed {
    /// A camera's (or one of its zones') person count.
    Vision {
        /// Node.
        node: String,
        /// Camera.
        camera: String,
        /// Zone, for a zone's count.
        zone: Option<String>,
    },
    /// A microphone's voice activity.
    Audio {
        /// Node.
        node: String,
        /// Mic.
        mic: String,
    },
    /// A GPIO input (PIR or door contact).
    Gpio {
        /// Node.
        node: String,
        /// Input.
        input: String,
    },
}

impl SourceRef {
    /// The feed this mapped source listens to.
    pub fn feed(&self) -> Feed {
        match self.kind {
            Kind::Camera => Feed::Vision {
                node: self.node.clone(),
                camera: self.name.clone(),
                zone: self.zone.clone(),
            },
            Kind::Voice => Feed::Audio { node: self.node.clone(), mic: self.name.clone() },
            Kind::Motion | Kind::Door | Kind::Device => {
                Feed::Gpio { node: self.node.clone(), input: self.name.clone() }
            }
        }
    }
}

/// One thing the service heard.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// A person count (vision).
    Count {
        /// From where.
        feed: Feed,
        /// How many people.
        count: u32,
    },
    /// An ON/OFF signal (voice, motion, door: ON = open).
    Switch {
        /// From where.
        feed: Feed,
        /// ON or OFF.
        on: bool,
    },
    /// The locator's room of a device; `None` for `not_home` (or a room no room maps).
    Device {
        /// Device id.
        device: String,
        /// Locator room id.
        room: Option<String>,
    },
}

/// Where a piece of evidence stands, as the evidence payload says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Never heard from since start.
    Unknown,
    /// On: full weight.
    Active,
    /// Off, within the hold time: full weight.
    Holding,
    /// Off, fading.
    Decaying,
    /// Off long enough to count nothing.
    Idle,
    /// A device lying where the room's cameras see nobody: counts nothing.
    Vetoed,
}

/// One source in a room's evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceEvidence {
    /// `camera n2/lounge_cam`, `device alice`, ...
    pub source: String,
    /// Kind.
    pub kind: Kind,
    /// Where it stands.
    pub phase: Phase,
    /// Count for cameras, 1/0 for switches and devices; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u32>,
    /// What it adds to the score now.
    pub contribution: f64,
}

/// Why a room is in the state it is in: published as the room's `evidence`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Room id.
    pub room: String,
    /// The decision.
    pub occupied: bool,
    /// The person count.
    pub count: u32,
    /// The score now.
    pub score: f64,
    /// The decision in one line.
    pub reason: String,
    /// `none` (no door mapped), `open`, `closed`, or `closed_occupied` (wasp in a box).
    pub door: &'static str,
    /// Every source of the room.
    pub sources: Vec<SourceEvidence>,
}

/// A room whose published state changed.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomUpdate {
    /// Room index.
    pub room: usize,
    /// `Some` when occupancy itself changed (what automations trigger on).
    pub became: Option<Occupancy>,
    /// The state and why.
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Signal {
    on: bool,
    value: u32,
    /// Last on/off transition (or first report).
    since: Duration,
    /// Last off→on transition.
    rose_at: Option<Duration>,
}

#[derive(Debug, Clone)]
struct Source {
    label: String,
    kind: Kind,
    params: Params,
    signal: Option<Signal>,
}

impl Source {
    fn new(label: String, kind: Kind, params: Params) -> Self {
        Self { label, kind, params, signal: None }
    }

    fn set(&mut self, on: bool, value: u32, now: Duration) {
        match &mut self.signal {
            None => {
                self.signal = Some(Signal { on, value, since: now, rose_at: on.then_some(now) });
            }
            Some(s) => {
                if s.on != on {
                    s.since = now;
                    if on {
                        s.rose_at = Some(now);
                    }
                }
                s.on = on;
                s.value = value;
            }
        }
    }

    /// The score it adds at `now`, and its phase (vetoes are applied by the room).
    fn contribution(&self, now: Duration) -> (f64, Phase) {
        let Some(s) = self.signal else { return (0.0, Phase::Unknown) };
        let w = self.params.weight;
        if s.on {
            return (w, Phase::Active);
        }
        if s.rose_at.is_none() {
            return (0.0, Phase::Idle);
        }
        let off_for = now.saturating_sub(s.since);
        if off_for < self.params.hold {
            return (w, Phase::Holding);
        }
        let fading = off_for - self.params.hold;
        if fading < self.params.decay {
            let left = 1.0 - fading.as_secs_f64() / self.params.decay.as_secs_f64();
            return (w * left, Phase::Decaying);
        }
        (0.0, Phase::Idle)
    }

    /// Times after `now` where the contribution changes slope.
    fn breakpoints(&self, now: Duration, out: &mut Vec<Duration>) {
        let Some(s) = self.signal else { return };
        if s.on || s.rose_at.is_none() {
            return;
        }
        for t in [s.since + self.params.hold, s.since + self.params.hold + self.params.decay] {
            if t > now {
                out.push(t);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Wasp {
    /// No door mapped.
    NoDoors,
    /// A door is open (or not reported yet).
    Open,
    /// Every door closed at `since`; nobody seen inside since.
    Boxed { since: Duration },
    /// Someone was seen inside after the doors closed: occupied until one opens.
    Latched { by: String },
}

impl Wasp {
    fn label(&self) -> &'static str {
        match self {
            Wasp::NoDoors => "none",
            Wasp::Open => "open",
            Wasp::Boxed { .. } => "closed",
            Wasp::Latched { .. } => "closed_occupied",
        }
    }
}

#[derive(Debug, Clone)]
struct Room {
    id: String,
    camera_veto: Option<Duration>,
    sources: Vec<Source>,
    /// Person → their device evidence in this room, created when first seen here.
    people: BTreeMap<String, Source>,
    doors: Vec<usize>,
    cameras: Vec<usize>,
    occupied: bool,
    wasp: Wasp,
    published: Option<Signature>,
}

/// What, when it changes, is published again (not the score, which fades continuously).
#[derive(Debug, Clone, PartialEq)]
struct Signature {
    occupied: bool,
    count: u32,
    door: &'static str,
    phases: Vec<Phase>,
}

impl Room {
    fn new(spec: &RoomSpec, params: &FusionParams) -> Self {
        let sources: Vec<Source> = spec
            .sources
            .iter()
            .map(|s| Source::new(s.to_string(), s.kind, params.of(s.kind)))
            .collect();
        let of_kind = |k: Kind| -> Vec<usize> {
            sources.iter().enumerate().filter(|(_, s)| s.kind == k).map(|(i, _)| i).collect()
        };
        let doors = of_kind(Kind::Door);
        let cameras = of_kind(Kind::Camera);
        Self {
            id: spec.id.clone(),
            camera_veto: spec.camera_veto,
            wasp: if doors.is_empty() { Wasp::NoDoors } else { Wasp::Open },
            sources,
            people: BTreeMap::new(),
            doors,
            cameras,
            occupied: false,
            published: None,
        }
    }

    /// When every camera of the room has reported and sees nobody: since when.
    fn cameras_quiet_since(&self) -> Option<Duration> {
        if self.cameras.is_empty() {
            return None;
        }
        let mut latest = Duration::ZERO;
        for &i in &self.cameras {
            let s = self.sources[i].signal?;
            if s.on {
                return None;
            }
            latest = latest.max(s.since);
        }
        Some(latest)
    }

    /// When this person's device evidence stops counting, if the veto applies.
    fn veto_at(&self, person: &Source) -> Option<Duration> {
        let veto = self.camera_veto?;
        let quiet = self.cameras_quiet_since()?;
        let s = person.signal?;
        Some(quiet.max(s.rose_at.unwrap_or(s.since)) + veto)
    }

    fn person_contribution(&self, person: &Source, now: Duration) -> (f64, Phase) {
        let (c, phase) = person.contribution(now);
        match self.veto_at(person) {
            Some(at) if now >= at && c > 0.0 => (0.0, Phase::Vetoed),
            _ => (c, phase),
        }
    }

    fn score(&self, now: Duration) -> f64 {
        let fixed: f64 = self.sources.iter().map(|s| s.contribution(now).0).sum();
        let people: f64 = self.people.values().map(|p| self.person_contribution(p, now).0).sum();
        fixed + people
    }

    fn door_moved(&mut self, now: Duration) {
        let all_closed = self.doors.iter().all(|&i| self.sources[i].signal.is_some_and(|s| !s.on));
        match (&self.wasp, all_closed) {
            (Wasp::Open, true) => self.wasp = Wasp::Boxed { since: now },
            (Wasp::Boxed { .. } | Wasp::Latched { .. }, false) => self.wasp = Wasp::Open,
            _ => {}
        }
    }

    /// In a closed room: is there fresh evidence of someone inside?
    fn confirm_wasp(&mut self, params: &FusionParams, now: Duration) {
        let Wasp::Boxed { since } = self.wasp else { return };
        let settled = now >= since + params.wasp_settle;
        let fresh = |s: &Source| -> bool {
            let Some(sig) = s.signal.filter(|sig| sig.on) else { return false };
            if !params.wasp_confirms.contains(&s.kind) {
                return false;
            }
            if s.kind.is_level() { settled } else { sig.rose_at.is_some_and(|r| r >= since) }
        };
        let by = self.sources.iter().find(|s| fresh(s)).map(|s| s.label.clone()).or_else(|| {
            self.people
                .values()
                .find(|p| fresh(p) && self.person_contribution(p, now).1 != Phase::Vetoed)
                .map(|p| p.label.clone())
        });
        if let Some(by) = by {
            self.wasp = Wasp::Latched { by };
        }
    }

    fn breakpoints(&self, params: &FusionParams, now: Duration) -> Vec<Duration> {
        let mut out = Vec::new();
        for s in self.sources.iter().chain(self.people.values()) {
            s.breakpoints(now, &mut out);
        }
        for p in self.people.values() {
            if let Some(at) = self.veto_at(p).filter(|at| *at > now) {
                out.push(at);
            }
        }
        if let Wasp::Boxed { since } = self.wasp {
            let at = since + params.wasp_settle;
            if at > now {
                out.push(at);
            }
        }
        out
    }

    fn decide(&mut self, params: &FusionParams, now: Duration) -> Option<RoomUpdate> {
        self.confirm_wasp(params, now);
        let score = self.score(now);
        let was = self.occupied;
        let latched = matches!(self.wasp, Wasp::Latched { .. });
        self.occupied =
            latched || if was { score >= params.empty_below } else { score >= params.occupied_at };
        let evidence = self.evidence(params, now, score);
        let signature = Signature {
            occupied: evidence.occupied,
            count: evidence.count,
            door: evidence.door,
            phases: evidence.sources.iter().map(|s| s.phase).collect(),
        };
        if self.published.as_ref() == Some(&signature) {
            return None;
        }
        let first = self.published.is_none();
        self.published = Some(signature);
        // The first decision is a starting point, not a change.
        let became = (!first && was != self.occupied).then(|| Occupancy::of(self.occupied));
        Some(RoomUpdate { room: usize::MAX, became, evidence })
    }

    fn evidence(&self, params: &FusionParams, now: Duration, score: f64) -> Evidence {
        let mut sources = Vec::with_capacity(self.sources.len() + self.people.len());
        for s in &self.sources {
            let (c, phase) = s.contribution(now);
            sources.push(describe(s, c, phase));
        }
        for p in self.people.values() {
            let (c, phase) = self.person_contribution(p, now);
            sources.push(describe(p, c, phase));
        }
        let cameras = self
            .sources
            .iter()
            .filter(|s| s.kind == Kind::Camera)
            .filter_map(|s| s.signal.filter(|sig| sig.on).map(|sig| sig.value))
            .max()
            .unwrap_or(0);
        let people =
            sources.iter().filter(|s| s.kind == Kind::Device && s.phase == Phase::Active).count()
                as u32;
        let count = if self.occupied { cameras.max(people).max(1) } else { 0 };
        let reason = match &self.wasp {
            Wasp::Latched { by } => {
                format!(
                    "doors closed with someone inside (seen by {by}): occupied until a door opens"
                )
            }
            _ => {
                let mut parts: Vec<&SourceEvidence> =
                    sources.iter().filter(|s| s.contribution > 0.0).collect();
                parts.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
                let list: Vec<String> = parts
                    .iter()
                    .map(|s| format!("{} {} {:.2}", s.source, phase_word(s.phase), s.contribution))
                    .collect();
                let (cmp, threshold) = if self.occupied {
                    ("at or above", params.empty_below)
                } else if score >= params.empty_below {
                    ("below", params.occupied_at)
                } else {
                    ("below", params.empty_below)
                };
                if list.is_empty() {
                    "no evidence".to_owned()
                } else {
                    format!("score {score:.2} {cmp} {threshold:.2}: {}", list.join(", "))
                }
            }
        };
        Evidence {
            room: self.id.clone(),
            occupied: self.occupied,
            count,
            score: round2(score),
            reason,
            door: self.wasp.label(),
            sources,
        }
    }
}

fn describe(s: &Source, contribution: f64, phase: Phase) -> SourceEvidence {
    SourceEvidence {
        source: s.label.clone(),
        kind: s.kind,
        phase,
        value: s.signal.map(|sig| if sig.on { sig.value.max(1) } else { 0 }),
        contribution: round2(contribution),
    }
}

fn phase_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Active => "on",
        Phase::Holding => "held",
        Phase::Decaying => "fading",
        Phase::Unknown | Phase::Idle | Phase::Vetoed => "",
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Every room's occupancy, fed observations and the time.
#[derive(Debug, Clone)]
pub struct Fusion {
    params: FusionParams,
    rooms: Vec<Room>,
    /// Feed → (room, source) pairs it drives.
    feeds: HashMap<Feed, Vec<(usize, usize)>>,
    /// Locator room → room index.
    locator: HashMap<String, usize>,
    people: Option<BTreeMap<String, String>>,
    /// Device → the room index it is in (None: elsewhere or away).
    devices: BTreeMap<String, Option<usize>>,
    max_devices: usize,
    ignored_devices: u64,
    last_now: Duration,
}

impl Fusion {
    /// The state machine for `house`, every room empty and every source unknown.
    pub fn new(house: &House) -> Self {
        let rooms: Vec<Room> = house.rooms.iter().map(|r| Room::new(r, &house.params)).collect();
        let mut feeds: HashMap<Feed, Vec<(usize, usize)>> = HashMap::new();
        let mut locator = HashMap::new();
        for (ri, spec) in house.rooms.iter().enumerate() {
            for (si, s) in spec.sources.iter().enumerate() {
                feeds.entry(s.feed()).or_default().push((ri, si));
            }
            for l in &spec.locator_rooms {
                locator.insert(l.clone(), ri);
            }
        }
        Self {
            params: house.params.clone(),
            rooms,
            feeds,
            locator,
            people: house.people.clone(),
            devices: BTreeMap::new(),
            max_devices: house.max_devices,
            ignored_devices: 0,
            last_now: Duration::ZERO,
        }
    }

    /// Whether anything in the house listens to `feed`.
    pub fn listens_to(&self, feed: &Feed) -> bool {
        self.feeds.contains_key(feed)
    }

    /// Device reports ignored: not a declared person's, or over the device limit.
    pub fn ignored_devices(&self) -> u64 {
        self.ignored_devices
    }

    /// Whether room `room` is occupied now.
    pub fn is_occupied(&self, room: usize) -> bool {
        self.rooms.get(room).is_some_and(|r| r.occupied)
    }

    /// Takes an observation made at `now`; returns the rooms whose published state changed.
    pub fn observe(&mut self, observation: Observation, now: Duration) -> Vec<RoomUpdate> {
        let now = now.max(self.last_now);
        match observation {
            Observation::Count { feed, count } => self.set_feed(&feed, count > 0, count, now),
            Observation::Switch { feed, on } => self.set_feed(&feed, on, u32::from(on), now),
            Observation::Device { device, room } => self.set_device(device, room, now),
        }
        self.advance(now)
    }

    fn set_feed(&mut self, feed: &Feed, on: bool, value: u32, now: Duration) {
        let Some(targets) = self.feeds.get(feed) else { return };
        for &(ri, si) in targets {
            let room = &mut self.rooms[ri];
            room.sources[si].set(on, value, now);
            if room.sources[si].kind == Kind::Door {
                room.door_moved(now);
            }
        }
    }

    fn set_device(&mut self, device: String, room: Option<String>, now: Duration) {
        let person = match &self.people {
            Some(people) => match people.get(&device) {
                Some(p) => p.clone(),
                None => {
                    self.ignored_devices += 1;
                    return;
                }
            },
            None => device.clone(),
        };
        if !self.devices.contains_key(&device) && self.devices.len() >= self.max_devices {
            self.ignored_devices += 1;
            return;
        }
        let at = room.and_then(|r| self.locator.get(&r).copied());
        self.devices.insert(device, at);
        // The person is in every room one of their devices is in.
        let devices_of = |d: &String| match &self.people {
            Some(people) => people.get(d) == Some(&person),
            None => *d == person,
        };
        let rooms_now: BTreeSet<usize> =
            self.devices.iter().filter(|(d, _)| devices_of(d)).filter_map(|(_, r)| *r).collect();
        let params = self.params.of(Kind::Device);
        for (ri, room) in self.rooms.iter_mut().enumerate() {
            let here = rooms_now.contains(&ri);
            match room.people.get_mut(&person) {
                Some(source) => source.set(here, u32::from(here), now),
                None if here => {
                    let mut source = Source::new(format!("device {person}"), Kind::Device, params);
                    source.set(true, 1, now);
                    room.people.insert(person.clone(), source);
                }
                None => {}
            }
        }
    }

    /// Moves time on to `now`; returns the rooms whose published state changed.
    pub fn advance(&mut self, now: Duration) -> Vec<RoomUpdate> {
        let now = now.max(self.last_now);
        self.last_now = now;
        let params = &self.params;
        self.rooms
            .iter_mut()
            .enumerate()
            .filter_map(|(i, room)| {
                room.decide(params, now).map(|mut u| {
                    u.room = i;
                    u
                })
            })
            .collect()
    }

    /// Forgets what was published: the next [`Fusion::advance`] returns every room (with
    /// `became: None`), for a shell that held back its first decisions.
    pub fn republish(&mut self) {
        for room in &mut self.rooms {
            room.published = None;
        }
    }

    /// The earliest time after `now` at which [`Fusion::advance`] could change something: a
    /// hold or decay ending, a veto starting, a wasp's settle time, or the moment a fading
    /// score falls below `empty_below`. `None` when nothing is pending.
    pub fn next_wakeup(&self, now: Duration) -> Option<Duration> {
        let mut best: Option<Duration> = None;
        for room in &self.rooms {
            let Some(next) = room.breakpoints(&self.params, now).into_iter().min() else {
                continue;
            };
            let mut at = next;
            // Between now and the next breakpoint the score is linear: find where an occupied
            // room's score crosses `empty_below`, if it does before then.
            if room.occupied && !matches!(room.wasp, Wasp::Latched { .. }) {
                // The left limit at `next`: a veto starting there drops the score at once.
                let before_next = next.saturating_sub(Duration::from_micros(1)).max(now);
                let (s0, s1) = (room.score(now), room.score(before_next));
                let off = self.params.empty_below;
                if s0 >= off && s1 < off && s0 > s1 {
                    let span = (before_next - now).as_secs_f64();
                    let t = now + Duration::from_secs_f64(span * (s0 - off) / (s0 - s1));
                    // The next whole millisecond after the crossing: the score is below there.
                    let ms = (t + Duration::from_micros(1)).as_nanos().div_ceil(1_000_000);
                    at = Duration::from_millis(ms as u64).min(next);
                }
            }
            best = Some(best.map_or(at, |b| b.min(at)));
        }
        best
    }

    /// The current evidence of room `room`, at `now`.
    pub fn evidence(&self, room: usize, now: Duration) -> Option<Evidence> {
        let r = self.rooms.get(room)?;
        Some(r.evidence(&self.params, now, r.score(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::house::SourceRef;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn src(kind: Kind, node: &str, name: &str) -> SourceRef {
        SourceRef { kind, node: node.into(), name: name.into(), zone: None }
    }

    fn params() -> FusionParams {
        let mut p = FusionParams { wasp_settle: secs(1.0), ..FusionParams::default() };
        let set = |w: f64, h: f64, d: f64| Params { weight: w, hold: secs(h), decay: secs(d) };
        p.kinds.insert(Kind::Camera, set(1.0, 3.0, 2.0));
        p.kinds.insert(Kind::Motion, set(1.0, 2.0, 2.0));
        p.kinds.insert(Kind::Voice, set(1.0, 4.0, 2.0));
        p.kinds.insert(Kind::Device, set(1.0, 1.0, 2.0));
        p.kinds.insert(Kind::Door, set(0.0, 1.0, 1.0));
        p
    }

    /// One room, `lounge`, with a camera, a PIR, a mic and a door; locator room `lounge`.
    fn lounge(veto: Option<f64>) -> House {
        House {
            params: params(),
            rooms: vec![RoomSpec {
                id: "lounge".into(),
                name: "Lounge".into(),
                sources: vec![
                    src(Kind::Camera, "n", "cam"),
                    src(Kind::Motion, "n", "pir"),
                    src(Kind::Voice, "n", "mic"),
                    src(Kind::Door, "n", "door"),
                ],
                locator_rooms: vec!["lounge".into()],
                camera_veto: veto.map(secs),
            }],
            people: None,
            rules: Vec::new(),
            max_devices: 8,
        }
    }

    fn cam(count: u32) -> Observation {
        Observation::Count {
            feed: Feed::Vision { node: "n".into(), camera: "cam".into(), zone: None },
            count,
        }
    }

    fn switch(input: &str, on: bool) -> Observation {
        let feed = if input == "mic" {
            Feed::Audio { node: "n".into(), mic: "mic".into() }
        } else {
            Feed::Gpio { node: "n".into(), input: input.into() }
        };
        Observation::Switch { feed, on }
    }

    fn phone(room: Option<&str>) -> Observation {
        Observation::Device { device: "phone".into(), room: room.map(str::to_owned) }
    }

    /// Replays `(t, observation)` pairs, advancing through every wakeup in between; returns
    /// the occupancy changes as `(t, occupied)`.
    fn replay(house: &House, script: Vec<(f64, Observation)>, until: f64) -> Vec<(f64, bool)> {
        let mut f = Fusion::new(house);
        let mut changes = Vec::new();
        let mut record = |updates: Vec<RoomUpdate>, t: Duration| {
            for u in updates {
                if let Some(b) = u.became {
                    changes.push((t.as_secs_f64(), b == Occupancy::Occupied));
                }
            }
        };
        let mut now = Duration::ZERO;
        record(f.advance(now), now);
        let mut script = script.into_iter().peekable();
        loop {
            let next_obs = script.peek().map(|(t, _)| secs(*t));
            let next_wake = f.next_wakeup(now);
            let next = match (next_obs, next_wake) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if next > secs(until) {
                break;
            }
            now = next;
            if next_obs == Some(next) {
                let (_, obs) = script.next().unwrap();
                record(f.observe(obs, now), now);
            } else {
                record(f.advance(now), now);
            }
        }
        changes.into_iter().map(|(t, o)| ((t * 1000.0).round() / 1000.0, o)).collect()
    }

    #[test]
    fn evidence_holds_then_fades_and_the_room_empties_below_the_lower_threshold() {
        // Camera on at 1, off at 2: held 3 s, fades over 2 s, crosses 0.5 halfway: 2 + 3 + 1.
        let changes = replay(&lounge(None), vec![(1.0, cam(1)), (2.0, cam(0))], 60.0);
        assert_eq!(changes, vec![(1.0, true), (6.001, false)]);
    }

    #[test]
    fn evidence_that_returns_within_the_hold_does_not_flap() {
        let script = vec![(1.0, cam(1)), (2.0, cam(0)), (4.5, cam(1)), (5.0, cam(0))];
        assert_eq!(replay(&lounge(None), script, 60.0), vec![(1.0, true), (9.001, false)]);
    }

    #[test]
    fn weak_evidence_alone_does_not_occupy_a_room_but_adds_up() {
        let mut house = lounge(None);
        house.params.kinds.get_mut(&Kind::Motion).unwrap().weight = 0.6;
        house.params.kinds.get_mut(&Kind::Voice).unwrap().weight = 0.6;
        let alone = replay(&house, vec![(1.0, switch("pir", true))], 10.0);
        assert!(alone.is_empty(), "{alone:?}");
        let both =
            replay(&house, vec![(1.0, switch("pir", true)), (2.0, switch("mic", true))], 10.0);
        assert_eq!(both, vec![(2.0, true)]);
    }

    #[test]
    fn a_door_closed_with_someone_seen_inside_keeps_the_room_occupied_until_it_opens() {
        let script = vec![
            (0.0, switch("door", true)),
            (1.0, cam(1)),
            (2.0, switch("door", false)),
            // The camera still counts one after the settle time: someone is inside.
            (4.0, cam(0)),
            // Lights out, nobody moves: evidence fades, but the box stays occupied.
            (60.0, switch("door", true)),
        ];
        assert_eq!(replay(&lounge(None), script, 120.0), vec![(1.0, true), (60.0, false)]);
    }

    #[test]
    fn a_door_closed_behind_someone_leaving_does_not_latch() {
        let script = vec![
            (0.0, switch("door", true)),
            (1.0, cam(1)),
            (5.0, cam(0)),
            (5.5, switch("door", false)),
        ];
        assert_eq!(replay(&lounge(None), script, 60.0), vec![(1.0, true), (9.001, false)]);
    }

    #[test]
    fn a_pir_still_held_on_from_before_the_door_closed_does_not_latch_but_a_new_trip_does() {
        let before = vec![
            (0.0, switch("door", true)),
            (1.0, switch("pir", true)),
            (2.0, switch("door", false)),
            (3.0, switch("pir", false)),
        ];
        assert_eq!(replay(&lounge(None), before.clone(), 60.0), vec![(1.0, true), (6.001, false)]);
        let mut after = before;
        after.push((4.0, switch("pir", true)));
        after.push((5.0, switch("pir", false)));
        after.push((30.0, switch("door", true)));
        assert_eq!(replay(&lounge(None), after, 60.0), vec![(1.0, true), (30.0, false)]);
    }

    #[test]
    fn a_phone_left_where_the_camera_sees_nobody_stops_counting_after_the_veto() {
        let script = vec![(1.0, cam(1)), (1.5, phone(Some("lounge"))), (2.0, cam(0))];
        // Camera quiet since 2, phone there since 1.5: the phone counts until 2 + 10.
        assert_eq!(
            replay(&lounge(Some(10.0)), script.clone(), 60.0),
            vec![(1.0, true), (12.0, false)]
        );
        // Without the veto the phone keeps the room for ever.
        assert_eq!(replay(&lounge(None), script, 60.0), vec![(1.0, true)]);
    }

    #[test]
    fn a_phone_carried_in_while_the_camera_sees_nobody_counts_for_the_veto_time() {
        let script = vec![(0.0, cam(0)), (20.0, phone(Some("lounge")))];
        assert_eq!(replay(&lounge(Some(10.0)), script, 60.0), vec![(20.0, true), (30.0, false)]);
    }

    #[test]
    fn a_device_away_or_in_an_unmapped_room_leaves_the_room() {
        let script = vec![(1.0, phone(Some("lounge"))), (2.0, phone(None))];
        // Device: held 1 s, fades over 2: below 0.5 at 2 + 1 + 1.
        assert_eq!(replay(&lounge(None), script, 60.0), vec![(1.0, true), (4.001, false)]);
        let script = vec![(1.0, phone(Some("lounge"))), (2.0, phone(Some("garage")))];
        assert_eq!(replay(&lounge(None), script, 60.0), vec![(1.0, true), (4.001, false)]);
    }

    #[test]
    fn the_count_is_the_best_of_cameras_and_people_and_one_when_only_sound_says_so() {
        let mut house = lounge(None);
        house.people = Some(BTreeMap::from([
            ("phone:a".to_owned(), "alice".to_owned()),
            ("watch:a".to_owned(), "alice".to_owned()),
            ("phone:b".to_owned(), "bob".to_owned()),
        ]));
        let mut f = Fusion::new(&house);
        let t = secs(1.0);
        let count = |f: &Fusion| f.evidence(0, t).unwrap().count;
        f.observe(switch("mic", true), t);
        assert_eq!(count(&f), 1);
        for d in ["phone:a", "watch:a"] {
            f.observe(Observation::Device { device: d.into(), room: Some("lounge".into()) }, t);
        }
        assert_eq!(count(&f), 1, "two devices of one person are one person");
        f.observe(Observation::Device { device: "phone:b".into(), room: Some("lounge".into()) }, t);
        assert_eq!(count(&f), 2);
        f.observe(cam(3), t);
        assert_eq!(count(&f), 3);
        f.observe(Observation::Device { device: "tv".into(), room: Some("lounge".into()) }, t);
        assert_eq!(f.ignored_devices(), 1, "an undeclared device is nobody's");
    }

    #[test]
    fn the_evidence_says_which_sources_made_the_decision() {
        let mut f = Fusion::new(&lounge(None));
        let u = f.observe(cam(2), secs(1.0));
        let e = &u[0].evidence;
        assert!(e.occupied);
        assert_eq!(e.count, 2);
        assert!(e.reason.contains("camera n/cam on 1.00"), "{}", e.reason);
        assert_eq!(e.sources[0].phase, Phase::Active);
        assert_eq!(e.sources[1].phase, Phase::Unknown);
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["sources"][0]["source"], "camera n/cam");
        assert_eq!(json["door"], "open");
    }

    #[test]
    fn the_evidence_is_published_again_only_when_a_phase_changes() {
        let mut f = Fusion::new(&lounge(None));
        f.advance(secs(0.0));
        assert_eq!(f.observe(cam(1), secs(1.0)).len(), 1);
        assert!(f.observe(cam(1), secs(1.5)).is_empty(), "same state, same evidence");
        assert_eq!(f.observe(cam(0), secs(2.0)).len(), 1, "active → holding");
        assert!(f.advance(secs(3.0)).is_empty());
        assert_eq!(f.advance(secs(5.5)).len(), 1, "holding → decaying");
    }

    #[test]
    fn the_next_wakeup_is_the_exact_moment_the_score_falls_below_the_threshold() {
        let mut f = Fusion::new(&lounge(None));
        f.observe(cam(1), secs(1.0));
        f.observe(cam(0), secs(2.0));
        assert_eq!(f.next_wakeup(secs(2.0)), Some(secs(5.0)), "end of the hold first");
        f.advance(secs(5.0));
        assert_eq!(f.next_wakeup(secs(5.0)), Some(secs(6.001)));
        assert!(f.is_occupied(0));
        f.advance(secs(6.001));
        assert!(!f.is_occupied(0));
    }

    #[test]
    fn republishing_gives_every_room_again_without_calling_it_a_change() {
        let mut f = Fusion::new(&lounge(None));
        f.advance(secs(0.0));
        f.observe(cam(1), secs(0.1));
        f.republish();
        let u = f.advance(secs(0.2));
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].became, None);
        assert!(u[0].evidence.occupied);
    }

    #[test]
    fn time_going_backwards_is_treated_as_no_time_passing() {
        let mut f = Fusion::new(&lounge(None));
        f.observe(cam(1), secs(10.0));
        f.observe(cam(0), secs(11.0));
        f.advance(secs(3.0));
        assert!(f.is_occupied(0));
    }
}
