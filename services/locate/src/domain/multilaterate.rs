//! Multilateration estimator: robust solver, warm-started from the Kalman prediction; room by polygon.

use super::estimator::{Estimator, Fix, Reading};
use super::house::House;
use super::motion::Motion;
use super::solver;
use crate::config::{EstimatorKind, LocatorSettings, MotionConfig, SolverConfig};

/// A filtered position with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Track {
    /// Filtered position (m).
    pub(crate) point: [f64; 3],
    /// Per-axis variance of `point` (m²).
    pub(crate) var: [f64; 3],
    /// Floor the position is on, if any.
    pub(crate) floor: Option<usize>,
    /// Readings the solver used.
    pub(crate) used: usize,
}

/// Solver plus Kalman filter for one device; shared by [`Multilateration`] and the room filter.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    motion: Motion,
    solver: SolverConfig,
    motion_cfg: MotionConfig,
    away_ms: u64,
    last_ms: u64,
    /// ln of the device's range scale: how much shorter its ranges really are than reported
    /// (a phone in a pocket, a tag on a walking body read 2–3× long on every node alike).
    log_scale: f64,
}

/// Range scale limits: a device's ranges are believed at most 4× too long or 1.5× too short.
const RANGE_SCALE_LIMITS: (f64, f64) = (0.25, 1.5);

impl Tracker {
    /// A tracker with the settings' solver and motion model.
    pub(crate) fn new(settings: &LocatorSettings) -> Self {
        Tracker {
            motion: Motion::default(),
            solver: settings.solver.clone(),
            motion_cfg: settings.motion.clone(),
            away_ms: settings.tracking.away_timeout_ms,
            last_ms: 0,
            log_scale: 0.0,
        }
    }

    /// Solves from `readings`, warm-started from the prediction, and filters the result.
    pub(crate) fn update(
        &mut self,
        house: &House,
        readings: &[Option<Reading>],
        now_ms: u64,
    ) -> Option<Track> {
        if now_ms.saturating_sub(self.last_ms) > self.away_ms {
            self.motion.reset();
            self.log_scale = 0.0;
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
        let scale = self.log_scale.exp();
        let s = solver::solve(house, readings, start, z_prior, scale, &self.solver)?;
        self.learn_scale(house, readings, s.point, now_ms);
        let var = [s.cov[0][0], s.cov[1][1], s.cov[2][2]];
        // Only one reading is new per update; the others were already folded in.
        self.motion.update(now_ms, s.point, var, 1.0 / s.used as f64, &self.motion_cfg);
        self.last_ms = now_ms;
        let (point, var) = self.motion.position()?;
        let floor = house.floor_at(point[2]).or(floor_hint);
        Some(Track { point, var, floor, used: s.used })
    }
}

impl Tracker {
    /// Moves the range scale towards what makes the ranges agree with the fix: the weighted
    /// mean of ln(fitted / reported), followed with `solver.range_scale_time_constant_ms`.
    fn learn_scale(
        &mut self,
        house: &House,
        readings: &[Option<Reading>],
        fix: [f64; 3],
        now_ms: u64,
    ) {
        let tau = self.solver.range_scale_time_constant_ms;
        if tau == 0 {
            return;
        }
        let (mut sum, mut total) = (0.0, 0.0);
        for (node, r) in house.nodes.iter().zip(readings) {
            let Some(r) = r else { continue };
            if r.distance_m < 0.1 {
                continue;
            }
            let p = node.point;
            let fitted =
                ((fix[0] - p[0]).powi(2) + (fix[1] - p[1]).powi(2) + (fix[2] - p[2]).powi(2))
                    .sqrt();
            let w = 1.0 / (1.0 + r.distance_m);
            sum += w * (fitted.max(0.1) / r.distance_m).ln();
            total += w;
        }
        if total == 0.0 {
            return;
        }
        let dt = now_ms.saturating_sub(self.last_ms).min(5_000) as f64;
        let alpha = 1.0 - (-dt / tau as f64).exp();
        self.log_scale = (self.log_scale + alpha * (sum / total - self.log_scale))
            .clamp(RANGE_SCALE_LIMITS.0.ln(), RANGE_SCALE_LIMITS.1.ln());
    }
}

/// The room of a fix: the polygon that holds it, or the nearest within 1 m.
pub(crate) fn room_of(house: &House, floor: Option<usize>, point: [f64; 3]) -> Option<usize> {
    house.room_near(floor, [point[0], point[1]], 1.0)
}

/// Weighted robust multilateration with a Kalman filter; room by point-in-polygon.
#[derive(Debug, Clone)]
pub(crate) struct Multilateration {
    tracker: Tracker,
}

impl Multilateration {
    /// A fresh estimator for one device.
    pub(crate) fn new(_house: &House, settings: &LocatorSettings) -> Self {
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
