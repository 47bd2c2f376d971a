//! The `[rooms]` config section: rooms and the evidence mapped to each, the fusion model's
//! parameters, the evidence sources of each node, people, and automations.
//!
//! Two stages (STYLE R7): serde reads what the user wrote into [`RoomsConfig`];
//! [`RoomsConfig::validate`] returns the [`House`] the service runs on, or records every problem
//! with its key path. Nothing here changes at runtime: a change needs a restart of `rooms`.
//!
//! `[rooms]` holds five reserved tables (`fusion`, `sources`, `locator`, `people`,
//! `automations`); every other table is a room, keyed by its id:
//!
//! ```toml
//! [rooms.sources.n2]            # what node n2 publishes (see ROOMS.md)
//! cameras = { lounge_cam = ["sofa"] }
//! mics = ["lounge_mic"]
//! doors = ["lounge_door"]
//! relays = ["lounge_light"]
//!
//! [rooms.lounge]
//! cameras = ["n2/lounge_cam"]   # or one zone: "n2/lounge_cam/sofa"
//! mics = ["n2/lounge_mic"]
//! doors = ["n2/lounge_door"]
//!
//! [rooms.automations.lounge_light_on]
//! trigger = { room = "lounge", becomes = "occupied" }
//! conditions = [{ after = "17:00", before = "07:00" }]
//! actions = [{ output = "n2/lounge_light", set = "ON" }]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use roomsense_core::Topic;
use roomsense_core::config::{ConfigError, ConfigFile, Problem, Problems};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::house::{
    Action, Condition, FusionParams, House, Kind, Occupancy, Params, RoomSpec, Rule, SensorRef,
    SourceRef, TimeOfDay, Trigger,
};

/// The keys of `[rooms]` that are not rooms.
pub const RESERVED: [&str; 5] = ["fusion", "sources", "locator", "people", "automations"];

/// `[rooms]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomsConfig {
    /// `[rooms.fusion]`: the model's parameters.
    pub fusion: FusionConfig,
    /// `[rooms.sources.<node>]`: the cameras, mics, inputs and outputs each node publishes.
    pub sources: BTreeMap<String, NodeSources>,
    /// `[rooms.locator]`: the locator's rooms, when known.
    pub locator: LocatorConfig,
    /// `[rooms.people]`: person → their device ids. When empty, every tracked device is a person.
    pub people: BTreeMap<String, Vec<String>>,
    /// `[rooms.automations.<id>]`.
    pub automations: BTreeMap<String, AutomationConfig>,
    /// `[rooms.<id>]`: every other table.
    pub rooms: BTreeMap<String, RoomConfig>,
}

impl<'de> Deserialize<'de> for RoomsConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RoomsVisitor;

        impl<'de> Visitor<'de> for RoomsVisitor {
            type Value = RoomsConfig;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of rooms")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RoomsConfig, A::Error> {
                let mut c = RoomsConfig::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "fusion" => c.fusion = map.next_value()?,
                        "sources" => c.sources = map.next_value()?,
                        "locator" => c.locator = map.next_value()?,
                        "people" => c.people = map.next_value()?,
                        "automations" => c.automations = map.next_value()?,
                        _ => {
                            let room = map.next_value()?;
                            c.rooms.insert(key, room);
                        }
                    }
                }
                Ok(c)
            }
        }

        deserializer.deserialize_map(RoomsVisitor)
    }
}

/// Weight, hold and decay of one kind of evidence; unset keys take the kind's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KindConfig {
    /// Score while on and through the hold (0 to 10). Defaults: 1, door 0.
    pub weight: Option<f64>,
    /// Full weight kept this long after the evidence goes off (s). Defaults: camera 30,
    /// motion 60, voice 60, device 15, door 10.
    pub hold_s: Option<f64>,
    /// Then falls linearly to zero over this long (s). Defaults: camera 60, motion 60,
    /// voice 120, device 30, door 10.
    pub decay_s: Option<f64>,
}

/// `[rooms.fusion]`: the model (ROOMS.md explains each number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FusionConfig {
    /// An empty room becomes occupied when its score reaches this. Default 1.0.
    pub occupied_at: f64,
    /// An occupied room becomes empty when its score falls below this. Default 0.5.
    pub empty_below: f64,
    /// After every door of a room closes, a camera or device must still see someone this long
    /// later to latch the room occupied (s). Default 5.
    pub wasp_settle_s: f64,
    /// Kinds of evidence that show someone is inside a closed room. Default camera, motion,
    /// voice (not device: phones get left behind).
    pub wasp_confirms: Vec<Kind>,
    /// A device lying in a room whose cameras all see nobody stops counting after this long (s);
    /// 0 turns it off. Rooms without a camera are not affected. Default 180.
    pub camera_veto_s: f64,
    /// Most devices followed at once when `[rooms.people]` is empty. Default 256.
    pub max_devices: usize,
    /// Person counts from cameras and zones.
    pub camera: KindConfig,
    /// PIR inputs.
    pub motion: KindConfig,
    /// Voice activity.
    pub voice: KindConfig,
    /// Devices located in the room.
    pub device: KindConfig,
    /// Door contacts moving.
    pub door: KindConfig,
}

impl Default for FusionConfig {
    fn default() -> Self {
        Self {
            occupied_at: 1.0,
            empty_below: 0.5,
            wasp_settle_s: 5.0,
            wasp_confirms: vec![Kind::Camera, Kind::Motion, Kind::Voice],
            camera_veto_s: 180.0,
            max_devices: 256,
            camera: KindConfig::default(),
            motion: KindConfig::default(),
            voice: KindConfig::default(),
            device: KindConfig::default(),
            door: KindConfig::default(),
        }
    }
}

/// `[rooms.sources.<node>]`: what a node publishes, by name. Until the vision, audio and GPIO
/// sections of the node's own config are read here, this is where the names are declared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSources {
    /// Camera → its zones.
    pub cameras: BTreeMap<String, Vec<String>>,
    /// Microphones.
    pub mics: Vec<String>,
    /// PIR (motion) inputs.
    pub motion: Vec<String>,
    /// Door contacts.
    pub doors: Vec<String>,
    /// Relay outputs (ON/OFF).
    pub relays: Vec<String>,
    /// PWM light outputs (ON/OFF with brightness).
    pub lights: Vec<String>,
    /// Buzzer → its pattern names.
    pub buzzers: BTreeMap<String, Vec<String>>,
    /// I2C sensor → its quantities (`bme280 = ["temperature", "humidity", "pressure"]`).
    pub sensors: BTreeMap<String, Vec<String>>,
}

/// `[rooms.locator]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocatorConfig {
    /// The locator's room ids; when given, every `locator_rooms` entry is checked against them.
    pub rooms: Option<Vec<String>>,
}

/// `[rooms.<id>]`: one room and the evidence mapped to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoomConfig {
    /// Display name; defaults to the id with `_` as spaces, capitalised.
    pub name: Option<String>,
    /// Cameras (`node/camera`) or camera zones (`node/camera/zone`) looking at the room.
    pub cameras: Vec<String>,
    /// Microphones in the room (`node/mic`).
    pub mics: Vec<String>,
    /// PIR inputs in the room (`node/input`).
    pub motion: Vec<String>,
    /// Door contacts of the room's doors (`node/input`), ON = open.
    pub doors: Vec<String>,
    /// Locator rooms whose devices are in this room. Default: the room's own id.
    pub locator_rooms: Option<Vec<String>>,
    /// Overrides `[rooms.fusion] camera_veto_s` for this room (s; 0 = off).
    pub camera_veto_s: Option<f64>,
}

/// `[rooms.automations.<id>]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationConfig {
    /// What starts it (required).
    pub trigger: TriggerConfig,
    /// What must all hold when it starts. Default none.
    #[serde(default)]
    pub conditions: Vec<ConditionConfig>,
    /// What it does, in order (at least one).
    #[serde(default)]
    pub actions: Vec<ActionConfig>,
}

/// One of: `{ room, becomes = "occupied"|"empty" }`, `{ room, empty_for_s }`,
/// `{ sensor, above }`, `{ sensor, below }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriggerConfig {
    /// A room id.
    pub room: Option<String>,
    /// The room changes to this state.
    pub becomes: Option<Occupancy>,
    /// The room has been empty this long (s).
    pub empty_for_s: Option<f64>,
    /// `node/sensor/quantity`, `node/mic/level`, `node/camera[/zone]/person`.
    pub sensor: Option<String>,
    /// Fires when the value goes above this.
    pub above: Option<f64>,
    /// Fires when the value goes below this.
    pub below: Option<f64>,
}

/// One of: `{ after = "HH:MM", before = "HH:MM" }` (either may be left out), `{ room, is }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConditionConfig {
    /// Local time from (inclusive).
    pub after: Option<String>,
    /// Local time until (exclusive).
    pub before: Option<String>,
    /// A room id.
    pub room: Option<String>,
    /// The state the room must be in.
    pub is: Option<Occupancy>,
}

/// ON or OFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Switch {
    /// On.
    #[serde(rename = "ON")]
    On,
    /// Off.
    #[serde(rename = "OFF")]
    Off,
}

/// One of: `{ output, set, brightness? }`, `{ buzzer, pattern }`, `{ publish, payload, retain? }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionConfig {
    /// A relay or light output, `node/output`.
    pub output: Option<String>,
    /// What to set it to.
    pub set: Option<Switch>,
    /// For a light: brightness 0 to 255.
    pub brightness: Option<u8>,
    /// A buzzer, `node/buzzer`.
    pub buzzer: Option<String>,
    /// The pattern to play.
    pub pattern: Option<String>,
    /// A topic to publish to.
    pub publish: Option<String>,
    /// What to publish. Default empty.
    pub payload: Option<String>,
    /// Whether the broker keeps it. Default false.
    pub retain: bool,
}

/// Everything the nodes declare, flattened for lookups and for "allowed" lists.
#[derive(Debug, Default)]
struct Catalog {
    cameras: BTreeSet<String>,
    zones: BTreeMap<String, BTreeSet<String>>,
    mics: BTreeSet<String>,
    motion: BTreeSet<String>,
    doors: BTreeSet<String>,
    relays: BTreeSet<String>,
    lights: BTreeSet<String>,
    buzzers: BTreeMap<String, BTreeSet<String>>,
    sensors: BTreeSet<String>,
}

fn allowed(set: &BTreeSet<String>, what: &str, table: &str) -> String {
    if set.is_empty() {
        format!("no {what} declared yet: add them to [rooms.sources.<node>] {table}")
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn room_name(id: &str) -> String {
    let spaced = id.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

impl RoomsConfig {
    /// Reads a `[rooms]` section from TOML text (the demo's, tests'); `path` is what errors name.
    pub fn from_toml(path: &str, text: &str) -> Result<(RoomsConfig, House), ConfigError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Section {
            #[serde(default)]
            rooms: RoomsConfig,
        }
        let file = ConfigFile::from_text(path, text);
        let mut house = None;
        let section = file.parse(|s: &Section, p| house = s.rooms.validate(p))?;
        let house = house.expect("a section without problems should give a house");
        Ok((section.rooms, house))
    }

    /// Records every problem of this section; returns the house when there is none.
    pub fn validate(&self, problems: &mut Problems) -> Option<House> {
        self.validate_with(&BTreeMap::new(), problems)
    }

    /// As [`RoomsConfig::validate`], with more declared sources per node (what the node's own
    /// vision, audio and GPIO sections declare, once the binary reads them).
    pub fn validate_with(
        &self,
        more: &BTreeMap<String, NodeSources>,
        problems: &mut Problems,
    ) -> Option<House> {
        let mut local = Problems::default();
        let params = self.fusion_params(&mut local);
        let catalog = self.catalog(more, &mut local);
        let people = self.people(&mut local);
        let rooms = self.rooms(&catalog, &mut local);
        let rules = self.rules(&catalog, &rooms, &mut local);
        let ok = local.is_empty();
        for p in local.into_vec() {
            problems.push(p);
        }
        let house = House { params, rooms, people, rules, max_devices: self.fusion.max_devices };
        ok.then_some(house)
    }

    fn fusion_params(&self, p: &mut Problems) -> FusionParams {
        let f = &self.fusion;
        p.check(f.occupied_at > 0.0 && f.occupied_at <= 100.0, || {
            Problem::new("rooms.fusion.occupied_at", format!("{} is out of range", f.occupied_at))
                .allowed("more than 0, at most 100")
        });
        p.check(f.empty_below >= 0.0 && f.empty_below < f.occupied_at, || {
            Problem::new(
                "rooms.fusion.empty_below",
                format!("{} must be below occupied_at ({})", f.empty_below, f.occupied_at),
            )
            .allowed(format!("0 or more, less than {}", f.occupied_at))
        });
        p.in_range("rooms.fusion.wasp_settle_s", f.wasp_settle_s, 0.0, 600.0, "seconds");
        p.in_range("rooms.fusion.camera_veto_s", f.camera_veto_s, 0.0, 86_400.0, "seconds");
        p.in_range("rooms.fusion.max_devices", f.max_devices, 1, 100_000, "devices");
        p.check(!f.wasp_confirms.contains(&Kind::Door), || {
            Problem::new("rooms.fusion.wasp_confirms", "a door cannot confirm someone is inside")
                .allowed("camera, motion, voice, device")
        });
        let mut kinds = BTreeMap::new();
        for (kind, c) in [
            (Kind::Camera, &f.camera),
            (Kind::Motion, &f.motion),
            (Kind::Voice, &f.voice),
            (Kind::Device, &f.device),
            (Kind::Door, &f.door),
        ] {
            let d = kind.defaults();
            let key = |k: &str| format!("rooms.fusion.{kind}.{k}");
            let weight = c.weight.unwrap_or(d.weight);
            let hold = c.hold_s.unwrap_or(d.hold.as_secs_f64());
            let decay = c.decay_s.unwrap_or(d.decay.as_secs_f64());
            p.in_range(&key("weight"), weight, 0.0, 10.0, "");
            p.in_range(&key("hold_s"), hold, 0.0, 86_400.0, "seconds");
            p.in_range(&key("decay_s"), decay, 0.0, 86_400.0, "seconds");
            kinds.insert(kind, Params { weight, hold: secs(hold), decay: secs(decay) });
        }
        FusionParams {
            occupied_at: f.occupied_at,
            empty_below: f.empty_below,
            wasp_settle: secs(f.wasp_settle_s),
            wasp_confirms: f.wasp_confirms.clone(),
            kinds,
        }
    }

    fn catalog(&self, more: &BTreeMap<String, NodeSources>, p: &mut Problems) -> Catalog {
        let mut c = Catalog::default();
        let nodes = self.sources.iter().map(|(n, s)| (n, s, true)).chain(
            more.iter().filter(|(n, _)| !self.sources.contains_key(*n)).map(|(n, s)| (n, s, false)),
        );
        for (node, s, written) in nodes {
            let base = format!("rooms.sources.{node}");
            if written {
                p.slug(&base, node);
            }
            let mut names: BTreeMap<String, String> = BTreeMap::new();
            let mut name = |p: &mut Problems, table: &str, n: &str| {
                let key = format!("{base}.{table}");
                p.slug(&key, n);
                if let Some(other) = names.insert(n.to_owned(), table.to_owned()) {
                    p.push(
                        Problem::new(key, format!("`{n}` is declared twice on node {node}"))
                            .allowed(format!("one name per part; `{n}` is already in {other}")),
                    );
                }
                format!("{node}/{n}")
            };
            for (cam, zones) in &s.cameras {
                let path = name(p, "cameras", cam);
                for z in zones {
                    p.slug(&format!("{base}.cameras.{cam}"), z);
                }
                c.zones.insert(path.clone(), zones.iter().cloned().collect());
                c.cameras.insert(path);
            }
            for m in &s.mics {
                c.mics.insert(name(p, "mics", m));
            }
            for m in &s.motion {
                c.motion.insert(name(p, "motion", m));
            }
            for d in &s.doors {
                c.doors.insert(name(p, "doors", d));
            }
            for r in &s.relays {
                c.relays.insert(name(p, "relays", r));
            }
            for l in &s.lights {
                c.lights.insert(name(p, "lights", l));
            }
            for (b, patterns) in &s.buzzers {
                let path = name(p, "buzzers", b);
                for pat in patterns {
                    p.slug(&format!("{base}.buzzers.{b}"), pat);
                }
                c.buzzers.insert(path, patterns.iter().cloned().collect());
            }
            for (sensor, quantities) in &s.sensors {
                let path = name(p, "sensors", sensor);
                for q in quantities {
                    p.slug(&format!("{base}.sensors.{sensor}"), q);
                    c.sensors.insert(format!("{path}/{q}"));
                }
            }
        }
        c
    }

    fn people(&self, p: &mut Problems) -> Option<BTreeMap<String, String>> {
        if self.people.is_empty() {
            return None;
        }
        let mut by_device = BTreeMap::new();
        for (person, devices) in &self.people {
            let key = format!("rooms.people.{person}");
            p.check(!devices.is_empty(), || {
                Problem::new(&key, "lists no device")
                    .allowed("device ids as the locator names them")
            });
            for d in devices {
                p.check(!d.is_empty() && !d.contains(['/', '+', '#']), || {
                    Problem::new(&key, format!("`{d}` is not a device id"))
                        .allowed("the id in roomsense/devices/<id>: no /, + or #")
                });
                if let Some(other) = by_device.insert(d.clone(), person.clone()) {
                    p.push(
                        Problem::new(&key, format!("device `{d}` also belongs to {other}"))
                            .allowed("each device belongs to one person"),
                    );
                }
            }
        }
        Some(by_device)
    }

    fn rooms(&self, c: &Catalog, p: &mut Problems) -> Vec<RoomSpec> {
        let mut used: BTreeMap<String, String> = BTreeMap::new();
        let mut locator_used: BTreeMap<String, String> = BTreeMap::new();
        let known_locator: Option<BTreeSet<&String>> =
            self.locator.rooms.as_ref().map(|r| r.iter().collect());
        let mut out = Vec::new();
        for (id, r) in &self.rooms {
            let base = format!("rooms.{id}");
            p.check(
                !id.is_empty()
                    && id.len() <= 64
                    && id.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    }),
                || {
                    Problem::new(&base, format!("`{id}` cannot be a room id")).allowed(format!(
                        "1 to 64 of a-z, 0-9, _ and -; or one of {}",
                        RESERVED.join(", ")
                    ))
                },
            );
            let mut sources = Vec::new();
            for (i, path) in r.cameras.iter().enumerate() {
                let key = format!("{base}.cameras[{i}]");
                if let Some(s) = resolve_camera(c, path, &key, p) {
                    sources.push(s);
                }
            }
            let lists = [
                ("motion", &r.motion, Kind::Motion, &c.motion, "motion inputs"),
                ("mics", &r.mics, Kind::Voice, &c.mics, "mics"),
                ("doors", &r.doors, Kind::Door, &c.doors, "door inputs"),
            ];
            for (table, list, kind, known, what) in lists {
                for (i, path) in list.iter().enumerate() {
                    let key = format!("{base}.{table}[{i}]");
                    if !known.contains(path) {
                        let mut message =
                            format!("unknown {} `{path}`", what.trim_end_matches('s'));
                        // An input of the other kind is the likely slip: say so.
                        if kind == Kind::Motion && c.doors.contains(path) {
                            message = format!("`{path}` is a door contact, not a motion input");
                        } else if kind == Kind::Door && c.motion.contains(path) {
                            message = format!("`{path}` is a motion input, not a door contact");
                        }
                        p.push(Problem::new(key, message).allowed(allowed(known, what, table)));
                        continue;
                    }
                    let (node, name) = path.split_once('/').unwrap_or((path, ""));
                    sources.push(SourceRef {
                        kind,
                        node: node.to_owned(),
                        name: name.to_owned(),
                        zone: None,
                    });
                }
            }
            for s in &sources {
                let path = s.path();
                if let Some(other) = used.insert(path.clone(), id.clone()) {
                    if other != *id {
                        p.push(
                            Problem::new(&base, format!("`{path}` is mapped to {other} as well"))
                                .allowed("each camera, zone, mic and input in one room"),
                        );
                    } else {
                        p.push(
                            Problem::new(&base, format!("`{path}` is listed twice"))
                                .allowed("each source once"),
                        );
                    }
                }
            }
            let locator_rooms = r.locator_rooms.clone().unwrap_or_else(|| vec![id.clone()]);
            for (i, l) in locator_rooms.iter().enumerate() {
                let key = format!("{base}.locator_rooms[{i}]");
                if let Some(known) = &known_locator
                    && !known.contains(l)
                {
                    let list: Vec<&str> = known.iter().map(|s| s.as_str()).collect();
                    p.push(
                        Problem::new(key.clone(), format!("unknown locator room `{l}`"))
                            .allowed(list.join(", ")),
                    );
                }
                if let Some(other) = locator_used.insert(l.clone(), id.clone()) {
                    p.push(
                        Problem::new(
                            key,
                            format!("locator room `{l}` is mapped to {other} as well"),
                        )
                        .allowed("each locator room in one room"),
                    );
                }
            }
            let veto = r.camera_veto_s.unwrap_or(self.fusion.camera_veto_s);
            if r.camera_veto_s.is_some() {
                p.in_range(&format!("{base}.camera_veto_s"), veto, 0.0, 86_400.0, "seconds");
            }
            out.push(RoomSpec {
                id: id.clone(),
                name: r.name.clone().unwrap_or_else(|| room_name(id)),
                sources,
                locator_rooms,
                camera_veto: (veto > 0.0).then(|| secs(veto)),
            });
        }
        out
    }

    fn rules(&self, c: &Catalog, rooms: &[RoomSpec], p: &mut Problems) -> Vec<Rule> {
        let room_list = || {
            let ids: Vec<&str> = rooms.iter().map(|r| r.id.as_str()).collect();
            if ids.is_empty() { "no rooms declared yet".to_owned() } else { ids.join(", ") }
        };
        let room_index = |key: String, id: &str, p: &mut Problems| -> Option<usize> {
            let i = rooms.iter().position(|r| r.id == id);
            if i.is_none() {
                p.push(Problem::new(key, format!("unknown room `{id}`")).allowed(room_list()));
            }
            i
        };
        let mut out = Vec::new();
        for (id, a) in &self.automations {
            let base = format!("rooms.automations.{id}");
            p.slug(&base, id);
            let trigger = trigger(&a.trigger, c, &format!("{base}.trigger"), &room_index, p);
            let mut conditions = Vec::new();
            for (i, cond) in a.conditions.iter().enumerate() {
                let key = format!("{base}.conditions[{i}]");
                if let Some(cond) = condition(cond, &key, &room_index, p) {
                    conditions.push(cond);
                }
            }
            p.check(!a.actions.is_empty(), || {
                Problem::new(format!("{base}.actions"), "no actions: the rule would do nothing")
                    .allowed("[{ output = \"node/relay\", set = \"ON\" }], a buzzer or a publish")
            });
            let mut actions = Vec::new();
            for (i, act) in a.actions.iter().enumerate() {
                if let Some(act) = action(act, c, &format!("{base}.actions[{i}]"), p) {
                    actions.push(act);
                }
            }
            if let Some(trigger) = trigger {
                out.push(Rule { id: id.clone(), trigger, conditions, actions });
            }
        }
        out
    }
}

fn resolve_camera(c: &Catalog, path: &str, key: &str, p: &mut Problems) -> Option<SourceRef> {
    let parts: Vec<&str> = path.split('/').collect();
    let (node, camera, zone) = match parts.as_slice() {
        [n, cam] => (*n, *cam, None),
        [n, cam, z] => (*n, *cam, Some(*z)),
        _ => {
            p.push(
                Problem::new(key, format!("`{path}` is not a camera or zone"))
                    .allowed("node/camera or node/camera/zone"),
            );
            return None;
        }
    };
    let cam_path = format!("{node}/{camera}");
    if !c.cameras.contains(&cam_path) {
        p.push(
            Problem::new(key, format!("unknown camera `{cam_path}`"))
                .allowed(allowed(&c.cameras, "cameras", "cameras")),
        );
        return None;
    }
    if let Some(z) = zone {
        let zones = c.zones.get(&cam_path).cloned().unwrap_or_default();
        if !zones.contains(z) {
            let list = if zones.is_empty() {
                format!("{cam_path} has no zones declared")
            } else {
                zones.iter().map(|z| format!("{cam_path}/{z}")).collect::<Vec<_>>().join(", ")
            };
            p.push(
                Problem::new(key, format!("unknown zone `{z}` of camera {cam_path}")).allowed(list),
            );
            return None;
        }
    }
    Some(SourceRef {
        kind: Kind::Camera,
        node: node.to_owned(),
        name: camera.to_owned(),
        zone: zone.map(str::to_owned),
    })
}

fn sensor_ref(c: &Catalog, text: &str, key: &str, p: &mut Problems) -> Option<SensorRef> {
    let parts: Vec<&str> = text.split('/').collect();
    let found = match parts.as_slice() {
        [n, mic, "level"] if c.mics.contains(&format!("{n}/{mic}")) => {
            Some(SensorRef::MicLevel { node: (*n).into(), mic: (*mic).into() })
        }
        [n, cam, "person"] if c.cameras.contains(&format!("{n}/{cam}")) => {
            Some(SensorRef::PersonCount { node: (*n).into(), camera: (*cam).into(), zone: None })
        }
        [n, cam, z, "person"]
            if c.zones.get(&format!("{n}/{cam}")).is_some_and(|zs| zs.contains(*z)) =>
        {
            Some(SensorRef::PersonCount {
                node: (*n).into(),
                camera: (*cam).into(),
                zone: Some((*z).into()),
            })
        }
        [n, s, q] if c.sensors.contains(text) => {
            Some(SensorRef::Gpio { node: (*n).into(), sensor: (*s).into(), quantity: (*q).into() })
        }
        _ => None,
    };
    if found.is_none() {
        let mut known: Vec<String> = c.sensors.iter().cloned().collect();
        known.extend(c.mics.iter().map(|m| format!("{m}/level")));
        known.extend(c.cameras.iter().map(|m| format!("{m}/person")));
        for (cam, zones) in &c.zones {
            known.extend(zones.iter().map(|z| format!("{cam}/{z}/person")));
        }
        let list = if known.is_empty() {
            "no sensors, mics or cameras declared yet: add them to [rooms.sources.<node>]".into()
        } else {
            known.join(", ")
        };
        p.push(Problem::new(key, format!("unknown sensor `{text}`")).allowed(list));
    }
    found
}

fn trigger(
    t: &TriggerConfig,
    c: &Catalog,
    key: &str,
    room_index: &impl Fn(String, &str, &mut Problems) -> Option<usize>,
    p: &mut Problems,
) -> Option<Trigger> {
    let forms = [t.becomes.is_some(), t.empty_for_s.is_some(), t.sensor.is_some()];
    let shape = "{ room, becomes = \"occupied\" }, { room, empty_for_s }, { sensor, above } or { sensor, below }";
    if forms.iter().filter(|f| **f).count() != 1 {
        p.push(
            Problem::new(key, "needs exactly one of becomes, empty_for_s, sensor").allowed(shape),
        );
        return None;
    }
    if let Some(sensor) = &t.sensor {
        if t.room.is_some() {
            p.push(
                Problem::new(format!("{key}.room"), "a sensor trigger has no room").allowed(shape),
            );
        }
        let s = sensor_ref(c, sensor, &format!("{key}.sensor"), p);
        let (threshold, upward) = match (t.above, t.below) {
            (Some(a), None) => (a, true),
            (None, Some(b)) => (b, false),
            _ => {
                p.push(
                    Problem::new(key, "a sensor trigger needs one of above, below").allowed(shape),
                );
                return None;
            }
        };
        p.check(threshold.is_finite(), || {
            Problem::new(key, "the threshold is not a number").allowed("a finite number")
        });
        return Some(Trigger::Crosses { sensor: s?, threshold, upward });
    }
    if t.above.is_some() || t.below.is_some() {
        p.push(Problem::new(key, "above and below go with a sensor").allowed(shape));
    }
    let Some(room) = &t.room else {
        p.push(Problem::new(format!("{key}.room"), "missing required key").allowed(shape));
        return None;
    };
    let room = room_index(format!("{key}.room"), room, p)?;
    if let Some(to) = t.becomes {
        return Some(Trigger::Becomes { room, to });
    }
    let after = t.empty_for_s.unwrap_or_default();
    p.in_range(&format!("{key}.empty_for_s"), after, 0.0, 7.0 * 86_400.0, "seconds");
    Some(Trigger::EmptyFor { room, after: secs(after) })
}

fn condition(
    c: &ConditionConfig,
    key: &str,
    room_index: &impl Fn(String, &str, &mut Problems) -> Option<usize>,
    p: &mut Problems,
) -> Option<Condition> {
    let time = c.after.is_some() || c.before.is_some();
    let room = c.room.is_some() || c.is.is_some();
    let shape = "{ after = \"HH:MM\", before = \"HH:MM\" } or { room, is = \"occupied\" }";
    if time == room {
        p.push(Problem::new(key, "needs either a time of day or a room state").allowed(shape));
        return None;
    }
    if time {
        let parse = |field: &str, v: &Option<String>, p: &mut Problems| match v {
            None => Some(TimeOfDay(0)),
            Some(text) => {
                let t = TimeOfDay::parse(text);
                if t.is_none() {
                    p.push(
                        Problem::new(
                            format!("{key}.{field}"),
                            format!("`{text}` is not a time of day"),
                        )
                        .allowed("HH:MM, 24-hour, e.g. 07:30 or 22:00"),
                    );
                }
                t
            }
        };
        let after = parse("after", &c.after, p);
        let before = parse("before", &c.before, p);
        return Some(Condition::Time { after: after?, before: before? });
    }
    let (Some(id), Some(is)) = (&c.room, c.is) else {
        p.push(Problem::new(key, "a room condition needs both room and is").allowed(shape));
        return None;
    };
    Some(Condition::Room { room: room_index(format!("{key}.room"), id, p)?, is })
}

fn action(a: &ActionConfig, c: &Catalog, key: &str, p: &mut Problems) -> Option<Action> {
    let forms = [a.output.is_some(), a.buzzer.is_some(), a.publish.is_some()];
    let shape = "{ output = \"node/relay\", set = \"ON\" }, { buzzer = \"node/buzzer\", pattern }, { publish = \"topic\", payload }";
    if forms.iter().filter(|f| **f).count() != 1 {
        p.push(Problem::new(key, "needs exactly one of output, buzzer, publish").allowed(shape));
        return None;
    }
    if let Some(output) = &a.output {
        let light = c.lights.contains(output);
        if !light && !c.relays.contains(output) {
            let mut known: BTreeSet<String> = c.relays.clone();
            known.extend(c.lights.iter().cloned());
            p.push(
                Problem::new(format!("{key}.output"), format!("unknown output `{output}`"))
                    .allowed(allowed(&known, "relays or lights", "relays or lights")),
            );
            return None;
        }
        let Some(set) = a.set else {
            p.push(Problem::new(format!("{key}.set"), "missing required key").allowed("ON or OFF"));
            return None;
        };
        if a.brightness.is_some() && !light {
            p.push(
                Problem::new(
                    format!("{key}.brightness"),
                    format!("`{output}` is a relay: no brightness"),
                )
                .allowed("brightness on lights only"),
            );
        }
        let (node, name) = output.split_once('/')?;
        return Some(Action::SetOutput {
            node: node.into(),
            output: name.into(),
            on: set == Switch::On,
            brightness: a.brightness,
            light,
        });
    }
    if let Some(buzzer) = &a.buzzer {
        let Some(patterns) = c.buzzers.get(buzzer) else {
            let known: BTreeSet<String> = c.buzzers.keys().cloned().collect();
            p.push(
                Problem::new(format!("{key}.buzzer"), format!("unknown buzzer `{buzzer}`"))
                    .allowed(allowed(&known, "buzzers", "buzzers")),
            );
            return None;
        };
        let pattern = a.pattern.clone().unwrap_or_default();
        if !patterns.contains(&pattern) {
            let list = if patterns.is_empty() {
                format!("{buzzer} has no patterns declared")
            } else {
                patterns.iter().cloned().collect::<Vec<_>>().join(", ")
            };
            p.push(
                Problem::new(
                    format!("{key}.pattern"),
                    format!("unknown pattern `{pattern}` of {buzzer}"),
                )
                .allowed(list),
            );
            return None;
        }
        let (node, name) = buzzer.split_once('/')?;
        return Some(Action::Buzz { node: node.into(), buzzer: name.into(), pattern });
    }
    let topic = a.publish.clone().unwrap_or_default();
    match Topic::new(topic) {
        Ok(topic) => Some(Action::Publish {
            topic,
            payload: a.payload.clone().unwrap_or_default(),
            retain: a.retain,
        }),
        Err(e) => {
            p.push(
                Problem::new(format!("{key}.publish"), e.to_string())
                    .allowed("a topic without + or #"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Root {
        #[serde(default)]
        rooms: RoomsConfig,
    }

    const SOURCES: &str = r#"
[rooms.sources.n1]
cameras = { kitchen_cam = [] }
motion = ["hall_pir"]
relays = ["kitchen_light"]
sensors = { bme280 = ["temperature"] }

[rooms.sources.n2]
cameras = { lounge_cam = ["sofa", "desk"] }
mics = ["lounge_mic"]
doors = ["lounge_door"]
lights = ["lounge_lamp"]
buzzers = { buzzer = ["chime"] }
"#;

    const ROOMS: &str = r#"
[rooms.kitchen]
cameras = ["n1/kitchen_cam"]

[rooms.hall]
motion = ["n1/hall_pir"]

[rooms.lounge]
cameras = ["n2/lounge_cam/sofa"]
mics = ["n2/lounge_mic"]
doors = ["n2/lounge_door"]
"#;

    fn parse(extra: &str) -> Result<House, ConfigError> {
        let text = format!("{SOURCES}{ROOMS}{extra}");
        let file = ConfigFile::from_text("roomsense.toml", text);
        let mut house = None;
        file.parse(|r: &Root, p| house = r.rooms.validate(p))?;
        Ok(house.expect("a valid file should give a house"))
    }

    /// The one problem of a file with `extra` appended: (line, key, message, allowed).
    fn problem(extra: &str) -> (Option<usize>, String, String, String) {
        let err = parse(extra).expect_err("should be refused");
        let problems = err.problems();
        assert_eq!(problems.len(), 1, "{err}");
        let p = &problems[0];
        (
            p.line,
            p.problem.key.clone(),
            p.problem.message.clone(),
            p.problem.allowed.clone().unwrap_or_default(),
        )
    }

    fn line_of(extra: &str, needle: &str) -> Option<usize> {
        let text = format!("{SOURCES}{ROOMS}{extra}");
        text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
    }

    #[test]
    fn a_good_file_gives_rooms_in_key_order_with_their_sources() {
        let house = parse("").unwrap();
        let ids: Vec<&str> = house.rooms.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["hall", "kitchen", "lounge"]);
        let lounge = &house.rooms[2];
        assert_eq!(lounge.name, "Lounge");
        let sources: Vec<String> = lounge.sources.iter().map(ToString::to_string).collect();
        assert_eq!(
            sources,
            ["camera n2/lounge_cam/sofa", "voice n2/lounge_mic", "door n2/lounge_door"]
        );
        assert_eq!(lounge.locator_rooms, ["lounge"]);
        assert_eq!(lounge.camera_veto, Some(Duration::from_secs(180)));
        assert_eq!(house.params, FusionParams::default());
        assert!(house.people.is_none());
    }

    #[test]
    fn an_empty_section_is_valid() {
        let file = ConfigFile::from_text("r.toml", "");
        let mut house = None;
        file.parse(|r: &Root, p| house = r.rooms.validate(p)).unwrap();
        assert!(house.unwrap().rooms.is_empty());
    }

    #[test]
    fn an_unknown_camera_names_the_cameras_declared() {
        let extra = "[rooms.office]\ncameras = [\"n1/office_cam\"]\n";
        let (line, key, msg, allowed) = problem(extra);
        assert_eq!(key, "rooms.office.cameras[0]");
        assert_eq!(line, line_of(extra, "office_cam"));
        assert_eq!(msg, "unknown camera `n1/office_cam`");
        assert_eq!(allowed, "n1/kitchen_cam, n2/lounge_cam");
    }

    #[test]
    fn an_unknown_zone_names_the_zones_of_that_camera() {
        let (_, key, msg, allowed) = problem("[rooms.office]\ncameras = [\"n2/lounge_cam/bed\"]\n");
        assert_eq!(key, "rooms.office.cameras[0]");
        assert_eq!(msg, "unknown zone `bed` of camera n2/lounge_cam");
        assert_eq!(allowed, "n2/lounge_cam/desk, n2/lounge_cam/sofa");
    }

    #[test]
    fn an_unknown_mic_names_the_mics_declared() {
        let (_, key, msg, allowed) = problem("[rooms.office]\nmics = [\"n1/mic\"]\n");
        assert_eq!(key, "rooms.office.mics[0]");
        assert_eq!(msg, "unknown mic `n1/mic`");
        assert_eq!(allowed, "n2/lounge_mic");
    }

    #[test]
    fn an_unknown_input_names_the_inputs_declared() {
        let (_, key, msg, allowed) = problem("[rooms.office]\nmotion = [\"n1/office_pir\"]\n");
        assert_eq!(key, "rooms.office.motion[0]");
        assert_eq!(msg, "unknown motion input `n1/office_pir`");
        assert_eq!(allowed, "n1/hall_pir");
    }

    #[test]
    fn a_door_contact_used_as_a_motion_input_says_what_it_is() {
        let (_, _, msg, allowed) = problem("[rooms.office]\nmotion = [\"n2/lounge_door\"]\n");
        assert_eq!(msg, "`n2/lounge_door` is a door contact, not a motion input");
        assert_eq!(allowed, "n1/hall_pir");
    }

    #[test]
    fn nothing_declared_says_where_to_declare_it() {
        let file = ConfigFile::from_text("r.toml", "[rooms.office]\nmics = [\"n1/mic\"]\n");
        let err = file.parse(|r: &Root, p| drop(r.rooms.validate(p))).unwrap_err();
        assert!(err.to_string().contains("add them to [rooms.sources.<node>] mics"), "{err}");
    }

    #[test]
    fn a_source_in_two_rooms_is_refused() {
        let (_, key, msg, _) = problem("[rooms.office]\nmotion = [\"n1/hall_pir\"]\n");
        assert_eq!(key, "rooms.office");
        assert_eq!(msg, "`n1/hall_pir` is mapped to hall as well");
    }

    #[test]
    fn a_name_declared_twice_on_a_node_is_refused() {
        let extra = "[rooms.sources.n3]\nmotion = [\"x\"]\ndoors = [\"x\"]\n";
        let (_, key, msg, _) = problem(extra);
        assert_eq!(key, "rooms.sources.n3.doors");
        assert_eq!(msg, "`x` is declared twice on node n3");
    }

    #[test]
    fn an_unknown_locator_room_names_the_locators_rooms() {
        let extra = "[rooms.locator]\nrooms = [\"kitchen\", \"hall\", \"living\"]\n";
        let (_, key, msg, allowed) = problem(extra);
        assert_eq!(key, "rooms.lounge.locator_rooms[0]");
        assert_eq!(msg, "unknown locator room `lounge`");
        assert_eq!(allowed, "hall, kitchen, living");
    }

    #[test]
    fn a_device_of_two_people_is_refused() {
        let (_, key, msg, _) =
            problem("[rooms.people]\nann = [\"phone:1\"]\nbob = [\"phone:1\"]\n");
        assert_eq!(key, "rooms.people.bob");
        assert_eq!(msg, "device `phone:1` also belongs to ann");
    }

    #[test]
    fn a_bad_room_id_is_refused() {
        let (_, key, _, allowed) = problem("[rooms.Office]\n");
        assert_eq!(key, "rooms.Office");
        assert!(allowed.contains("fusion, sources, locator, people, automations"), "{allowed}");
    }

    #[test]
    fn an_unknown_key_in_a_room_names_the_keys_allowed() {
        let (_, key, msg, allowed) = problem("[rooms.office]\ncamera = [\"n1/kitchen_cam\"]\n");
        assert_eq!(key, "rooms.office.camera");
        assert_eq!(msg, "unknown key");
        assert!(allowed.contains("cameras"), "{allowed}");
    }

    #[test]
    fn fusion_thresholds_must_leave_room_for_hysteresis() {
        let (_, key, msg, _) = problem("[rooms.fusion]\noccupied_at = 1.0\nempty_below = 1.5\n");
        assert_eq!(key, "rooms.fusion.empty_below");
        assert!(msg.contains("must be below occupied_at"));
        let (_, key, _, allowed) = problem("[rooms.fusion.voice]\nweight = 20\n");
        assert_eq!(key, "rooms.fusion.voice.weight");
        assert_eq!(allowed, "0 to 10");
    }

    #[test]
    fn fusion_overrides_keep_the_other_defaults_of_their_kind() {
        let house = parse("[rooms.fusion.voice]\nhold_s = 5\n").unwrap();
        let voice = house.params.of(Kind::Voice);
        assert_eq!(voice.hold, Duration::from_secs(5));
        assert_eq!(voice.decay, Kind::Voice.defaults().decay);
    }

    const RULE: &str = "[rooms.automations.r]\n";

    #[test]
    fn a_rule_on_an_unknown_room_names_the_rooms() {
        let extra = format!(
            "{RULE}trigger = {{ room = \"garage\", becomes = \"occupied\" }}\nactions = [{{ output = \"n1/kitchen_light\", set = \"ON\" }}]\n"
        );
        let (line, key, msg, allowed) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.trigger.room");
        assert_eq!(line, line_of(&extra, "garage"));
        assert_eq!(msg, "unknown room `garage`");
        assert_eq!(allowed, "hall, kitchen, lounge");
    }

    #[test]
    fn a_rule_with_two_triggers_in_one_is_refused() {
        let extra = format!(
            "{RULE}trigger = {{ room = \"hall\", becomes = \"empty\", empty_for_s = 5 }}\nactions = [{{ publish = \"x\" }}]\n"
        );
        let (_, key, msg, _) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.trigger");
        assert_eq!(msg, "needs exactly one of becomes, empty_for_s, sensor");
    }

    #[test]
    fn a_rule_on_an_unknown_sensor_names_the_sensors() {
        let extra = format!(
            "{RULE}trigger = {{ sensor = \"n1/bme280/co2\", above = 1000 }}\nactions = [{{ publish = \"x\" }}]\n"
        );
        let (_, key, msg, allowed) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.trigger.sensor");
        assert_eq!(msg, "unknown sensor `n1/bme280/co2`");
        assert!(allowed.contains("n1/bme280/temperature"), "{allowed}");
        assert!(allowed.contains("n2/lounge_mic/level"), "{allowed}");
        assert!(allowed.contains("n2/lounge_cam/sofa/person"), "{allowed}");
    }

    #[test]
    fn a_sensor_trigger_needs_a_direction() {
        let extra = format!(
            "{RULE}trigger = {{ sensor = \"n1/bme280/temperature\" }}\nactions = [{{ publish = \"x\" }}]\n"
        );
        let (_, _, msg, _) = problem(&extra);
        assert_eq!(msg, "a sensor trigger needs one of above, below");
    }

    #[test]
    fn a_condition_on_an_unknown_room_is_refused() {
        let extra = format!(
            "{RULE}trigger = {{ room = \"hall\", becomes = \"occupied\" }}\nconditions = [{{ room = \"attic\", is = \"empty\" }}]\nactions = [{{ publish = \"x\" }}]\n"
        );
        let (_, key, msg, _) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.conditions[0].room");
        assert_eq!(msg, "unknown room `attic`");
    }

    #[test]
    fn a_bad_time_of_day_is_refused() {
        let extra = format!(
            "{RULE}trigger = {{ room = \"hall\", becomes = \"occupied\" }}\nconditions = [{{ after = \"25:00\" }}]\nactions = [{{ publish = \"x\" }}]\n"
        );
        let (_, key, msg, allowed) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.conditions[0].after");
        assert_eq!(msg, "`25:00` is not a time of day");
        assert!(allowed.starts_with("HH:MM"));
    }

    #[test]
    fn a_rule_without_actions_is_refused() {
        let extra = format!("{RULE}trigger = {{ room = \"hall\", becomes = \"occupied\" }}\n");
        let (_, key, msg, _) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.actions");
        assert!(msg.starts_with("no actions"));
    }

    #[test]
    fn an_action_on_an_unknown_output_names_the_outputs() {
        let extra = format!(
            "{RULE}trigger = {{ room = \"hall\", becomes = \"occupied\" }}\nactions = [{{ output = \"n1/hall_light\", set = \"ON\" }}]\n"
        );
        let (_, key, msg, allowed) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.actions[0].output");
        assert_eq!(msg, "unknown output `n1/hall_light`");
        assert_eq!(allowed, "n1/kitchen_light, n2/lounge_lamp");
    }

    #[test]
    fn an_output_state_other_than_on_or_off_is_refused() {
        let extra = format!(
            "{RULE}trigger = {{ room = \"hall\", becomes = \"occupied\" }}\nactions = [{{ output = \"n1/kitchen_light\", set = \"DIM\" }}]\n"
        );
        let (_, key, msg, allowed) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.actions[0].set");
        assert_eq!(msg, "unknown value `DIM`");
        assert_eq!(allowed, "ON or OFF");
    }

    #[test]
    fn an_unknown_buzzer_pattern_names_the_patterns() {
        let extra = format!(
            "{RULE}trigger = {{ room = \"hall\", becomes = \"occupied\" }}\nactions = [{{ buzzer = \"n2/buzzer\", pattern = \"siren\" }}]\n"
        );
        let (_, key, msg, allowed) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.actions[0].pattern");
        assert_eq!(msg, "unknown pattern `siren` of n2/buzzer");
        assert_eq!(allowed, "chime");
    }

    #[test]
    fn publishing_to_a_wildcard_is_refused() {
        let extra = format!(
            "{RULE}trigger = {{ room = \"hall\", becomes = \"occupied\" }}\nactions = [{{ publish = \"home/#\" }}]\n"
        );
        let (_, key, _, allowed) = problem(&extra);
        assert_eq!(key, "rooms.automations.r.actions[0].publish");
        assert_eq!(allowed, "a topic without + or #");
    }

    #[test]
    fn a_full_rule_is_resolved() {
        let extra = format!(
            "{RULE}trigger = {{ room = \"kitchen\", empty_for_s = 120 }}\nconditions = [{{ after = \"22:00\" }}, {{ room = \"hall\", is = \"empty\" }}]\nactions = [{{ output = \"n2/lounge_lamp\", set = \"ON\", brightness = 40 }}, {{ buzzer = \"n2/buzzer\", pattern = \"chime\" }}, {{ publish = \"home/note\", payload = \"bye\" }}]\n"
        );
        let house = parse(&extra).unwrap();
        let r = &house.rules[0];
        assert_eq!(r.trigger, Trigger::EmptyFor { room: 1, after: Duration::from_secs(120) });
        assert_eq!(
            r.conditions,
            vec![
                Condition::Time { after: TimeOfDay(22 * 60), before: TimeOfDay(0) },
                Condition::Room { room: 0, is: Occupancy::Empty }
            ]
        );
        let actions: Vec<String> = r.actions.iter().map(ToString::to_string).collect();
        assert_eq!(
            actions,
            [
                "set n2/lounge_lamp ON brightness 40",
                "play chime on n2/buzzer",
                "publish \"bye\" to home/note"
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let extra = "[rooms.office]\nmics = [\"n1/a\"]\nmotion = [\"n1/b\"]\n[rooms.fusion]\nwasp_settle_s = -1\n";
        let err = parse(extra).unwrap_err();
        assert_eq!(err.problems().len(), 3, "{err}");
    }
}
