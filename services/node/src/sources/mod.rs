//! Where the node's readings come from: the running system. The real backend reads Linux; the
//! simulated one serves the demo and tests.

mod sim;
mod system;

pub use sim::SimSystem;
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
