//! The simulated system for the demo and tests: one that looks like an idle Pi.

use super::{SystemReading, SystemSource};

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
