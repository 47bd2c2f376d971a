//! The validated house: floors, rooms, nodes and which rooms connect, indexed for the solver.

use std::collections::HashMap;

use super::geometry::{self, Point2};

/// A floor: a z range in metres.
#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    /// Config key, e.g. `ground`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Lowest z (m) that belongs to this floor.
    pub z_min_m: f64,
    /// Highest z (m) that belongs to this floor.
    pub z_max_m: f64,
}

/// A room: a polygon on one floor.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    /// Config key, e.g. `kitchen`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Index into [`House::floors`].
    pub floor: usize,
    /// Outline in metres.
    pub polygon: Vec<Point2>,
}

/// A receiving node (roomsense board or ESP32 ESPresense node).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's ESPresense room slug: the last topic segment of its device messages.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Position in metres, `[x, y, z]`.
    pub point: [f64; 3],
    /// Room the node stands in (index into [`House::rooms`]), if any.
    pub room: Option<usize>,
    /// Floor the node stands on (index into [`House::floors`]), if any.
    pub floor: Option<usize>,
}

/// The house model the estimators run on. Built by [`crate::LocateConfig::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct House {
    /// Floors, in config key order.
    pub floors: Vec<Floor>,
    /// Rooms, in config key order.
    pub rooms: Vec<Room>,
    /// Nodes, in config key order.
    pub nodes: Vec<Node>,
    /// `adjacent[a * rooms.len() + b]`: a device can walk from room a to room b directly.
    pub adjacent: Vec<bool>,
    /// Plan bounds `[[x_min, y_min], [x_max, y_max]]` (m): the rooms' outlines plus half a metre,
    /// or the nodes plus two metres when there are no rooms. Fixes are kept inside.
    pub bounds: Option<[[f64; 2]; 2]>,
    node_index: HashMap<String, usize>,
}

impl House {
    /// Builds the indexes; the caller has checked that every reference is valid.
    pub(crate) fn new(
        floors: Vec<Floor>,
        rooms: Vec<Room>,
        nodes: Vec<Node>,
        edges: &[(usize, usize)],
    ) -> Self {
        let n = rooms.len();
        let mut adjacent = vec![false; n * n];
        for &(a, b) in edges {
            adjacent[a * n + b] = true;
            adjacent[b * n + a] = true;
        }
        let node_index = nodes.iter().enumerate().map(|(i, node)| (node.id.clone(), i)).collect();
        let grow = |pts: &mut dyn Iterator<Item = [f64; 2]>, margin: f64| {
            let first = pts.next()?;
            let (lo, hi) = pts.fold((first, first), |(lo, hi), p| {
                ([lo[0].min(p[0]), lo[1].min(p[1])], [hi[0].max(p[0]), hi[1].max(p[1])])
            });
            Some([[lo[0] - margin, lo[1] - margin], [hi[0] + margin, hi[1] + margin]])
        };
        let bounds = grow(&mut rooms.iter().flat_map(|r| r.polygon.iter().copied()), 0.5)
            .or_else(|| grow(&mut nodes.iter().map(|n| [n.point[0], n.point[1]]), 2.0));
        House { floors, rooms, nodes, adjacent, bounds, node_index }
    }

    /// Index of the node whose slug is `id`.
    pub fn node(&self, id: &str) -> Option<usize> {
        self.node_index.get(id).copied()
    }

    /// Whether rooms `a` and `b` connect through a door or an opening.
    pub fn connects(&self, a: usize, b: usize) -> bool {
        self.adjacent[a * self.rooms.len() + b]
    }

    /// The floor whose z range holds `z`, preferring the first in key order.
    pub fn floor_at(&self, z: f64) -> Option<usize> {
        self.floors.iter().position(|f| z >= f.z_min_m && z <= f.z_max_m)
    }

    /// The room whose polygon holds `(x, y)`, or failing that the nearest one within `slack_m`
    /// (fixes and ground truth land inside walls and door frames).
    pub fn room_near(&self, floor: Option<usize>, p: Point2, slack_m: f64) -> Option<usize> {
        self.room_at(floor, p).or_else(|| {
            self.rooms
                .iter()
                .enumerate()
                .filter(|(_, r)| floor.is_none_or(|f| f == r.floor))
                .map(|(i, r)| (i, geometry::distance_outside(&r.polygon, p)))
                .filter(|&(_, d)| d <= slack_m)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        })
    }

    /// The room of `floor` whose polygon holds `(x, y)`.
    pub fn room_at(&self, floor: Option<usize>, p: Point2) -> Option<usize> {
        self.rooms
            .iter()
            .position(|r| floor.is_none_or(|f| f == r.floor) && geometry::contains(&r.polygon, p))
    }
}
