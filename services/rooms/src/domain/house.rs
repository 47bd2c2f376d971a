//! The validated house: rooms and the evidence mapped to each, the fusion parameters, the
//! automations. Built only by `RoomsConfig::validate`, so every name in it exists.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use roomsense_core::Topic;
use serde::{Deserialize, Serialize};

/// The kinds of evidence a room can have; each has its own [`Params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A person count from a camera or a camera zone (vision).
    Camera,
    /// A PIR or other motion input (GPIO), ON/OFF.
    Motion,
    /// Voice activity from a microphone (audio), ON/OFF.
    Voice,
    /// A tracked device the locator puts in the room (one source per person).
    Device,
    /// A door contact (GPIO), ON = open. Drives "wasp in a box"; its weight counts a door that
    /// moves as activity (0 by default).
    Door,
}

impl Kind {
    /// Every kind, in the order the evidence lists them.
    pub const ALL: [Kind; 5] = [Kind::Camera, Kind::Motion, Kind::Voice, Kind::Device, Kind::Door];

    /// The name used in config and in evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Camera => "camera",
            Kind::Motion => "motion",
            Kind::Voice => "voice",
            Kind::Device => "device",
            Kind::Door => "door",
        }
    }

    /// Level signals say "someone is here now" for as long as they are on (a camera count, a
    /// located device); edge signals are held on upstream after the last trigger (a PIR's and a
    /// voice detector's hold), so only their rising edge is fresh news.
    pub fn is_level(self) -> bool {
        matches!(self, Kind::Camera | Kind::Device)
    }

    /// The documented defaults: (weight, hold, decay) in (score, s, s).
    pub fn defaults(self) -> Params {
        let (weight, hold_s, decay_s) = match self {
            Kind::Camera => (1.0, 30.0, 60.0),
            Kind::Motion => (1.0, 60.0, 60.0),
            Kind::Voice => (1.0, 60.0, 120.0),
            Kind::Device => (1.0, 15.0, 30.0),
            Kind::Door => (0.0, 10.0, 10.0),
        };
        Params {
            weight,
            hold: Duration::from_secs_f64(hold_s),
            decay: Duration::from_secs_f64(decay_s),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much one piece of evidence counts, and for how long after it stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Score while the evidence is on, and through the hold.
    pub weight: f64,
    /// How long the full weight stays after the evidence goes off.
    pub hold: Duration,
    /// How long the weight then takes to fall linearly to zero.
    pub decay: Duration,
}

/// The fusion model's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct FusionParams {
    /// An empty room becomes occupied when its score reaches this.
    pub occupied_at: f64,
    /// An occupied room becomes empty when its score falls below this (hysteresis).
    pub empty_below: f64,
    /// After a door closes, level evidence must still be on this long later to count as
    /// someone inside (the person closing the door from outside is still in view a moment).
    pub wasp_settle: Duration,
    /// Kinds of evidence that confirm someone is inside a closed room.
    pub wasp_confirms: Vec<Kind>,
    /// Per-kind weight, hold and decay.
    pub kinds: BTreeMap<Kind, Params>,
}

impl FusionParams {
    /// The parameters of `kind`.
    pub fn of(&self, kind: Kind) -> Params {
        self.kinds.get(&kind).copied().unwrap_or_else(|| kind.defaults())
    }
}

impl Default for FusionParams {
    fn default() -> Self {
        Self {
            occupied_at: 1.0,
            empty_below: 0.5,
            wasp_settle: Duration::from_secs(5),
            wasp_confirms: vec![Kind::Camera, Kind::Motion, Kind::Voice],
            kinds: Kind::ALL.iter().map(|k| (*k, k.defaults())).collect(),
        }
    }
}

/// Where a piece of mapped evidence comes from: `<node>/<name>` (`<node>/<camera>/<zone>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceRef {
    /// What kind of evidence it is.
    pub kind: Kind,
    /// The node that publishes it.
    pub node: String,
    /// Camera, mic or input name.
    pub name: String,
    /// A camera's zone, when the room gets one zone rather than the whole picture.
    pub zone: Option<String>,
}

impl SourceRef {
    /// `<node>/<name>[/<zone>]`, as written in the config.
    pub fn path(&self) -> String {
        match &self.zone {
            Some(zone) => format!("{}/{}/{zone}", self.node, self.name),
            None => format!("{}/{}", self.node, self.name),
        }
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.path())
    }
}

/// One room: its id, name, mapped evidence, and the locator rooms that mean this room.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSpec {
    /// The room's key: its topic level and entity id.
    pub id: String,
    /// What Home Assistant shows.
    pub name: String,
    /// Camera, zone, mic, motion and door evidence.
    pub sources: Vec<SourceRef>,
    /// Locator room ids whose devices count for this room.
    pub locator_rooms: Vec<String>,
    /// A device lying this long in the room while every camera of the room sees nobody stops
    /// counting (a phone left behind); `None` turns it off.
    pub camera_veto: Option<Duration>,
}

/// Whether a room is occupied, as triggers and conditions name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Occupancy {
    /// Someone is there.
    Occupied,
    /// Nobody is there.
    Empty,
}

impl Occupancy {
    /// From a bool.
    pub fn of(occupied: bool) -> Self {
        if occupied { Occupancy::Occupied } else { Occupancy::Empty }
    }

    /// The config and log name.
    pub fn as_str(self) -> &'static str {
        match self {
            Occupancy::Occupied => "occupied",
            Occupancy::Empty => "empty",
        }
    }
}

/// A numeric value a threshold trigger watches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SensorRef {
    /// A GPIO sensor's quantity (`<node>/<sensor>/<quantity>`, e.g. a BME280's temperature).
    Gpio {
        /// Node.
        node: String,
        /// Sensor name.
        sensor: String,
        /// Quantity (temperature, humidity, pressure).
        quantity: String,
    },
    /// A microphone's sound level in dB (`<node>/<mic>/level`).
    MicLevel {
        /// Node.
        node: String,
        /// Mic name.
        mic: String,
    },
    /// A camera's or zone's person count (`<node>/<camera>[/<zone>]/person`).
    PersonCount {
        /// Node.
        node: String,
        /// Camera name.
        camera: String,
        /// Zone.
        zone: Option<String>,
    },
}

impl fmt::Display for SensorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SensorRef::Gpio { node, sensor, quantity } => write!(f, "{node}/{sensor}/{quantity}"),
            SensorRef::MicLevel { node, mic } => write!(f, "{node}/{mic}/level"),
            SensorRef::PersonCount { node, camera, zone: None } => {
                write!(f, "{node}/{camera}/person")
            }
            SensorRef::PersonCount { node, camera, zone: Some(z) } => {
                write!(f, "{node}/{camera}/{z}/person")
            }
        }
    }
}

/// What starts an automation.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// The room changes to this state.
    Becomes {
        /// Room index in [`House::rooms`].
        room: usize,
        /// The state it changes to.
        to: Occupancy,
    },
    /// The room has been empty this long (once per empty spell; also counted from start).
    EmptyFor {
        /// Room index.
        room: usize,
        /// How long.
        after: Duration,
    },
    /// A sensor crosses a threshold: from at or below to above (`above`), or from at or above to
    /// below (`below`).
    Crosses {
        /// The sensor.
        sensor: SensorRef,
        /// The threshold.
        threshold: f64,
        /// True for `above`, false for `below`.
        upward: bool,
    },
}

/// A minute of the day, 0..1440, local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(pub u16);

impl TimeOfDay {
    /// Parses `HH:MM` (24 h).
    pub fn parse(text: &str) -> Option<Self> {
        let (h, m) = text.split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return None;
        }
        let h: u16 = h.parse().ok()?;
        let m: u16 = m.parse().ok()?;
        (h < 24 && m < 60).then_some(TimeOfDay(h * 60 + m))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// What must hold for an automation to act when triggered.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The local time is in `[after, before)`; wraps past midnight when `before <= after`.
    Time {
        /// From (inclusive); midnight when not given.
        after: TimeOfDay,
        /// Until (exclusive); midnight when not given.
        before: TimeOfDay,
    },
    /// Another (or the same) room is in this state.
    Room {
        /// Room index.
        room: usize,
        /// The state it must be in.
        is: Occupancy,
    },
}

/// What an automation does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Switch a relay or light output of a node.
    SetOutput {
        /// Node.
        node: String,
        /// Output name.
        output: String,
        /// ON or OFF.
        on: bool,
        /// For a light: brightness 0..=255 (JSON command); `None` for a relay (plain ON/OFF).
        brightness: Option<u8>,
        /// Whether the output is a light (JSON command schema) rather than a relay.
        light: bool,
    },
    /// Play a named pattern on a buzzer.
    Buzz {
        /// Node.
        node: String,
        /// Buzzer name.
        buzzer: String,
        /// Pattern name.
        pattern: String,
    },
    /// Publish a message.
    Publish {
        /// Where.
        topic: Topic,
        /// What.
        payload: String,
        /// Whether the broker keeps it.
        retain: bool,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::SetOutput { node, output, on, brightness, .. } => {
                write!(f, "set {node}/{output} {}", if *on { "ON" } else { "OFF" })?;
                if let Some(b) = brightness {
                    write!(f, " brightness {b}")?;
                }
                Ok(())
            }
            Action::Buzz { node, buzzer, pattern } => {
                write!(f, "play {pattern} on {node}/{buzzer}")
            }
            Action::Publish { topic, payload, .. } => write!(f, "publish {payload:?} to {topic}"),
        }
    }
}

/// One automation: a trigger, conditions that must all hold, actions in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule's key: its event topic and entity id.
    pub id: String,
    /// What starts it.
    pub trigger: Trigger,
    /// What must hold when it starts.
    pub conditions: Vec<Condition>,
    /// What it does.
    pub actions: Vec<Action>,
}

/// The validated `[rooms]` section: everything the fusion and the automations run on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct House {
    /// The fusion model's parameters.
    pub params: FusionParams,
    /// Rooms, in key order; indices are room ids for the rest of the crate.
    pub rooms: Vec<RoomSpec>,
    /// Device id → person, when people are declared; `None` counts every device as a person.
    pub people: Option<BTreeMap<String, String>>,
    /// Automations, in key order.
    pub rules: Vec<Rule>,
    /// Most devices followed at once when people are not declared.
    pub max_devices: usize,
}

impl House {
    /// The index of room `id`.
    pub fn room_index(&self, id: &str) -> Option<usize> {
        self.rooms.iter().position(|r| r.id == id)
    }

    /// Every sensor a rule watches.
    pub fn watched_sensors(&self) -> Vec<SensorRef> {
        let mut out: Vec<SensorRef> = self
            .rules
            .iter()
            .filter_map(|r| match &r.trigger {
                Trigger::Crosses { sensor, .. } => Some(sensor.clone()),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_24_hour_hh_mm() {
        assert_eq!(TimeOfDay::parse("07:30"), Some(TimeOfDay(450)));
        assert_eq!(TimeOfDay::parse("7:05"), Some(TimeOfDay(425)));
        assert_eq!(TimeOfDay::parse("23:59"), Some(TimeOfDay(1439)));
        for bad in ["24:00", "12:60", "noon", "12", "12:5", ":30", "-1:00"] {
            assert_eq!(TimeOfDay::parse(bad), None, "{bad}");
        }
        assert_eq!(TimeOfDay(425).to_string(), "07:05");
    }

    #[test]
    fn a_source_names_itself_as_written_in_the_config() {
        let s = SourceRef {
            kind: Kind::Camera,
            node: "n2".into(),
            name: "lounge_cam".into(),
            zone: Some("sofa".into()),
        };
        assert_eq!(s.to_string(), "camera n2/lounge_cam/sofa");
    }
}
