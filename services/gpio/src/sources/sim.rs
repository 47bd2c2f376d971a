//! The simulated board, for tests and the demo: in-memory lines that tests drive and read
//! through a [`SimHandle`], PWM channels that record what they were told, a PIR that trips now
//! and then (demo), and a BME280 that answers real register reads over embedded-hal I2C, so
//! the same driver runs on it as on the hardware.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, Operation, SevenBitAddress};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::bme280::{self, Bme280, Calibration, Raw};
use super::{DigitalIn, DigitalOut, Edge, EdgeFuture, EnvironmentSensor, GpioBackend, PwmOut};
use crate::config::{InputPlan, LineRef, PwmRef, SensorPlan};
use crate::domain::environment::Reading;
use crate::error::Error;

/// What a simulated PWM channel was last told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimPwm {
    /// Period.
    pub period: Duration,
    /// Duty cycle, 0–1.
    pub duty: f64,
    /// Running.
    pub enabled: bool,
    /// How many times it was set.
    pub writes: u64,
}

#[derive(Debug, Default)]
struct State {
    /// Output pin → logical level history (last = now).
    outputs: BTreeMap<u8, Vec<bool>>,
    /// Input pin → (logical level, where its edges go).
    inputs: BTreeMap<u8, (bool, mpsc::UnboundedSender<Edge>)>,
    pwm: BTreeMap<u8, SimPwm>,
    /// A fixed reading for every simulated BME280, instead of drifting air.
    air: Option<Reading>,
}

/// A test's or the demo's hold on the simulated board.
#[derive(Debug, Clone, Default)]
pub struct SimHandle {
    state: Arc<Mutex<State>>,
}

impl SimHandle {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data: a panic elsewhere leaves nothing half-done worth refusing.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The logical level of an output pin (`None` when nothing requested it).
    pub fn output(&self, pin: u8) -> Option<bool> {
        self.lock().outputs.get(&pin).and_then(|h| h.last().copied())
    }

    /// Every level an output pin was driven to, the request's initial level first.
    pub fn output_history(&self, pin: u8) -> Vec<bool> {
        self.lock().outputs.get(&pin).cloned().unwrap_or_default()
    }

    /// Drives an input pin to a logical level, as a sensor would; returns false when no
    /// input is requested on the pin.
    pub fn set_input(&self, pin: u8, level: bool) -> bool {
        let mut state = self.lock();
        let Some((current, tx)) = state.inputs.get_mut(&pin) else { return false };
        *current = level;
        tx.send(Edge { level, at: Instant::now() }).is_ok()
    }

    /// What a PWM pin was last told.
    pub fn pwm(&self, pin: u8) -> Option<SimPwm> {
        self.lock().pwm.get(&pin).copied()
    }

    /// Fixes what every simulated BME280 measures (tests); `None` lets the air drift again.
    pub fn set_air(&self, air: Option<Reading>) {
        self.lock().air = air;
    }
}

/// The simulated board.
#[derive(Debug)]
pub struct SimBackend {
    handle: SimHandle,
    wandering_pir: Option<StdRng>,
    air_seed: u64,
    started: Instant,
}

impl SimBackend {
    /// A quiet board: inputs change only when a test says so; the air drifts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            handle: SimHandle::default(),
            wandering_pir: None,
            air_seed: seed,
            started: Instant::now(),
        }
    }

    /// The demo's board: motion sensors (`motion`, `occupancy`, `presence`) see someone walk
    /// by now and then, from `seed`.
    pub fn with_wandering_pir(seed: u64) -> Self {
        Self { wandering_pir: Some(StdRng::seed_from_u64(seed)), ..Self::new(seed) }
    }

    /// The handle tests and the demo drive the board with.
    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }
}

impl GpioBackend for SimBackend {
    fn output(
        &mut self,
        _part: &str,
        line: &LineRef,
        _active_low: bool,
        initial: bool,
    ) -> Result<Box<dyn DigitalOut>, Error> {
        self.handle.lock().outputs.insert(line.pin, vec![initial]);
        Ok(Box::new(SimOut { handle: self.handle.clone(), pin: line.pin }))
    }

    fn input(&mut self, _part: &str, input: &InputPlan) -> Result<Box<dyn DigitalIn>, Error> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.handle.lock().inputs.insert(input.line.pin, (false, tx));
        let motion = matches!(input.device_class.as_str(), "motion" | "occupancy" | "presence");
        let wander = match self.wandering_pir.as_mut() {
            Some(rng) if motion => {
                let mut rng = StdRng::seed_from_u64(rng.random());
                let first = Instant::now() + Duration::from_secs(rng.random_range(5..15));
                Some(Wander { rng, next: first, high: false })
            }
            _ => None,
        };
        Ok(Box::new(SimIn { handle: self.handle.clone(), pin: input.line.pin, rx, wander }))
    }

    fn pwm(&mut self, _part: &str, pwm: &PwmRef) -> Result<Box<dyn PwmOut>, Error> {
        let off = SimPwm { period: Duration::ZERO, duty: 0.0, enabled: false, writes: 0 };
        self.handle.lock().pwm.insert(pwm.pin, off);
        Ok(Box::new(SimPwmOut { handle: self.handle.clone(), pin: pwm.pin }))
    }

    fn environment(
        &mut self,
        part: &str,
        sensor: &SensorPlan,
    ) -> Result<Box<dyn EnvironmentSensor>, Error> {
        let chip = SimBme280::new(
            sensor.address,
            self.handle.clone(),
            self.air_seed.wrapping_add(u64::from(sensor.address)),
            self.started,
        );
        let driver = Bme280::new(chip, NoDelay, sensor.address).map_err(|e| Error::I2c {
            part: part.to_owned(),
            device: sensor.device.clone(),
            address: sensor.address,
            reason: e.to_string(),
        })?;
        Ok(Box::new(SimSensor { driver, part: part.to_owned(), sensor: sensor.clone() }))
    }
}

struct SimOut {
    handle: SimHandle,
    pin: u8,
}

impl DigitalOut for SimOut {
    fn set(&mut self, on: bool) -> Result<(), Error> {
        self.handle.lock().outputs.entry(self.pin).or_default().push(on);
        Ok(())
    }
}

/// A PIR that sees someone now and then: ON for a few seconds, then quiet for a while.
#[derive(Debug)]
struct Wander {
    rng: StdRng,
    next: Instant,
    high: bool,
}

struct SimIn {
    handle: SimHandle,
    pin: u8,
    rx: mpsc::UnboundedReceiver<Edge>,
    wander: Option<Wander>,
}

impl DigitalIn for SimIn {
    fn level(&mut self) -> Result<bool, Error> {
        Ok(self.handle.lock().inputs.get(&self.pin).is_some_and(|(l, _)| *l))
    }

    fn debounced(&self) -> bool {
        // Like uAPI v1: the service debounces in software.
        false
    }

    fn next_edge(&mut self) -> EdgeFuture<'_> {
        let Self { handle, pin, rx, wander } = self;
        Box::pin(async move {
            let timer = async {
                match wander.as_ref() {
                    Some(w) => sleep_until(w.next).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                edge = rx.recv() => Ok(edge.expect("the handle keeps the sender, so it should stay open")),
                () = timer => {
                    let w = wander.as_mut().expect("the timer runs only with a wanderer");
                    let at = w.next;
                    w.high = !w.high;
                    let stay = if w.high { 2..6 } else { 25..90 };
                    w.next = at + Duration::from_secs(w.rng.random_range(stay));
                    if let Some((level, _)) = handle.lock().inputs.get_mut(pin) {
                        *level = w.high;
                    }
                    Ok(Edge { level: w.high, at })
                }
            }
        })
    }
}

struct SimPwmOut {
    handle: SimHandle,
    pin: u8,
}

impl PwmOut for SimPwmOut {
    fn set(&mut self, period: Duration, duty: f64, enabled: bool) -> Result<(), Error> {
        let mut state = self.handle.lock();
        let p = state.pwm.entry(self.pin).or_insert(SimPwm { period, duty, enabled, writes: 0 });
        *p = SimPwm { period, duty: duty.clamp(0.0, 1.0), enabled, writes: p.writes + 1 };
        Ok(())
    }
}

struct NoDelay;

impl DelayNs for NoDelay {
    fn delay_ns(&mut self, _ns: u32) {}
}

struct SimSensor {
    driver: Bme280<SimBme280, NoDelay>,
    part: String,
    sensor: SensorPlan,
}

impl EnvironmentSensor for SimSensor {
    fn read(&mut self) -> Result<Reading, Error> {
        self.driver.measure().map_err(|e| Error::I2c {
            part: self.part.clone(),
            device: self.sensor.device.clone(),
            address: self.sensor.address,
            reason: e.to_string(),
        })
    }
}

/// A BME280 at the register level: chip id, calibration NVM, forced-mode measurements whose
/// raw values are the inverse of the datasheet compensation of the air it is in.
#[derive(Debug)]
pub struct SimBme280 {
    address: u8,
    registers: [u8; 256],
    pointer: u8,
    calibration: Calibration,
    handle: SimHandle,
    air: Air,
    started: Instant,
}

/// A calibration as real sensors carry (Bosch's worked example plus typical humidity words).
const SIM_CALIBRATION: Calibration = Calibration {
    t1: 27504,
    t2: 26435,
    t3: -1000,
    p1: 36477,
    p2: -10685,
    p3: 3024,
    p4: 2855,
    p5: 140,
    p6: -7,
    p7: 15500,
    p8: -14600,
    p9: 6000,
    h1: 75,
    h2: 362,
    h3: 0,
    h4: 313,
    h5: 50,
    h6: 30,
};

impl SimBme280 {
    /// A sensor at `address`, measuring the handle's fixed air or air drifting from `seed`.
    pub fn new(address: u8, handle: SimHandle, seed: u64, started: Instant) -> Self {
        let mut registers = [0u8; 256];
        registers[0xD0] = bme280::CHIP_ID;
        let (a, b) = SIM_CALIBRATION.to_registers();
        registers[0x88..0x88 + 26].copy_from_slice(&a);
        registers[0xE1..0xE1 + 7].copy_from_slice(&b);
        // Reset values of the data registers: "no measurement yet".
        registers[0xF7..0xFF].copy_from_slice(&[0x80, 0, 0, 0x80, 0, 0, 0x80, 0]);
        Self {
            address,
            registers,
            pointer: 0,
            calibration: SIM_CALIBRATION,
            handle,
            air: Air::new(seed),
            started,
        }
    }

    fn measure(&mut self) {
        let elapsed = Instant::now().saturating_duration_since(self.started).as_secs_f64();
        let drifting = self.air.read(elapsed);
        let air = self.handle.lock().air.unwrap_or(drifting);
        let raw = invert(&self.calibration, &air);
        self.registers[0xF7..0xFF].copy_from_slice(&raw.to_registers());
    }

    fn write(&mut self, bytes: &[u8]) {
        let Some((&reg, data)) = bytes.split_first() else { return };
        self.pointer = reg;
        for (i, &b) in data.iter().enumerate() {
            let r = reg.wrapping_add(i as u8);
            self.registers[usize::from(r)] = b;
            if r == 0xF4 && b & 0b11 == 0b01 {
                // Forced mode: the measurement is done by the time anyone looks.
                self.measure();
            }
        }
    }

    fn read(&mut self, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.registers[usize::from(self.pointer.wrapping_add(i as u8))];
        }
    }
}

impl ErrorType for SimBme280 {
    type Error = ErrorKind;
}

impl I2c<SevenBitAddress> for SimBme280 {
    fn transaction(
        &mut self,
        address: SevenBitAddress,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        if address != self.address {
            return Err(ErrorKind::NoAcknowledge(embedded_hal::i2c::NoAcknowledgeSource::Address));
        }
        for op in operations {
            match op {
                Operation::Write(bytes) => self.write(bytes),
                Operation::Read(buf) => self.read(buf),
            }
        }
        Ok(())
    }
}

/// The raw values the sensor would report in `air`: the compensation inverted by bisection
/// (each quantity is monotonic in its raw value).
fn invert(c: &Calibration, air: &Reading) -> Raw {
    let search = |lo: i32, hi: i32, f: &dyn Fn(i32) -> f64, target: f64| -> i32 {
        let (mut lo, mut hi) = (lo, hi);
        let rising = f(hi) > f(lo);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if (f(mid) < target) == rising {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if (f(lo) - target).abs() <= (f(hi) - target).abs() { lo } else { hi }
    };
    let base = Raw { temperature: 0, pressure: 0, humidity: 0 };
    let temperature = search(
        0,
        (1 << 20) - 1,
        &|t| bme280::compensate(c, &Raw { temperature: t, ..base }).0,
        air.temperature_c,
    );
    let pressure = search(
        0,
        (1 << 20) - 1,
        &|p| bme280::compensate(c, &Raw { temperature, pressure: p, ..base }).1.unwrap_or(0.0),
        air.pressure_hpa * 100.0,
    );
    let humidity = search(
        0,
        (1 << 16) - 1,
        &|h| bme280::compensate(c, &Raw { temperature, pressure, humidity: h }).2,
        air.humidity_pct,
    );
    Raw { temperature, pressure, humidity }
}

/// A room's air: a daily temperature cycle plus slow mean-reverting noise; humidity falls as
/// the air warms; pressure wanders slowly around the standard atmosphere. Seeded, so a demo or
/// test run is repeatable.
#[derive(Debug)]
struct Air {
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

impl Air {
    fn new(seed: u64) -> Self {
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

    fn read(&mut self, elapsed_s: f64) -> Reading {
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
        Reading { temperature_c, humidity_pct, pressure_hpa: 1013.25 + self.pressure_offset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_reads_back_the_air_the_simulated_sensor_is_in() {
        let handle = SimHandle::default();
        let air = Reading { temperature_c: 23.4, humidity_pct: 51.2, pressure_hpa: 998.7 };
        handle.set_air(Some(air));
        let chip = SimBme280::new(0x77, handle, 1, Instant::now());
        let mut driver = Bme280::new(chip, NoDelay, 0x77).unwrap();
        let r = driver.measure().unwrap();
        assert!((r.temperature_c - 23.4).abs() < 0.01, "{r:?}");
        assert!((r.humidity_pct - 51.2).abs() < 0.01, "{r:?}");
        assert!((r.pressure_hpa - 998.7).abs() < 0.01, "{r:?}");
    }

    #[test]
    fn the_simulated_sensor_does_not_answer_at_another_address() {
        let chip = SimBme280::new(0x76, SimHandle::default(), 1, Instant::now());
        assert!(Bme280::new(chip, NoDelay, 0x77).is_err());
    }

    #[test]
    fn the_air_drifts_but_stays_in_a_rooms_range() {
        let mut air = Air::new(7);
        let readings: Vec<_> = (0..2000).map(|i| air.read(i as f64 * 30.0)).collect();
        for r in &readings {
            assert!((15.0..27.0).contains(&r.temperature_c), "{r:?}");
            assert!((980.0..1050.0).contains(&r.pressure_hpa), "{r:?}");
        }
        let largest_step = readings
            .windows(2)
            .map(|w| (w[0].temperature_c - w[1].temperature_c).abs())
            .fold(0.0, f64::max);
        assert!(largest_step < 0.5, "a room does not jump {largest_step} °C in 30 s");
    }

    #[tokio::test(start_paused = true)]
    async fn the_wandering_pir_trips_and_drops_on_its_own() {
        let mut board = SimBackend::with_wandering_pir(3);
        let plan = InputPlan {
            name: "motion".into(),
            line: LineRef { pin: 16, name: None, chip: None, offset: None },
            device_class: "motion".into(),
            debounce: Duration::ZERO,
            hold: Duration::ZERO,
            pull: crate::config::Pull::None,
            active_low: false,
        };
        let mut input = board.input("motion", &plan).unwrap();
        let start = Instant::now();
        let on = input.next_edge().await.unwrap();
        assert!(on.level);
        assert!(on.at - start >= Duration::from_secs(5));
        assert!(input.level().unwrap());
        let off = input.next_edge().await.unwrap();
        assert!(!off.level);
        assert!(off.at - on.at >= Duration::from_secs(2));
        // A test can still drive the same line.
        assert!(board.handle().set_input(16, true));
        assert!(input.next_edge().await.unwrap().level);
    }
}
