//! Constant-velocity Kalman filter on position, one independent (position, velocity) pair per axis.

use crate::config::MotionConfig;

/// One axis: state (p, v) and its 2×2 covariance.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    p: f64,
    v: f64,
    pp: f64,
    pv: f64,
    vv: f64,
}

impl Axis {
    fn new(p: f64, var: f64) -> Self {
        Axis { p, v: 0.0, pp: var, pv: 0.0, vv: 1.0 }
    }

    fn predict(&mut self, dt: f64, q: f64) {
        self.p += self.v * dt;
        // P = F P Fᵀ + Q with F = [[1, dt], [0, 1]] and white-noise acceleration Q.
        let (pp, pv, vv) = (self.pp, self.pv, self.vv);
        self.pp = pp + 2.0 * dt * pv + dt * dt * vv + q * dt.powi(4) / 4.0;
        self.pv = pv + dt * vv + q * dt.powi(3) / 2.0;
        self.vv = vv + q * dt * dt;
    }

    fn update(&mut self, z: f64, r: f64) {
        let s = self.pp + r;
        let (kp, kv) = (self.pp / s, self.pv / s);
        let innovation = z - self.p;
        self.p += kp * innovation;
        self.v += kv * innovation;
        let (pp, pv, vv) = (self.pp, self.pv, self.vv);
        self.pp = (1.0 - kp) * pp;
        self.pv = (1.0 - kp) * pv;
        self.vv = vv - kv * pv;
    }
}

/// The filter for one device.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Motion {
    axes: Option<[Axis; 3]>,
    last_ms: u64,
}

impl Motion {
    /// Forgets the track (the device was away).
    pub(crate) fn reset(&mut self) {
        self.axes = None;
    }

    /// The position predicted for `now_ms`, without changing the state.
    pub(crate) fn predicted(&self, now_ms: u64) -> Option<[f64; 3]> {
        let dt = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.axes.map(|axes| axes.map(|a| a.p + a.v * dt))
    }

    /// Current position and its per-axis variance.
    pub(crate) fn position(&self) -> Option<([f64; 3], [f64; 3])> {
        self.axes.map(|axes| (axes.map(|a| a.p), axes.map(|a| a.pp)))
    }

    /// Folds in a measured position with per-axis variance `var` at `now_ms`; `weight` in (0, 1]
    /// is how much of the measurement is new (one fresh reading out of several gives less).
    pub(crate) fn update(
        &mut self,
        now_ms: u64,
        measured: [f64; 3],
        var: [f64; 3],
        weight: f64,
        cfg: &MotionConfig,
    ) {
        let Some(axes) = &mut self.axes else {
            self.axes = Some([0, 1, 2].map(|i| Axis::new(measured[i], var[i])));
            self.last_ms = now_ms;
            return;
        };
        let dt = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        let q = cfg.accel_sigma_m_s2 * cfg.accel_sigma_m_s2;
        for a in axes.iter_mut() {
            a.predict(dt, q);
        }
        // A jump faster than a person walks is more likely noise than motion: inflate its error.
        let jump = ((measured[0] - axes[0].p).powi(2) + (measured[1] - axes[1].p).powi(2)).sqrt();
        let speed = jump / dt.max(0.25);
        let inflate =
            if speed > cfg.max_speed_m_s { (speed / cfg.max_speed_m_s).powi(2) } else { 1.0 };
        let weight = weight.clamp(1e-3, 1.0);
        for (i, a) in axes.iter_mut().enumerate() {
            a.update(measured[i], var[i] * inflate / weight);
        }
        self.last_ms = now_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_still_device_converges_on_the_mean_of_noisy_fixes() {
        let mut m = Motion::default();
        let cfg = MotionConfig::default();
        for i in 0..200u64 {
            let noise = if i % 2 == 0 { 0.5 } else { -0.5 };
            m.update(i * 1000, [3.0 + noise, 4.0 - noise, 1.0], [0.25; 3], 1.0, &cfg);
        }
        let (p, var) = m.position().expect("tracking");
        // Closer to the truth than any single fix (each is 0.5 m off).
        assert!((p[0] - 3.0).abs() < 0.35 && (p[1] - 4.0).abs() < 0.35, "{p:?}");
        assert!(var[0] < 0.25);
    }

    #[test]
    fn a_single_wild_jump_barely_moves_the_estimate() {
        let mut m = Motion::default();
        let cfg = MotionConfig::default();
        for i in 0..20u64 {
            m.update(i * 1000, [1.0, 1.0, 1.0], [0.25; 3], 1.0, &cfg);
        }
        m.update(20_000, [9.0, 1.0, 1.0], [0.25; 3], 1.0, &cfg);
        let (p, _) = m.position().expect("tracking");
        // Moves less than a quarter of the 8 m jump.
        assert!(p[0] < 3.0, "{p:?}");
    }

    #[test]
    fn a_walking_device_is_followed() {
        let mut m = Motion::default();
        let cfg = MotionConfig::default();
        for i in 0..30u64 {
            let x = 0.8 * i as f64;
            m.update(i * 1000, [x, 0.0, 1.0], [0.25; 3], 1.0, &cfg);
        }
        let (p, _) = m.position().expect("tracking");
        assert!((p[0] - 23.2).abs() < 1.0, "{p:?}");
    }
}
