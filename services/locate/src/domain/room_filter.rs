//! The room decision that does not flap: a hidden-Markov filter over rooms on top of the tracker.
//!
//! Hidden state: the room. Transitions happen in continuous time: at `door_rate_per_s` into each
//! connected room, at `wall_rate_per_s` into any other (only to recover from a bad start).
//! Evidence: the Kalman position scored against each room's polygon with the position's own
//! uncertainty, weighed by the time since the last update (so six nodes reporting at once count
//! like one). The shown room changes only when another is `switch_ratio` times as likely.
//! When the device is not heard, the filter holds; the locator decides `not_home`.

use super::estimator::{Estimator, Fix, Reading};
use super::geometry;
use super::house::House;
use super::multilaterate::{Track, Tracker};
use crate::config::{EstimatorKind, LocatorSettings, RoomFilterConfig};

/// Probability never let below this, so a room can always come back.
const FLOOR_PROBABILITY: f64 = 1e-9;

/// Room filter estimator for one device.
#[derive(Debug, Clone)]
pub(crate) struct RoomFilter {
    tracker: Tracker,
    cfg: RoomFilterConfig,
    belief: Vec<f64>,
    scratch: Vec<f64>,
    shown: Option<usize>,
    last_ms: Option<u64>,
}

impl RoomFilter {
    /// A fresh filter for one device (allocates its belief vector once).
    pub(crate) fn new(house: &House, settings: &LocatorSettings) -> Self {
        let n = house.rooms.len();
        RoomFilter {
            tracker: Tracker::new(settings),
            cfg: settings.room_filter.clone(),
            belief: vec![0.0; n],
            scratch: vec![0.0; n],
            shown: None,
            last_ms: None,
        }
    }

    fn transition(&mut self, house: &House, dt_s: f64) {
        let n = self.belief.len();
        let p_door = 1.0 - (-self.cfg.door_rate_per_s * dt_s).exp();
        let p_wall = 1.0 - (-self.cfg.wall_rate_per_s * dt_s).exp();
        self.scratch.iter_mut().for_each(|v| *v = 0.0);
        for a in 0..n {
            let mass = self.belief[a];
            let mut left = 0.0;
            for b in 0..n {
                if a == b {
                    continue;
                }
                let p = if house.connects(a, b) { p_door } else { p_wall / n as f64 };
                self.scratch[b] += mass * p;
                left += mass * p;
            }
            self.scratch[a] += mass - left.min(mass);
        }
        std::mem::swap(&mut self.belief, &mut self.scratch);
    }

    /// Scores each room two ways: how far outside it the position is, in the position's
    /// standard deviation along the direction to the room (the error is rarely round); and how
    /// close the room's own nearest node says the device is (nearest-node evidence, which
    /// holds up where walls bend ranges).
    fn evidence(&mut self, house: &House, t: &Track, readings: &[Option<Reading>], weight: f64) {
        let p = [t.point[0], t.point[1]];
        let min_var = self.cfg.position_sigma_min_m.powi(2);
        // Shortest range reported by a node in each room; rooms whose nodes are silent get the
        // longest range heard, so that silence counts against them without ruling them out.
        let longest = readings.iter().flatten().map(|r| r.distance_m).fold(0.0, f64::max);
        self.scratch.iter_mut().for_each(|v| *v = f64::INFINITY);
        for (node, r) in house.nodes.iter().zip(readings) {
            if let (Some(room), Some(r)) = (node.room, r) {
                self.scratch[room] = self.scratch[room].min(r.distance_m);
            }
        }
        for (i, room) in house.rooms.iter().enumerate() {
            let mut z2 = 0.0;
            if let Some(q) = geometry::closest_point_if_outside(&room.polygon, p) {
                let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
                let d2 = dx * dx + dy * dy;
                let along = if d2 > 0.0 {
                    (dx * dx * t.var[0] + dy * dy * t.var[1]) / d2
                } else {
                    t.var[0]
                };
                z2 = d2 / along.max(min_var);
            }
            if t.floor.is_some_and(|f| f != room.floor) {
                z2 += 9.0 / t.var[2].max(min_var);
            }
            let nearest = if self.scratch[i].is_finite() { self.scratch[i] } else { longest };
            let loglik =
                -0.5 * self.cfg.position_weight * z2 - self.cfg.proximity_weight_per_m * nearest;
            self.belief[i] *= (weight * loglik).exp();
        }
        self.normalise();
    }

    fn normalise(&mut self) {
        let total: f64 = self.belief.iter().sum();
        if !(total.is_finite() && total > 0.0) {
            let uniform = 1.0 / self.belief.len() as f64;
            self.belief.iter_mut().for_each(|v| *v = uniform);
            return;
        }
        for v in &mut self.belief {
            *v = (*v / total).max(FLOOR_PROBABILITY);
        }
    }
}

impl Estimator for RoomFilter {
    fn kind(&self) -> EstimatorKind {
        EstimatorKind::RoomFilter
    }

    fn update(&mut self, house: &House, readings: &[Option<Reading>], now_ms: u64) -> Option<Fix> {
        let t = self.tracker.update(house, readings, now_ms)?;
        let fix = |room, confidence| Fix { room, floor: t.floor, point: Some(t.point), confidence };
        if self.belief.is_empty() {
            return Some(fix(None, 0.0));
        }
        match self.last_ms {
            None => {
                // First fix: start from the evidence alone.
                let uniform = 1.0 / self.belief.len() as f64;
                self.belief.iter_mut().for_each(|v| *v = uniform);
                self.evidence(house, &t, readings, 1.0);
            }
            Some(last) => {
                let dt_s = now_ms.saturating_sub(last) as f64 / 1000.0;
                if dt_s > 0.0 {
                    self.transition(house, dt_s);
                    let weight = dt_s * 1000.0 / self.cfg.evidence_time_constant_ms as f64;
                    self.evidence(house, &t, readings, weight.min(1.0));
                }
            }
        }
        self.last_ms = Some(now_ms);
        let best =
            (0..self.belief.len()).max_by(|&a, &b| self.belief[a].total_cmp(&self.belief[b]))?;
        let shown = match self.shown {
            Some(cur) if self.belief[best] < self.cfg.switch_ratio * self.belief[cur] => cur,
            _ => best,
        };
        self.shown = Some(shown);
        Some(Fix {
            room: Some(shown),
            floor: Some(house.rooms[shown].floor),
            point: Some(t.point),
            confidence: self.belief[shown],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LocateConfig;

    /// Three rooms in a row, 4 m each: a—b—c, doors a–b and b–c, a node in each.
    fn corridor() -> House {
        let text = r#"
[locate.floors.ground]
z_min_m = 0.0
z_max_m = 3.0
[locate.rooms.a]
floor = "ground"
polygon = [[0, 0], [4, 0], [4, 4], [0, 4]]
connects = ["b"]
[locate.rooms.b]
floor = "ground"
polygon = [[4, 0], [8, 0], [8, 4], [4, 4]]
connects = ["c"]
[locate.rooms.c]
floor = "ground"
polygon = [[8, 0], [12, 0], [12, 4], [8, 4]]
[locate.nodes.a]
point = [2.0, 2.0, 2.0]
[locate.nodes.b]
point = [6.0, 2.0, 2.0]
[locate.nodes.c]
point = [10.0, 2.0, 2.0]
"#;
        LocateConfig::load(text, std::path::Path::new("corridor.toml")).expect("valid").house
    }

    fn readings_at(house: &House, x: f64, at_ms: u64) -> Vec<Option<Reading>> {
        house
            .nodes
            .iter()
            .map(|n| {
                let d = ((x - n.point[0]).powi(2) + (2.0 - n.point[1]).powi(2) + 1.0).sqrt();
                Some(Reading { distance_m: d, var_m2: Some(0.05), at_ms })
            })
            .collect()
    }

    #[test]
    fn a_device_standing_on_a_wall_does_not_flap_between_the_two_rooms() {
        let house = corridor();
        let mut f = RoomFilter::new(&house, &LocatorSettings::default());
        let mut rooms = Vec::new();
        for i in 0..120u64 {
            // Jitter of ±0.5 m around the a|b wall at x = 4.
            let x = if i % 2 == 0 { 3.5 } else { 4.5 };
            let fix = f.update(&house, &readings_at(&house, x, i * 500), i * 500).expect("fix");
            rooms.push(fix.room);
        }
        let switches = rooms.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(switches <= 1, "{switches} switches: {rooms:?}");
    }

    #[test]
    fn a_walk_from_the_first_to_the_last_room_passes_the_middle_one() {
        let house = corridor();
        let mut f = RoomFilter::new(&house, &LocatorSettings::default());
        let mut seen = Vec::new();
        for i in 0..200u64 {
            let x = (0.06 * i as f64).min(11.0) + 1.0;
            let fix = f
                .update(&house, &readings_at(&house, x.min(11.0), i * 1000), i * 1000)
                .expect("fix");
            if seen.last() != Some(&fix.room) {
                seen.push(fix.room);
            }
        }
        assert_eq!(seen, [Some(0), Some(1), Some(2)]);
    }

    #[test]
    fn a_house_without_rooms_still_gives_a_position() {
        let mut house = corridor();
        house.rooms.clear();
        house.adjacent.clear();
        let mut f = RoomFilter::new(&house, &LocatorSettings::default());
        let fix = f.update(&house, &readings_at(&house, 6.0, 0), 0).expect("fix");
        assert_eq!(fix.room, None);
        assert!(fix.point.is_some());
    }
}
