//! Multilateration estimator: robust solver, warm-started from the Kalman prediction; room by polygon.

use super::estimator::{Estimator, Fix, Reading};
use super::house::House;
use super::motion::Motion;
use super::solver;
use crate::config::{EstimatorKind, LocatorSettings, MotionConfig, SolverConfig};

/// A filtered position with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Track {
    /// Filtered position (m).
    pub point: [f64; 3],
    /// Per-axis variance of `point` (m²).
    pub var: [f64; 3],
    /// Floor the position is on, if any.
    pub floor: Option<usize>,
    /// Readings the solver used.
    pub used: usize,
}

/// Solver plus Kalman filter for one device; shared by [`Multilateration`] and the room filter.
#[derive(Debug, Clone)]
pub struct Tracker {
    motion: Motion,
    solver: SolverConfig,
    motion_cfg: MotionConfig,
    away_ms: u64,
    last_ms: u64,
}

impl Tracker {
    /// A tracker with the settings' solver and motion model.
    pub fn new(settings: &LocatorSettings) -> Self {
        Tracker {
            motion: Motion::default(),
            solver: settings.solver.clone(),
            motion_cfg: settings.motion.clone(),
            away_ms: settings.tracking.away_timeout_ms,
            last_ms: 0,
        }
    }

    /// Solves from `readings`, warm-started from the prediction, and filters the result.
    pub fn update(
        &mut self,
        house: &House,
        readings: &[Option<Reading>],
        now_ms: u64,
    ) -> Option<Track> {
        if now_ms.saturating_sub(self.last_ms) > self.away_ms {
            self.motion.reset();
        }
        let nearest = readings
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.map(|r| (i, r.distance_m)))
            .min_by(|a, b| a.1.total_cmp(&b.1))?
            .0;
        let floor_hint = house.nodes[nearest].floor;
        let z_prior =
            floor_hint.map_or(0.0, |f| house.floors[f].z_min_m) + self.solver.device_height_m;
        let start = match self.motion.predicted(now_ms) {
            Some(p) => p,
            None => solver::weighted_centroid(house, readings)?,
        };
        let s = solver::solve(house, readings, start, z_prior, &self.solver)?;
        let var = [s.cov[0][0], s.cov[1][1], s.cov[2][2]];
        // Only one reading is new per update; the others were already folded in.
        self.motion.update(now_ms, s.point, var, 1.0 / s.used as f64, &self.motion_cfg);
        self.last_ms = now_ms;
        let (point, var) = self.motion.position()?;
        let floor = house.floor_at(point[2]).or(floor_hint);
        Some(Track { point, var, floor, used: s.used })
    }
}

/// The room of a fix: the polygon that holds it, or the nearest within 1 m.
pub fn room_of(house: &House, floor: Option<usize>, point: [f64; 3]) -> Option<usize> {
    house.room_near(floor, [point[0], point[1]], 1.0)
}

/// Weighted robust multilateration with a Kalman filter; room by point-in-polygon.
#[derive(Debug, Clone)]
pub struct Multilateration {
    tracker: Tracker,
}

impl Multilateration {
    /// A fresh estimator for one device.
    pub fn new(_house: &House, settings: &LocatorSettings) -> Self {
        Multilateration { tracker: Tracker::new(settings) }
    }
}

impl Estimator for Multilateration {
    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Multilateration
    }

    fn update(&mut self, house: &House, readings: &[Option<Reading>], now_ms: u64) -> Option<Fix> {
        let t = self.tracker.update(house, readings, now_ms)?;
        let sigma = (t.var[0] + t.var[1]).sqrt();
        Some(Fix {
            room: room_of(house, t.floor, t.point),
            floor: t.floor,
            point: Some(t.point),
            confidence: 1.0 / (1.0 + sigma),
        })
    }
}
