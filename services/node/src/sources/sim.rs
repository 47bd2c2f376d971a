//! Simulated sources for the demo and tests: a system that looks like an idle Pi, and an
//! environment sensor whose values drift the way a room's air does.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{EnvironmentReading, EnvironmentSource, SystemReading, SystemSource};

/// A Pi at rest: fixed, plausible readings.
#[derive(Debug, Clone, Default)]
pub struct SimSystem;

impl SystemSource for SimSystem {
    fn read(&mut self) -> SystemReading {
        SystemReading {
            cpu_temp_c: Some(47.2),
            load_1m: Some(0.08),
            memory_used_pct: Some(23.5),
            disk_free_mib: Some(12_288.0),
        }
    }
}

/// A room's air: a daily temperature cycle plus slow mean-reverting noise; humidity falls as
/// the air warms; pressure wanders slowly around the standard atmosphere. Seeded, so a demo or
/// test run is repeatable.
#[derive(Debug)]
pub struct SimEnvironment {
    rng: StdRng,
    last_s: Option<f64>,
    temp_noise: f64,
    humidity_noise: f64,
    pressure_offset: f64,
}

/// Daily swing of a heated room, °C either side of its mean.
const DAILY_SWING_C: f64 = 1.2;
const MEAN_TEMP_C: f64 = 21.0;
const MEAN_HUMIDITY_PCT: f64 = 45.0;
/// Relative humidity drops ~3 % per °C at constant moisture near room temperature.
const HUMIDITY_PER_C: f64 = -3.0;

impl SimEnvironment {
    /// A simulated sensor with its own random seed.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            last_s: None,
            temp_noise: 0.0,
            humidity_noise: 0.0,
            pressure_offset: 0.0,
        }
    }

    /// One Ornstein–Uhlenbeck step: pulls `x` back to 0 with time constant `tau_s`, with
    /// stationary standard deviation `sigma`.
    fn ou(&mut self, x: f64, dt: f64, tau_s: f64, sigma: f64) -> f64 {
        let decay = (-dt / tau_s).exp();
        let spread = sigma * (1.0 - decay * decay).sqrt();
        let normal: f64 = (0..12).map(|_| self.rng.random::<f64>()).sum::<f64>() - 6.0;
        x * decay + spread * normal
    }
}

impl EnvironmentSource for SimEnvironment {
    fn name(&self) -> &str {
        "environment"
    }

    fn read(&mut self, elapsed_s: f64) -> EnvironmentReading {
        let dt = (elapsed_s - self.last_s.unwrap_or(elapsed_s)).max(0.0);
        self.last_s = Some(elapsed_s);
        if dt > 0.0 {
            self.temp_noise = self.ou(self.temp_noise, dt, 600.0, 0.3);
            self.humidity_noise = self.ou(self.humidity_noise, dt, 900.0, 1.5);
            self.pressure_offset = self.ou(self.pressure_offset, dt, 6.0 * 3600.0, 4.0);
        }
        let daily = DAILY_SWING_C * (2.0 * std::f64::consts::PI * elapsed_s / 86_400.0).sin();
        let temperature_c = MEAN_TEMP_C + daily + self.temp_noise;
        let humidity_pct = (MEAN_HUMIDITY_PCT
            + HUMIDITY_PER_C * (temperature_c - MEAN_TEMP_C)
            + self.humidity_noise)
            .clamp(5.0, 95.0);
        EnvironmentReading {
            temperature_c,
            humidity_pct,
            pressure_hpa: 1013.25 + self.pressure_offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_air_drifts_but_stays_in_a_rooms_range() {
        let mut env = SimEnvironment::new(7);
        let readings: Vec<_> = (0..2000).map(|i| env.read(i as f64 * 30.0)).collect();
        for r in &readings {
            assert!((15.0..27.0).contains(&r.temperature_c), "{r:?}");
            assert!((5.0..=95.0).contains(&r.humidity_pct), "{r:?}");
            assert!((980.0..1050.0).contains(&r.pressure_hpa), "{r:?}");
        }
        let step = |a: &EnvironmentReading, b: &EnvironmentReading| {
            (a.temperature_c - b.temperature_c).abs()
        };
        let largest_step = readings.windows(2).map(|w| step(&w[0], &w[1])).fold(0.0, f64::max);
        assert!(largest_step < 0.5, "a room does not jump {largest_step} °C in 30 s");
        assert!(readings.windows(2).any(|w| step(&w[0], &w[1]) > 0.0), "the values should drift");
    }

    #[test]
    fn the_same_seed_gives_the_same_air() {
        let mut a = SimEnvironment::new(1);
        let mut b = SimEnvironment::new(1);
        for i in 0..10 {
            assert_eq!(a.read(i as f64), b.read(i as f64));
        }
    }
}
