//! The running Linux system: `/proc` and `/sys`, and the filesystem of the state directory.

use std::path::PathBuf;

use super::{SystemReading, SystemSource};

/// Reads `/proc/loadavg`, `/proc/meminfo`, the hottest `/sys/class/thermal` zone, and the free
/// space under the state directory.
#[derive(Debug, Clone)]
pub struct LinuxSystem {
    root: PathBuf,
    state_dir: PathBuf,
}

impl LinuxSystem {
    /// Reads the real system; `state_dir` is the filesystem whose free space matters.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self { root: PathBuf::from("/"), state_dir: state_dir.into() }
    }

    fn read_text(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(path)).ok()
    }

    fn load_1m(&self) -> Option<f64> {
        self.read_text("proc/loadavg")?.split_whitespace().next()?.parse().ok()
    }

    fn memory_used_pct(&self) -> Option<f64> {
        let text = self.read_text("proc/meminfo")?;
        let field = |name: &str| -> Option<f64> {
            let line = text.lines().find(|l| l.starts_with(name))?;
            line.split_whitespace().nth(1)?.parse().ok()
        };
        let total = field("MemTotal:")?;
        let available = field("MemAvailable:")?;
        (total > 0.0).then(|| (100.0 * (total - available) / total).clamp(0.0, 100.0))
    }

    fn cpu_temp_c(&self) -> Option<f64> {
        let zones = std::fs::read_dir(self.root.join("sys/class/thermal")).ok()?;
        zones
            .filter_map(|z| z.ok())
            .filter(|z| z.file_name().to_string_lossy().starts_with("thermal_zone"))
            .filter_map(|z| {
                std::fs::read_to_string(z.path().join("temp")).ok()?.trim().parse::<f64>().ok()
            })
            .map(|milli| milli / 1000.0)
            .reduce(f64::max)
    }

    fn disk_free_mib(&self) -> Option<f64> {
        // The closest existing ancestor: the state directory may not exist yet.
        let existing = self.state_dir.ancestors().find(|p| p.exists())?;
        let stat = rustix::fs::statvfs(existing).ok()?;
        Some((stat.f_bavail as f64) * (stat.f_frsize as f64) / (1024.0 * 1024.0))
    }
}

impl SystemSource for LinuxSystem {
    fn read(&mut self) -> SystemReading {
        SystemReading {
            cpu_temp_c: self.cpu_temp_c(),
            load_1m: self.load_1m(),
            memory_used_pct: self.memory_used_pct(),
            disk_free_mib: self.disk_free_mib(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fake_proc_and_sys_tree_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("proc")).unwrap();
        std::fs::create_dir_all(root.join("sys/class/thermal/thermal_zone0")).unwrap();
        std::fs::create_dir_all(root.join("sys/class/thermal/thermal_zone1")).unwrap();
        std::fs::write(root.join("proc/loadavg"), "0.42 0.30 0.20 1/123 4567\n").unwrap();
        std::fs::write(
            root.join("proc/meminfo"),
            "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n",
        )
        .unwrap();
        std::fs::write(root.join("sys/class/thermal/thermal_zone0/temp"), "48500\n").unwrap();
        std::fs::write(root.join("sys/class/thermal/thermal_zone1/temp"), "51250\n").unwrap();
        let mut sys = LinuxSystem { root: root.to_path_buf(), state_dir: root.to_path_buf() };
        let r = sys.read();
        assert_eq!(r.load_1m, Some(0.42));
        assert_eq!(r.memory_used_pct, Some(75.0));
        assert_eq!(r.cpu_temp_c, Some(51.25));
        assert!(r.disk_free_mib.is_some_and(|mib| mib > 0.0));
    }

    #[test]
    fn a_missing_tree_reads_as_unknown_not_as_zero() {
        let mut sys =
            LinuxSystem { root: "/nonexistent".into(), state_dir: "/nonexistent/state".into() };
        let r = sys.read();
        assert_eq!(r.load_1m, None);
        assert_eq!(r.memory_used_pct, None);
        assert_eq!(r.cpu_temp_c, None);
    }
}
