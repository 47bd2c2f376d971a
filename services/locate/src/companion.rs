//! `roomsense locate import-companion FILE`: an ESPresense-companion `config.yaml` into `[locate]`.
//!
//! Floors (bounds → z range), rooms (points → polygon), nodes (point, floor) and `devices` id
//! globs (→ `tracking.include` prefixes) carry over. Companion has no doors, so rooms whose
//! outlines touch (within 0.3 m) are marked as connected; the output says so, to be reviewed.
//! Everything Companion-specific (mqtt, gps, map, locators, optimisation) is left out.
//! YAML is read with serde_norway: serde_yaml is deprecated, and serde_yml was archived after
//! soundness problems, while serde_norway is the maintained continuation of serde_yaml's code.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::config::{FloorConfig, LocateConfig, NodeConfig, RoomConfig};
use crate::domain::geometry;
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Companion {
    #[serde(default)]
    floors: Vec<CFloor>,
    #[serde(default)]
    nodes: Vec<CNode>,
    #[serde(default)]
    devices: Vec<CDevice>,
}

#[derive(Deserialize)]
struct CFloor {
    id: Option<String>,
    name: Option<String>,
    bounds: Option<Vec<Vec<f64>>>,
    #[serde(default)]
    rooms: Vec<CRoom>,
}

#[derive(Deserialize)]
struct CRoom {
    id: Option<String>,
    name: Option<String>,
    #[serde(default)]
    points: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct CNode {
    id: Option<String>,
    name: Option<String>,
    point: Option<Vec<f64>>,
    #[serde(default)]
    floors: Vec<String>,
    enabled: Option<bool>,
}

#[derive(Deserialize)]
struct CDevice {
    id: Option<String>,
    name: Option<String>,
}

/// Companion's id rule: lower-case, runs of anything but `[a-z0-9]` become `_`, trimmed.
fn snake(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// Converts the YAML text of a Companion config into `[locate]` TOML text (with review notes
/// as comments at the top). `file` names the input in errors.
pub fn import_companion(yaml: &str, file: &Path) -> Result<String> {
    let c: Companion = serde_norway::from_str(yaml).map_err(|e| Error::CompanionYaml {
        file: file.to_path_buf(),
        line: e.location().map_or(0, |l| l.line()),
        message: e.to_string(),
    })?;
    let unsupported = |key: String, message: &str| Error::CompanionUnsupported {
        file: file.to_path_buf(),
        key,
        message: message.to_owned(),
    };
    let mut notes = Vec::new();
    let mut config = LocateConfig::default();
    for (fi, f) in c.floors.iter().enumerate() {
        let id =
            f.id.clone()
                .or_else(|| f.name.as_deref().map(snake))
                .unwrap_or_else(|| format!("floor_{fi}"));
        let z = match f.bounds.as_deref() {
            Some([lo, hi]) if lo.len() == 3 && hi.len() == 3 => {
                (lo[2].min(hi[2]), lo[2].max(hi[2]))
            }
            _ => {
                return Err(unsupported(
                    format!("floors[{fi}].bounds"),
                    "needs [[x, y, z], [x, y, z]]",
                ));
            }
        };
        config
            .floors
            .insert(id.clone(), FloorConfig { name: f.name.clone(), z_min_m: z.0, z_max_m: z.1 });
        for (ri, r) in f.rooms.iter().enumerate() {
            let base =
                r.id.clone()
                    .or_else(|| r.name.as_deref().map(snake))
                    .unwrap_or_else(|| format!("room_{ri}"));
            let room_id =
                if config.rooms.contains_key(&base) { format!("{base}_{id}") } else { base };
            let mut polygon = Vec::new();
            for (pi, p) in r.points.iter().enumerate() {
                let [x, y, ..] = p[..] else {
                    return Err(unsupported(
                        format!("floors[{fi}].rooms[{ri}].points[{pi}]"),
                        "needs [x, y]",
                    ));
                };
                polygon.push([x, y]);
            }
            config.rooms.insert(
                room_id,
                RoomConfig {
                    name: r.name.clone(),
                    floor: id.clone(),
                    polygon,
                    connects: Vec::new(),
                },
            );
        }
    }
    connect_touching_rooms(&mut config);
    if config.rooms.values().any(|r| !r.connects.is_empty()) {
        notes.push("rooms whose outlines touch are marked as connected: remove the pairs with a wall and no door".to_owned());
    }
    for (ni, n) in c.nodes.iter().enumerate() {
        let Some(id) = n.id.clone().or_else(|| n.name.as_deref().map(snake)) else {
            return Err(unsupported(format!("nodes[{ni}]"), "a node needs an id or a name"));
        };
        if n.enabled == Some(false) {
            notes.push(format!("node {id} is disabled in Companion: left out"));
            continue;
        }
        let Some([x, y, z]) = n.point.as_deref().and_then(|p| <[f64; 3]>::try_from(p).ok()) else {
            notes.push(format!("node {id} has no point [x, y, z]: left out"));
            continue;
        };
        let floor = match n.floors.as_slice() {
            [] => None,
            [only] => Some(only.clone()),
            many => {
                let by_z = many.iter().find(|f| {
                    config.floors.get(*f).is_some_and(|fl| z >= fl.z_min_m && z <= fl.z_max_m)
                });
                Some(by_z.unwrap_or(&many[0]).clone())
            }
        };
        config
            .nodes
            .insert(id, NodeConfig { name: n.name.clone(), point: [x, y, z], room: None, floor });
    }
    for d in &c.devices {
        match (&d.id, &d.name) {
            (Some(id), _) => config.tracking.include.push(id.trim_end_matches('*').to_owned()),
            (None, Some(name)) => notes.push(format!(
                "device name glob {name:?} has no equivalent: track by id prefix instead"
            )),
            (None, None) => {}
        }
    }
    if config.tracking.include.iter().any(String::is_empty) {
        config.tracking.include.clear();
    }
    let mut out = String::from("# Imported from an ESPresense-companion config.\n");
    for n in &notes {
        out.push_str(&format!("# NOTE: {n}\n"));
    }
    out.push_str(&config.to_toml_string());
    Ok(out)
}

fn connect_touching_rooms(config: &mut LocateConfig) {
    let ids: Vec<String> = config.rooms.keys().cloned().collect();
    let mut pairs = BTreeMap::<String, Vec<String>>::new();
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            let (ra, rb) = (&config.rooms[a], &config.rooms[b]);
            if ra.floor != rb.floor || ra.polygon.len() < 3 || rb.polygon.len() < 3 {
                continue;
            }
            let near = ra.polygon.iter().any(|p| geometry::distance_outside(&rb.polygon, *p) < 0.3)
                || rb.polygon.iter().any(|p| geometry::distance_outside(&ra.polygon, *p) < 0.3);
            if near {
                pairs.entry(a.clone()).or_default().push(b.clone());
            }
        }
    }
    for (a, list) in pairs {
        if let Some(r) = config.rooms.get_mut(&a) {
            r.connects = list;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
mqtt:
  host: localhost
timeout: 30
floors:
  - id: first
    name: First Floor
    bounds: [[0, 0, 0], [10, 8, 2.5]]
    rooms:
      - name: Living Room
        points: [[0, 0], [5, 0], [5, 8], [0, 8]]
      - name: Kitchen
        points: [[5, 0], [10, 0], [10, 8], [5, 8]]
nodes:
  - name: Living Room
    point: [1, 1, 1.5]
    floors: ["first"]
  - name: Office Alt
    floors: ["first"]
devices:
  - id: "irk:*"
  - name: "*"
"#;

    #[test]
    fn a_companion_config_becomes_a_valid_house_with_review_notes() {
        let toml = import_companion(YAML, Path::new("config.yaml")).expect("converts");
        assert!(toml.contains("# NOTE: node office_alt has no point"), "{toml}");
        assert!(toml.contains("marked as connected"));
        let v = LocateConfig::load(&toml, Path::new("imported.toml")).expect("valid");
        assert_eq!(
            v.house.rooms.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["kitchen", "living_room"]
        );
        assert!(v.house.connects(0, 1));
        assert_eq!(v.house.nodes[0].id, "living_room");
        assert_eq!(v.house.nodes[0].room, Some(1));
        assert_eq!(v.settings.tracking.include, ["irk:"]);
    }

    #[test]
    fn broken_yaml_is_refused_with_its_line() {
        let e = import_companion("floors:\n  - id: [\n", Path::new("c.yaml")).expect_err("broken");
        assert!(matches!(e, Error::CompanionYaml { line, .. } if line > 0), "{e}");
    }

    #[test]
    fn a_floor_without_bounds_is_refused_with_its_key() {
        let e =
            import_companion("floors:\n  - id: a\n", Path::new("c.yaml")).expect_err("no bounds");
        assert!(e.to_string().contains("floors[0].bounds"), "{e}");
    }
}
