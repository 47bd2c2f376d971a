//! The real board: gpiocdev lines, sysfs PWM, `/dev/i2c-N` with the BME280 driver.

use std::path::PathBuf;
use std::time::Duration;

use gpiocdev::AbiVersion;
use linux_embedded_hal::{Delay, I2cdev};

use super::bme280::Bme280;
use super::sysfs_pwm::SysfsPwm;
use super::{DigitalIn, DigitalOut, EnvironmentSensor, GpioBackend, PwmOut, cdev};
use crate::config::{InputPlan, LineRef, PwmRef, SensorPlan};
use crate::domain::environment::Reading;
use crate::error::Error;

/// The Linux backend. Nothing is opened until a part asks.
#[derive(Debug)]
pub struct LinuxBackend {
    abi: Option<AbiVersion>,
    pwm_root: PathBuf,
}

impl Default for LinuxBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl LinuxBackend {
    /// The system's GPIO chips, `/sys/class/pwm` and `/dev/i2c-*`.
    pub fn new() -> Self {
        Self { abi: None, pwm_root: PathBuf::from("/sys/class/pwm") }
    }

    fn abi(&mut self, part: &str, line: &LineRef) -> Result<AbiVersion, Error> {
        if let Some(abi) = self.abi {
            return Ok(abi);
        }
        let abi = cdev::detect_abi().map_err(|reason| Error::Line {
            part: part.to_owned(),
            pin: line.pin,
            line: line.name.clone().unwrap_or_default(),
            reason,
        })?;
        if abi == AbiVersion::V1 {
            tracing::info!("GPIO uAPI v1 kernel: inputs are debounced in software");
        }
        self.abi = Some(abi);
        Ok(abi)
    }
}

impl GpioBackend for LinuxBackend {
    fn output(
        &mut self,
        part: &str,
        line: &LineRef,
        active_low: bool,
        initial: bool,
    ) -> Result<Box<dyn DigitalOut>, Error> {
        let abi = self.abi(part, line)?;
        Ok(Box::new(cdev::output(abi, part, line, active_low, initial)?))
    }

    fn input(&mut self, part: &str, input: &InputPlan) -> Result<Box<dyn DigitalIn>, Error> {
        let abi = self.abi(part, &input.line)?;
        Ok(Box::new(cdev::input(abi, part, input)?))
    }

    fn pwm(&mut self, part: &str, pwm: &PwmRef) -> Result<Box<dyn PwmOut>, Error> {
        let channel = SysfsPwm::open(&self.pwm_root, &pwm.channel.chip, pwm.channel.channel)
            .map_err(|e| Error::Pwm { part: part.to_owned(), path: e.path, reason: e.reason })?;
        Ok(Box::new(LinuxPwm { channel, part: part.to_owned() }))
    }

    fn environment(
        &mut self,
        part: &str,
        sensor: &SensorPlan,
    ) -> Result<Box<dyn EnvironmentSensor>, Error> {
        let error = |reason: String| Error::I2c {
            part: part.to_owned(),
            device: sensor.device.clone(),
            address: sensor.address,
            reason,
        };
        let bus = I2cdev::new(&sensor.device)
            .map_err(|e| error(format!("{e} (is the I2C bus enabled on the board?)")))?;
        let driver = Bme280::new(bus, Delay, sensor.address).map_err(|e| error(e.to_string()))?;
        Ok(Box::new(LinuxBme280 {
            driver,
            part: part.to_owned(),
            device: sensor.device.clone(),
            address: sensor.address,
        }))
    }
}

struct LinuxPwm {
    channel: SysfsPwm,
    part: String,
}

impl PwmOut for LinuxPwm {
    fn set(&mut self, period: Duration, duty: f64, enabled: bool) -> Result<(), Error> {
        self.channel.set(period, duty, enabled).map_err(|e| Error::Pwm {
            part: self.part.clone(),
            path: e.path,
            reason: e.reason,
        })
    }
}

struct LinuxBme280 {
    driver: Bme280<I2cdev, Delay>,
    part: String,
    device: String,
    address: u8,
}

impl EnvironmentSensor for LinuxBme280 {
    fn read(&mut self) -> Result<Reading, Error> {
        self.driver.measure().map_err(|e| Error::I2c {
            part: self.part.clone(),
            device: self.device.clone(),
            address: self.address,
            reason: e.to_string(),
        })
    }
}
