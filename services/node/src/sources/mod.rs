//! Where the node's readings come from: the running system, and an environment sensor.
//! Real backends read Linux; simulated ones serve the demo and tests.

mod sim;
mod system;

pub use sim::{SimEnvironment, SimSystem};
pub use system::LinuxSystem;

/// What the system says about itself at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SystemReading {
    /// SoC temperature, °C, where the board has a sensor.
    pub cpu_temp_c: Option<f64>,
    /// 1-minute load average.
    pub load_1m: Option<f64>,
    /// Memory in use, percent of total.
    pub memory_used_pct: Option<f64>,
    /// Free space on the state directory's filesystem, MiB.
    pub disk_free_mib: Option<f64>,
}

/// Reads the system's state.
pub trait SystemSource: Send + 'static {
    /// Reads what can be read now; a value that cannot be read is `None`.
    fn read(&mut self) -> SystemReading;
}

/// One reading of an environment sensor (a BME280 or its simulation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvironmentReading {
    /// Air temperature, °C.
    pub temperature_c: f64,
    /// Relative humidity, percent.
    pub humidity_pct: f64,
    /// Air pressure, hPa.
    pub pressure_hpa: f64,
}

/// Reads an environment sensor; `elapsed_s` is the time since the service started (time
/// comes from the caller).
pub trait EnvironmentSource: Send + 'static {
    /// The sensor's name, used in entity ids (`environment`).
    fn name(&self) -> &str;
    /// Reads the sensor.
    fn read(&mut self, elapsed_s: f64) -> EnvironmentReading;
}
