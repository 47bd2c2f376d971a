//! ESPresense v4's distance filter (`AdaptivePercentileRSSI`): a 15 s window of receiver-adjusted
//! RSSI samples, the mean of the samples inside the Tukey fence, then the log-distance model.

use std::collections::VecDeque;

/// Samples older than this are dropped.
pub(crate) const WINDOW_MS: u64 = 15_000;
/// The window's capacity is re-sized this often, from the observed advert rate.
const RESIZE_EVERY_MS: u64 = 10_000;
const MIN_CAP: usize = 10;
const MAX_CAP: usize = 200;
const INITIAL_CAP: usize = 20;

/// `10^((rssi@1m − rssi) / (10 · absorption))`, metres.
pub fn distance_m(rssi_1m: f32, rssi: f32, absorption: f32) -> f32 {
    10f32.powf((rssi_1m - rssi) / (10.0 * absorption))
}

/// 8 bytes: the time is kept as wrapping `u32` milliseconds, compared with `wrapping_sub`, which
/// is exact for ages under 49 days (samples leave after 15 s, devices after `forget_ms`).
#[derive(Debug, Clone, Copy)]
struct Sample {
    t_ms: u32,
    rssi: i16,
}

fn age_ms(now_ms: u64, t_ms: u32) -> u32 {
    (now_ms as u32).wrapping_sub(t_ms)
}

/// What the filter says about a device now: enough for the report decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Mean of the fenced samples (median if none is inside the fence), dBm.
    pub rssi: f32,
    /// Distance from `rssi`, metres.
    pub distance: f32,
}

/// The window's spread, computed only for a report that goes out (one `powf` per sample).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Population variance of the window's RSSI, dB².
    pub rssi_var: f32,
    /// Population variance of the per-sample distances, m².
    pub var: f32,
}

/// The per-device sample window.
#[derive(Debug, Clone)]
pub struct RssiWindow {
    samples: VecDeque<Sample>,
    cap: u16,
    period_start_ms: u64,
    period_count: u32,
}

impl RssiWindow {
    /// An empty window; `now_ms` starts the first rate period.
    pub fn new(now_ms: u64) -> RssiWindow {
        RssiWindow {
            samples: VecDeque::new(),
            cap: INITIAL_CAP as u16,
            period_start_ms: now_ms,
            period_count: 0,
        }
    }

    /// Adds one receiver-adjusted sample (`raw − rx_adj_rssi`) taken at `now_ms`.
    pub fn add(&mut self, rssi_adj: i16, now_ms: u64) {
        self.period_count = self.period_count.saturating_add(1);
        let elapsed = now_ms.saturating_sub(self.period_start_ms);
        if elapsed >= RESIZE_EVERY_MS {
            // ceil(rate · 15 s) · 1.5, within [10, 200].
            let per_window = (self.period_count as u64 * WINDOW_MS).div_ceil(elapsed);
            self.cap = (per_window * 3 / 2).clamp(MIN_CAP as u64, MAX_CAP as u64) as u16;
            self.period_start_ms = now_ms;
            self.period_count = 0;
        }
        self.prune(now_ms);
        while self.samples.len() >= self.cap as usize {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { t_ms: now_ms as u32, rssi: rssi_adj });
        if self.samples.capacity() > 2 * (self.cap as usize).max(8) {
            self.samples.shrink_to(self.cap as usize);
        }
    }

    fn prune(&mut self, now_ms: u64) {
        while self.samples.front().is_some_and(|s| age_ms(now_ms, s.t_ms) as u64 > WINDOW_MS) {
            self.samples.pop_front();
        }
    }

    /// Number of samples in the window.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// No samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The estimate from the current window (after dropping samples older than 15 s), or `None`
    /// if the window is empty.
    pub fn estimate(&mut self, now_ms: u64, rssi_1m: f32, absorption: f32) -> Option<Estimate> {
        self.prune(now_ms);
        let n = self.samples.len();
        if n == 0 {
            return None;
        }
        let mut sorted = [0i16; MAX_CAP];
        for (slot, s) in sorted.iter_mut().zip(&self.samples) {
            *slot = s.rssi;
        }
        let sorted = &mut sorted[..n];
        sorted.sort_unstable();
        let q1 = quantile(sorted, 0.25);
        let q3 = quantile(sorted, 0.75);
        let iqr = q3 - q1;
        let (lo, hi) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
        let (mut sum, mut k) = (0f32, 0u32);
        for &r in sorted.iter() {
            let r = r as f32;
            if r >= lo && r <= hi {
                sum += r;
                k += 1;
            }
        }
        let rssi = if k > 0 { sum / k as f32 } else { quantile(sorted, 0.5) };
        Some(Estimate { rssi, distance: distance_m(rssi_1m, rssi, absorption) })
    }

    /// The spread of the window as of the last [`RssiWindow::estimate`] (zero when empty).
    pub fn spread(&self, rssi_1m: f32, absorption: f32) -> Spread {
        let n = self.samples.len().max(1) as f32;
        let mean = self.samples.iter().map(|s| s.rssi as f32).sum::<f32>() / n;
        let rssi_var = self.samples.iter().map(|s| (s.rssi as f32 - mean).powi(2)).sum::<f32>() / n;
        let (mut dsum, mut dsq) = (0f32, 0f32);
        for s in &self.samples {
            let d = distance_m(rssi_1m, s.rssi as f32, absorption);
            dsum += d;
            dsq += d * d;
        }
        let dmean = dsum / n;
        Spread { rssi_var, var: (dsq / n - dmean * dmean).max(0.0) }
    }
}

/// Linear-interpolated quantile of sorted data (`q` in 0..=1).
fn quantile(sorted: &[i16], q: f32) -> f32 {
    let pos = (sorted.len() - 1) as f32 * q;
    let i = pos.floor() as usize;
    let frac = pos - i as f32;
    let a = sorted[i] as f32;
    let b = sorted[(i + 1).min(sorted.len() - 1)] as f32;
    a + (b - a) * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_distance_model_matches_its_reference_values() {
        // bermuda tests/test_util.py: ref -20, attenuation 2.
        assert_eq!(distance_m(-20.0, -50.0, 2.0).floor(), 31.0);
        assert_eq!(distance_m(-20.0, -80.0, 2.0).round(), 1000.0);
        assert!((distance_m(-71.0, -71.0, 2.7) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn an_outlier_outside_the_tukey_fence_is_ignored() {
        let mut w = RssiWindow::new(0);
        for (i, r) in [-70, -71, -69, -70, -70, -71, -69, -40].into_iter().enumerate() {
            w.add(r, i as u64 * 100);
        }
        let e = w.estimate(1000, -71.0, 2.7).unwrap();
        assert!((e.rssi - -70.0).abs() < 1e-4, "{e:?}");
        assert!(w.spread(-71.0, 2.7).rssi_var > 50.0, "variance counts every sample");
    }

    #[test]
    fn samples_older_than_fifteen_seconds_leave_the_window() {
        let mut w = RssiWindow::new(0);
        w.add(-90, 0);
        w.add(-60, 10_000);
        assert_eq!(w.estimate(15_001, -60.0, 2.7).unwrap().rssi, -60.0);
        assert!(w.estimate(25_001, -60.0, 2.7).is_none());
    }

    #[test]
    fn capacity_follows_the_advert_rate_within_bounds() {
        let mut w = RssiWindow::new(0);
        // 50 adverts/s for 20 s: after the first re-size capacity saturates at 200.
        for i in 0..1000u64 {
            w.add(-60, i * 20);
        }
        assert_eq!(w.len(), 200);
        // One advert every 2 s: capacity drops to the minimum of 10 at the next period.
        let mut w = RssiWindow::new(0);
        for i in 0..12u64 {
            w.add(-60, i * 2000);
        }
        assert!(w.len() <= 10);
    }
}
