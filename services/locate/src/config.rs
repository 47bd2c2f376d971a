//! The `[locate]` config section: the house model (floors, rooms, nodes, doors) and locator settings.
//!
//! Two stages (STYLE R7): serde reads what the user wrote into [`LocateConfig`];
//! [`LocateConfig::validate`] returns the [`Validated`] form the locator runs on, or every problem
//! with its key path. Nothing here can change at runtime: a change needs a restart of `locate`.
//!
//! ```toml
//! [locate]
//! estimator = "room_filter"
//! [locate.floors.ground]
//! z_min_m = 0.0
//! z_max_m = 2.7
//! [locate.rooms.kitchen]
//! floor = "ground"
//! polygon = [[0, 0], [4, 0], [4, 3], [0, 3]]
//! connects = ["hall"]
//! [locate.nodes.kitchen]
//! point = [3.8, 2.9, 2.0]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::domain::geometry;
use crate::domain::house::{Floor, House, Node, Room};
use crate::error::{ConfigProblem, ConfigProblems, Error, Result};

/// Which estimator decides a device's room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EstimatorKind {
    /// The room of the node reporting the shortest distance (what HA's `mqtt_room` does).
    NearestNode,
    /// Weighted robust multilateration with a constant-velocity Kalman filter; room by polygon.
    Multilateration,
    /// Multilateration plus a hidden-Markov filter over rooms with doors and hysteresis. Default.
    #[default]
    RoomFilter,
}

impl EstimatorKind {
    /// Every estimator, in the order reports list them.
    pub const ALL: [EstimatorKind; 3] =
        [EstimatorKind::NearestNode, EstimatorKind::Multilateration, EstimatorKind::RoomFilter];

    /// The name used in config, on the CLI and in reports.
    pub fn name(self) -> &'static str {
        match self {
            EstimatorKind::NearestNode => "nearest_node",
            EstimatorKind::Multilateration => "multilateration",
            EstimatorKind::RoomFilter => "room_filter",
        }
    }

    /// Parses a name given on the CLI.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| Error::UnknownEstimator { name: name.to_owned() })
    }
}

/// A floor as written: `[locate.floors.<id>]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorConfig {
    /// Display name; defaults to the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Lowest z in metres that belongs to this floor (required).
    pub z_min_m: f64,
    /// Highest z in metres that belongs to this floor (required).
    pub z_max_m: f64,
}

/// A room as written: `[locate.rooms.<id>]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomConfig {
    /// Display name; defaults to the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key of the floor the room is on (required).
    pub floor: String,
    /// Outline in metres, `[[x, y], ...]`, at least 3 corners, not closed (required).
    pub polygon: Vec<[f64; 2]>,
    /// Rooms reachable directly through a door or opening (either side may list it). Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connects: Vec<String>,
}

/// A node as written: `[locate.nodes.<id>]`; the key is the node's ESPresense room slug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Display name; defaults to the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Position in metres, `[x, y, z]`, z absolute (including the floor height) (required).
    pub point: [f64; 3],
    /// Room the node is in; default: the room whose polygon holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Floor the node is on; default: the floor whose z range holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
}

/// Which messages count and when a device is gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// A node's report is used for this long after it arrived (ms). Default 30000.
    pub report_max_age_ms: u64,
    /// A device no node has heard for this long is `not_home` (ms). Default 120000.
    pub away_timeout_ms: u64,
    /// Reports farther than this are ignored (m). Default 16, ESPresense's `max_distance`.
    pub max_distance_m: f64,
    /// Id prefixes to track (case-insensitive); empty tracks every id except `node:`. Default empty.
    pub include: Vec<String>,
    /// Id prefixes never tracked (case-insensitive). Default empty.
    pub exclude: Vec<String>,
    /// Most devices tracked at once; reports for more are rejected and counted. Default 512.
    pub max_devices: usize,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig {
            report_max_age_ms: 30_000,
            away_timeout_ms: 120_000,
            max_distance_m: 16.0,
            include: Vec::new(),
            exclude: Vec::new(),
            max_devices: 512,
        }
    }
}

/// The multilateration solver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SolverConfig {
    /// Height above the floor a carried device is assumed at, the z prior (m). Default 1.0.
    pub device_height_m: f64,
    /// Strength of that prior as a standard deviation (m). Default 0.5.
    pub height_sigma_m: f64,
    /// Range error that grows with distance, as a fraction of it (ESPresense ranges are
    /// log-normal). Default 0.3.
    pub range_sigma_fraction: f64,
    /// Smallest range error assumed, added in quadrature with `var` (m). Default 0.5.
    pub range_sigma_min_m: f64,
    /// Huber threshold in standard deviations: residuals beyond it count linearly. Default 1.5.
    pub huber_k: f64,
    /// Gauss-Newton iterations per update. Default 8.
    pub iterations: u32,
    /// Time constant of each device's learnt range scale (ms); 0 turns it off. Default 20000.
    pub range_scale_time_constant_ms: u64,
}

impl Default for SolverConfig {
    fn default() -> Self {
        SolverConfig {
            device_height_m: 1.0,
            height_sigma_m: 0.5,
            range_sigma_fraction: 0.3,
            range_sigma_min_m: 0.5,
            huber_k: 1.5,
            iterations: 8,
            range_scale_time_constant_ms: 20_000,
        }
    }
}

/// The constant-velocity Kalman filter on position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MotionConfig {
    /// Random acceleration, standard deviation (m/s²). Default 0.5.
    pub accel_sigma_m_s2: f64,
    /// Speed above which a jump is treated as noise: its measurement error is inflated (m/s).
    /// Default 1.5.
    pub max_speed_m_s: f64,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig { accel_sigma_m_s2: 0.5, max_speed_m_s: 1.5 }
    }
}

/// The hidden-Markov room filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoomFilterConfig {
    /// Rate of walking into a connected room, per second (1/s). Default 0.5.
    pub door_rate_per_s: f64,
    /// Rate of appearing in an unconnected room (through a wall: a bad earlier fix), per
    /// second (1/s). Default 0.002.
    pub wall_rate_per_s: f64,
    /// Time over which a full unit of room evidence accumulates (ms): larger is steadier and
    /// slower. Default 300.
    pub evidence_time_constant_ms: u64,
    /// Position error never assumed smaller than this when scoring rooms (m). Default 0.6.
    pub position_sigma_min_m: f64,
    /// The shown room changes only when the challenger is this many times as likely. Default 3.
    pub switch_ratio: f64,
    /// Weight of the position evidence (0 turns it off). Default 1.
    pub position_weight: f64,
    /// Weight of the nearest-node evidence: a room loses this much log-likelihood per metre
    /// of its closest node's range (0 turns it off). Default 2.
    pub proximity_weight_per_m: f64,
}

impl Default for RoomFilterConfig {
    fn default() -> Self {
        RoomFilterConfig {
            door_rate_per_s: 0.5,
            wall_rate_per_s: 0.002,
            evidence_time_constant_ms: 300,
            position_sigma_min_m: 0.6,
            switch_ratio: 3.0,
            position_weight: 1.0,
            proximity_weight_per_m: 2.0,
        }
    }
}

/// The lease that picks the one publishing locator when several run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaseConfig {
    /// How long a lease holds without renewal (ms). Default 10000.
    pub ttl_ms: u64,
    /// How often the holder renews (ms); must be under `ttl_ms`. Default 3000.
    pub renew_ms: u64,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig { ttl_ms: 10_000, renew_ms: 3_000 }
    }
}

/// The `[locate]` section as written. `Default` is an empty house with documented settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LocateConfig {
    /// Estimator whose rooms are published. Default `room_filter`.
    pub estimator: EstimatorKind,
    /// Floors by key.
    pub floors: BTreeMap<String, FloorConfig>,
    /// Rooms by key.
    pub rooms: BTreeMap<String, RoomConfig>,
    /// Nodes by ESPresense room slug.
    pub nodes: BTreeMap<String, NodeConfig>,
    /// Which messages count, time-outs.
    pub tracking: TrackingConfig,
    /// The multilateration solver.
    pub solver: SolverConfig,
    /// The Kalman filter.
    pub motion: MotionConfig,
    /// The room filter.
    pub room_filter: RoomFilterConfig,
    /// The multi-locator lease.
    pub lease: LeaseConfig,
}

/// Numbers the estimators run on, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatorSettings {
    /// See [`TrackingConfig`].
    pub tracking: TrackingConfig,
    /// See [`SolverConfig`].
    pub solver: SolverConfig,
    /// See [`MotionConfig`].
    pub motion: MotionConfig,
    /// See [`RoomFilterConfig`].
    pub room_filter: RoomFilterConfig,
    /// See [`LeaseConfig`].
    pub lease: LeaseConfig,
}

impl Default for LocatorSettings {
    fn default() -> Self {
        let c = LocateConfig::default();
        LocatorSettings {
            tracking: c.tracking,
            solver: c.solver,
            motion: c.motion,
            room_filter: c.room_filter,
            lease: c.lease,
        }
    }
}

/// The checked configuration: the house and the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// Estimator chosen in the config.
    pub estimator: EstimatorKind,
    /// The house model.
    pub house: House,
    /// The settings.
    pub settings: LocatorSettings,
}

fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl LocateConfig {
    /// Parses the `[locate]` table of a roomsense TOML file; other sections are left to their
    /// services. A file without `[locate]` gives the default (empty) section.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<Self> {
        #[derive(Deserialize)]
        struct Document {
            #[serde(default)]
            locate: Option<toml::Value>,
        }
        let syntax = |e: toml::de::Error| Error::ConfigSyntax {
            file: file.to_path_buf(),
            line: e.span().map_or(0, |s| line_of_offset(text, s.start)),
            message: e.message().to_owned(),
        };
        let doc: Document = toml::from_str(text).map_err(syntax)?;
        let Some(section) = doc.locate else {
            return Ok(LocateConfig::default());
        };
        // Re-parse the section alone so that serde's error names the key in `locate`.
        let section_text = toml::to_string(&section).map_err(|e| Error::ConfigSyntax {
            file: file.to_path_buf(),
            line: 0,
            message: e.to_string(),
        })?;
        toml::from_str::<LocateConfig>(&section_text).map_err(|e| Error::ConfigSyntax {
            file: file.to_path_buf(),
            line: line_of_key_message(text, e.message()),
            message: format!("[locate]: {}", e.message()),
        })
    }

    /// Parses and validates in one step, naming `file` and the line of each problem found.
    pub fn load(text: &str, file: &Path) -> Result<Validated> {
        let config = Self::from_toml_str(text, file)?;
        config.validate().map_err(|mut problems| {
            for p in &mut problems.0 {
                p.line = line_of_key(text, &p.key);
            }
            Error::ConfigInvalid { file: file.to_path_buf(), problems }
        })
    }

    /// Renders the section as TOML under a `[locate]` header.
    pub fn to_toml_string(&self) -> String {
        #[derive(Serialize)]
        struct Document<'a> {
            locate: &'a LocateConfig,
        }
        toml::to_string(&Document { locate: self }).expect("a LocateConfig should always serialize")
    }

    /// Checks everything and builds the house, or returns every problem with its key path.
    pub fn validate(&self) -> Result<Validated, ConfigProblems> {
        let mut problems = Vec::new();
        let mut problem = |key: String, message: String| {
            problems.push(ConfigProblem { key, line: None, message });
        };

        let floor_ids: Vec<&String> = self.floors.keys().collect();
        let mut floors = Vec::new();
        for (id, f) in &self.floors {
            let key = format!("locate.floors.{id}");
            if !is_slug(id) {
                problem(key.clone(), "floor keys are lower-case letters, digits and _".into());
            }
            if !(f.z_min_m.is_finite() && f.z_max_m.is_finite() && f.z_min_m < f.z_max_m) {
                problem(format!("{key}.z_max_m"), "must be a finite number above z_min_m".into());
            }
            floors.push(Floor {
                id: id.clone(),
                name: f.name.clone().unwrap_or_else(|| id.clone()),
                z_min_m: f.z_min_m,
                z_max_m: f.z_max_m,
            });
        }

        let room_ids: Vec<&String> = self.rooms.keys().collect();
        let room_index = |r: &str| room_ids.iter().position(|k| k.as_str() == r);
        let mut rooms = Vec::new();
        let mut edges = Vec::new();
        for (i, (id, r)) in self.rooms.iter().enumerate() {
            let key = format!("locate.rooms.{id}");
            if !is_slug(id) {
                problem(key.clone(), "room keys are lower-case letters, digits and _".into());
            }
            let floor = floor_ids.iter().position(|k| **k == r.floor);
            if floor.is_none() {
                problem(
                    format!("{key}.floor"),
                    format!("no floor {:?}: use one of {}", r.floor, list(&floor_ids)),
                );
            }
            let finite = r.polygon.iter().flatten().all(|v| v.is_finite());
            if r.polygon.len() < 3 || !finite {
                problem(
                    format!("{key}.polygon"),
                    "needs at least 3 corners [x, y] in metres, all finite".into(),
                );
            } else if geometry::signed_area(&r.polygon).abs() < 0.01 {
                problem(format!("{key}.polygon"), "encloses no area: corners are in a line".into());
            }
            for (j, other) in r.connects.iter().enumerate() {
                match room_index(other) {
                    Some(o) if o == i => problem(
                        format!("{key}.connects[{j}]"),
                        "a room cannot connect to itself".into(),
                    ),
                    Some(o) => edges.push((i, o)),
                    None => problem(
                        format!("{key}.connects[{j}]"),
                        format!("no room {other:?}: use one of {}", list(&room_ids)),
                    ),
                }
            }
            rooms.push(Room {
                id: id.clone(),
                name: r.name.clone().unwrap_or_else(|| id.clone()),
                floor: floor.unwrap_or(0),
                polygon: r.polygon.clone(),
            });
        }

        let mut nodes = Vec::new();
        for (id, n) in &self.nodes {
            let key = format!("locate.nodes.{id}");
            if !is_slug(id) {
                problem(
                    key.clone(),
                    "node keys are the node's ESPresense room slug: lower-case letters, digits and _"
                        .into(),
                );
            }
            if !n.point.iter().all(|v| v.is_finite()) {
                problem(format!("{key}.point"), "must be [x, y, z] in metres, all finite".into());
            }
            let floor = match &n.floor {
                Some(f) => {
                    let found = floor_ids.iter().position(|k| *k == f);
                    if found.is_none() {
                        problem(
                            format!("{key}.floor"),
                            format!("no floor {f:?}: use one of {}", list(&floor_ids)),
                        );
                    }
                    found
                }
                None => {
                    floors.iter().position(|f| n.point[2] >= f.z_min_m && n.point[2] <= f.z_max_m)
                }
            };
            let room = match &n.room {
                Some(r) => {
                    let found = room_index(r);
                    if found.is_none() {
                        problem(
                            format!("{key}.room"),
                            format!("no room {r:?}: use one of {}", list(&room_ids)),
                        );
                    }
                    found
                }
                None => rooms.iter().position(|r| {
                    floor.is_none_or(|f| f == r.floor)
                        && r.polygon.len() >= 3
                        && geometry::contains(&r.polygon, [n.point[0], n.point[1]])
                }),
            };
            nodes.push(Node {
                id: id.clone(),
                name: n.name.clone().unwrap_or_else(|| id.clone()),
                point: n.point,
                room,
                floor,
            });
        }

        let t = &self.tracking;
        if t.report_max_age_ms == 0 {
            problem("locate.tracking.report_max_age_ms".into(), "must be above 0".into());
        }
        if t.away_timeout_ms < t.report_max_age_ms {
            problem(
                "locate.tracking.away_timeout_ms".into(),
                "must be at least report_max_age_ms, or one missed report would send devices away"
                    .into(),
            );
        }
        if !(t.max_distance_m.is_finite() && t.max_distance_m > 0.0) {
            problem("locate.tracking.max_distance_m".into(), "must be above 0 metres".into());
        }
        if t.max_devices == 0 {
            problem("locate.tracking.max_devices".into(), "must be at least 1".into());
        }
        let s = &self.solver;
        for (name, v) in [
            ("height_sigma_m", s.height_sigma_m),
            ("range_sigma_fraction", s.range_sigma_fraction),
            ("range_sigma_min_m", s.range_sigma_min_m),
            ("huber_k", s.huber_k),
        ] {
            if !(v.is_finite() && v > 0.0) {
                problem(format!("locate.solver.{name}"), "must be a number above 0".into());
            }
        }
        if !s.device_height_m.is_finite() {
            problem("locate.solver.device_height_m".into(), "must be a finite number".into());
        }
        if !(1..=50).contains(&s.iterations) {
            problem("locate.solver.iterations".into(), "must be between 1 and 50".into());
        }
        for (name, v) in [
            ("accel_sigma_m_s2", self.motion.accel_sigma_m_s2),
            ("max_speed_m_s", self.motion.max_speed_m_s),
        ] {
            if !(v.is_finite() && v > 0.0) {
                problem(format!("locate.motion.{name}"), "must be a number above 0".into());
            }
        }
        let rf = &self.room_filter;
        for (name, v) in [
            ("door_rate_per_s", rf.door_rate_per_s),
            ("wall_rate_per_s", rf.wall_rate_per_s),
            ("position_sigma_min_m", rf.position_sigma_min_m),
        ] {
            if !(v.is_finite() && v > 0.0) {
                problem(format!("locate.room_filter.{name}"), "must be a number above 0".into());
            }
        }
        if rf.evidence_time_constant_ms == 0 {
            problem(
                "locate.room_filter.evidence_time_constant_ms".into(),
                "must be above 0".into(),
            );
        }
        for (name, v) in [
            ("position_weight", rf.position_weight),
            ("proximity_weight_per_m", rf.proximity_weight_per_m),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                problem(format!("locate.room_filter.{name}"), "must be a number, 0 or more".into());
            }
        }
        if !(rf.switch_ratio.is_finite() && rf.switch_ratio >= 1.0) {
            problem("locate.room_filter.switch_ratio".into(), "must be 1 or more".into());
        }
        if self.lease.renew_ms == 0 || self.lease.renew_ms >= self.lease.ttl_ms {
            problem("locate.lease.renew_ms".into(), "must be above 0 and below ttl_ms".into());
        }

        if !problems.is_empty() {
            return Err(ConfigProblems(problems));
        }
        Ok(Validated {
            estimator: self.estimator,
            house: House::new(floors, rooms, nodes, &edges),
            settings: LocatorSettings {
                tracking: self.tracking.clone(),
                solver: self.solver.clone(),
                motion: self.motion.clone(),
                room_filter: self.room_filter.clone(),
                lease: self.lease.clone(),
            },
        })
    }
}

fn list(keys: &[&String]) -> String {
    if keys.is_empty() {
        "(none defined)".to_owned()
    } else {
        keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
    }
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Best-effort line of a dotted key path: the line of its table header, then of the last
/// segment inside that table.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let key = key.split('[').next().unwrap_or(key);
    let parts: Vec<&str> = key.split('.').collect();
    for split in (1..=parts.len()).rev() {
        let header = format!("[{}]", parts[..split].join("."));
        let Some(start) = text.lines().position(|l| l.trim() == header) else { continue };
        if split == parts.len() {
            return Some(start + 1);
        }
        let field = parts[split];
        for (i, line) in text.lines().enumerate().skip(start + 1) {
            let l = line.trim_start();
            if l.starts_with('[') {
                break;
            }
            if l.strip_prefix(field).is_some_and(|rest| rest.trim_start().starts_with('=')) {
                return Some(i + 1);
            }
        }
        return Some(start + 1);
    }
    None
}

fn line_of_key_message(text: &str, message: &str) -> usize {
    // serde names the unknown or bad field in backticks; find its first occurrence.
    message
        .split('`')
        .nth(1)
        .and_then(|field| {
            text.lines().position(|l| {
                l.trim_start().strip_prefix(field).is_some_and(|r| r.trim_start().starts_with('='))
            })
        })
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUSE: &str = r#"
[mqtt]
host = "ignored by locate"

[locate]
estimator = "nearest_node"

[locate.floors.ground]
z_min_m = 0.0
z_max_m = 3.0

[locate.rooms.kitchen]
floor = "ground"
polygon = [[0, 0], [4, 0], [4, 3], [0, 3]]
connects = ["hall"]

[locate.rooms.hall]
floor = "ground"
polygon = [[4, 0], [6, 0], [6, 3], [4, 3]]

[locate.nodes.kitchen]
point = [1.0, 1.0, 2.0]

[locate.nodes.hall]
point = [5.0, 1.0, 2.0]
"#;

    #[test]
    fn the_default_config_is_valid() {
        assert!(LocateConfig::default().validate().is_ok());
    }

    #[test]
    fn a_house_file_loads_with_rooms_doors_and_nodes_resolved() {
        let v = LocateConfig::load(HOUSE, Path::new("house.toml")).expect("valid");
        assert_eq!(v.estimator, EstimatorKind::NearestNode);
        assert_eq!(v.house.rooms.len(), 2);
        assert!(v.house.connects(0, 1) && v.house.connects(1, 0));
        let hall = v.house.node("hall").expect("hall node");
        assert_eq!(v.house.nodes[hall].room.map(|r| v.house.rooms[r].id.as_str()), Some("hall"));
        assert_eq!(v.house.nodes[hall].floor, Some(0));
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path_and_line() {
        let bad = HOUSE
            .replace(r#"connects = ["hall"]"#, r#"connects = ["garage"]"#)
            .replace("polygon = [[4, 0], [6, 0], [6, 3], [4, 3]]", "polygon = [[4, 0], [6, 0]]")
            .replace("point = [5.0, 1.0, 2.0]", "point = [5.0, 1.0, 2.0]\nroom = \"attic\"");
        let Err(Error::ConfigInvalid { problems, .. }) =
            LocateConfig::load(&bad, Path::new("h.toml"))
        else {
            panic!("should be invalid");
        };
        let keys: Vec<&str> = problems.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "locate.rooms.hall.polygon",
                "locate.rooms.kitchen.connects[0]",
                "locate.nodes.hall.room"
            ]
        );
        assert!(problems.0[1].message.contains("use one of hall, kitchen"));
        assert_eq!(problems.0[0].line, Some(19));
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line() {
        let bad = HOUSE.replace("z_max_m = 3.0", "z_max_m = 3.0\nheight = 2");
        let Err(Error::ConfigSyntax { line, message, .. }) =
            LocateConfig::from_toml_str(&bad, Path::new("h.toml"))
        else {
            panic!("should be refused");
        };
        assert!(message.contains("height"), "{message}");
        assert_eq!(line, 11);
    }

    #[test]
    fn a_config_survives_a_round_trip_through_toml() {
        let v = LocateConfig::from_toml_str(HOUSE, Path::new("h.toml")).expect("parses");
        let again =
            LocateConfig::from_toml_str(&v.to_toml_string(), Path::new("h2.toml")).expect("parses");
        assert_eq!(v, again);
    }

    #[test]
    fn an_unknown_estimator_name_lists_the_valid_ones() {
        let e = EstimatorKind::from_name("bayes").expect_err("unknown");
        assert!(e.to_string().contains("nearest_node, multilateration, room_filter"));
    }
}
