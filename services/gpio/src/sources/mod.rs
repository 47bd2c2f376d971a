//! The hardware edge: one small trait per kind of part, implemented by the Linux backend
//! (gpiocdev lines, sysfs PWM, `/dev/i2c-N`) and by the simulator. Nothing past this module
//! knows gpiocdev, sysfs or I2C.

mod bme280;
mod cdev;
mod linux;
mod sim;
mod sysfs_pwm;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;

pub use bme280::{Bme280, Calibration, compensate};
pub use linux::LinuxBackend;
pub use sim::{SimBackend, SimBme280, SimHandle, SimPwm};
pub use sysfs_pwm::SysfsPwm;

use crate::config::{InputPlan, LineRef, PwmRef, SensorPlan};
use crate::domain::environment::Reading;
use crate::error::Error;

/// A level change of an input line, stamped when the kernel (or simulator) saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// The logical level after the edge (active-low already applied).
    pub level: bool,
    /// When it happened.
    pub at: Instant,
}

/// A future an input returns for its next edge.
pub type EdgeFuture<'a> = Pin<Box<dyn Future<Output = Result<Edge, Error>> + Send + 'a>>;

/// An output line (relay).
pub trait DigitalOut: Send {
    /// Drives the line: `true` is active.
    fn set(&mut self, on: bool) -> Result<(), Error>;
}

/// An input line with edge events.
pub trait DigitalIn: Send {
    /// The logical level now.
    fn level(&mut self) -> Result<bool, Error>;
    /// Whether the backend debounced the edges (uAPI v2) so software need not.
    fn debounced(&self) -> bool;
    /// The next edge. Cancel-safe: dropping the future loses no edge.
    fn next_edge(&mut self) -> EdgeFuture<'_>;
}

/// A PWM channel.
pub trait PwmOut: Send {
    /// Sets period, duty cycle (0–1) and whether the output runs.
    fn set(&mut self, period: Duration, duty: f64, enabled: bool) -> Result<(), Error>;
}

/// An environment sensor.
pub trait EnvironmentSensor: Send {
    /// Takes one reading (blocks for the conversion, about 10 ms on a BME280).
    fn read(&mut self) -> Result<Reading, Error>;
}

/// Everything a board offers: lines, PWM channels, I2C sensors.
pub trait GpioBackend: Send {
    /// Requests an output line, driven to `initial` at once.
    fn output(
        &mut self,
        part: &str,
        line: &LineRef,
        active_low: bool,
        initial: bool,
    ) -> Result<Box<dyn DigitalOut>, Error>;
    /// Requests an input line with edge detection on both edges.
    fn input(&mut self, part: &str, input: &InputPlan) -> Result<Box<dyn DigitalIn>, Error>;
    /// Opens a PWM channel (disabled).
    fn pwm(&mut self, part: &str, pwm: &PwmRef) -> Result<Box<dyn PwmOut>, Error>;
    /// Opens a BME280 and reads its calibration.
    fn environment(
        &mut self,
        part: &str,
        sensor: &SensorPlan,
    ) -> Result<Box<dyn EnvironmentSensor>, Error>;
}
