//! Hardware PWM through sysfs (`/sys/class/pwm/pwmchipN/pwmM/{period,duty_cycle,enable}`), the
//! one interface every board's kernel offers for it.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long to wait for udev to make a freshly exported channel writable.
const EXPORT_WAIT: Duration = Duration::from_secs(2);
const EXPORT_POLL: Duration = Duration::from_millis(10);

/// One exported PWM channel.
#[derive(Debug)]
pub struct SysfsPwm {
    dir: PathBuf,
    period_ns: u64,
    duty_ns: u64,
    enabled: bool,
}

/// Why a channel could not be used; `path` is what to look at.
#[derive(Debug)]
pub struct PwmError {
    /// The file or directory involved.
    pub path: PathBuf,
    /// What went wrong and what to do.
    pub reason: String,
}

fn io_error(path: &Path, e: std::io::Error) -> PwmError {
    PwmError { path: path.to_path_buf(), reason: e.to_string() }
}

/// Finds the chip directory under `root` (`/sys/class/pwm`) whose name is `chip`
/// (`pwmchip0`) or whose `device` link ends in `chip` (`fe20c000.pwm`).
pub(super) fn find_chip(root: &Path, chip: &str) -> Result<PathBuf, PwmError> {
    let entries = std::fs::read_dir(root).map_err(|e| PwmError {
        path: root.to_path_buf(),
        reason: format!("{e} (is the board's PWM overlay enabled?)"),
    })?;
    let mut seen = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("pwmchip") {
            continue;
        }
        let device = std::fs::read_link(entry.path().join("device"))
            .ok()
            .and_then(|l| l.file_name().map(|f| f.to_string_lossy().into_owned()));
        if name == chip || device.as_deref() == Some(chip) {
            return Ok(entry.path());
        }
        seen.push(match device {
            Some(d) => format!("{name} ({d})"),
            None => name,
        });
    }
    seen.sort();
    Err(PwmError {
        path: root.to_path_buf(),
        reason: format!(
            "no PWM chip `{chip}` (found: {}); enable the board's PWM overlay",
            if seen.is_empty() { "none".to_owned() } else { seen.join(", ") }
        ),
    })
}

impl SysfsPwm {
    /// Opens `channel` of `chip` under `root` (`/sys/class/pwm`), exporting it when needed,
    /// and leaves it disabled.
    pub fn open(root: &Path, chip: &str, channel: u32) -> Result<Self, PwmError> {
        let chip_dir = find_chip(root, chip)?;
        let npwm_path = chip_dir.join("npwm");
        if let Ok(text) = std::fs::read_to_string(&npwm_path)
            && let Ok(n) = text.trim().parse::<u32>()
            && channel >= n
        {
            return Err(PwmError {
                path: npwm_path,
                reason: format!("channel {channel} does not exist: the chip has {n}"),
            });
        }
        let dir = chip_dir.join(format!("pwm{channel}"));
        if !dir.exists() {
            let export = chip_dir.join("export");
            std::fs::write(&export, channel.to_string()).map_err(|e| io_error(&export, e))?;
            // The kernel creates the directory at once; udev changes its group a moment later.
            let deadline = std::time::Instant::now() + EXPORT_WAIT;
            while !writable(&dir.join("period")) {
                if std::time::Instant::now() > deadline {
                    return Err(PwmError {
                        path: dir.join("period"),
                        reason: "not writable after export: is the service in the gpio group?"
                            .into(),
                    });
                }
                std::thread::sleep(EXPORT_POLL);
            }
        }
        let read = |file: &str| -> u64 {
            std::fs::read_to_string(dir.join(file))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0)
        };
        let mut pwm = Self {
            period_ns: read("period"),
            duty_ns: read("duty_cycle"),
            enabled: read("enable") == 1,
            dir,
        };
        pwm.write("enable", 0)?;
        pwm.enabled = false;
        Ok(pwm)
    }

    /// Sets the period, the duty cycle (0–1 of the period) and whether the output runs;
    /// writes only what changed, in an order the kernel accepts.
    pub fn set(&mut self, period: Duration, duty: f64, enabled: bool) -> Result<(), PwmError> {
        let period_ns = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX).max(1);
        let duty_ns = ((period_ns as f64) * duty.clamp(0.0, 1.0)).round() as u64;
        if !enabled && self.enabled {
            self.write("enable", 0)?;
            self.enabled = false;
        }
        // The kernel refuses a duty cycle longer than the period at every step: shorten the
        // duty first when the period shrinks below it.
        if period_ns != self.period_ns {
            if self.duty_ns > period_ns {
                // The new duty fits both the old period and the new one.
                self.write("duty_cycle", duty_ns)?;
                self.duty_ns = duty_ns;
            }
            self.write("period", period_ns)?;
            self.period_ns = period_ns;
        }
        if duty_ns != self.duty_ns {
            self.write("duty_cycle", duty_ns)?;
            self.duty_ns = duty_ns;
        }
        if enabled && !self.enabled {
            self.write("enable", 1)?;
            self.enabled = true;
        }
        Ok(())
    }

    fn write(&self, file: &str, value: u64) -> Result<(), PwmError> {
        let path = self.dir.join(file);
        std::fs::write(&path, value.to_string()).map_err(|e| io_error(&path, e))
    }
}

impl Drop for SysfsPwm {
    fn drop(&mut self) {
        // A buzzer must not keep sounding after the service is gone.
        let _ = self.write("enable", 0);
    }
}

fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree shaped like the kernel's: `pwmchip0` → `fe20c000.pwm` with 2 channels, channel
    /// 0 already exported.
    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let devices = root.path().join("devices/platform/soc/fe20c000.pwm");
        std::fs::create_dir_all(&devices).unwrap();
        let chip = root.path().join("class/pwm/pwmchip0");
        std::fs::create_dir_all(chip.join("pwm0")).unwrap();
        std::os::unix::fs::symlink(&devices, chip.join("device")).unwrap();
        std::fs::write(chip.join("npwm"), "2\n").unwrap();
        std::fs::write(chip.join("export"), "").unwrap();
        for (f, v) in [("period", "0"), ("duty_cycle", "0"), ("enable", "0")] {
            std::fs::write(chip.join("pwm0").join(f), v).unwrap();
        }
        root
    }

    fn read(root: &Path, file: &str) -> String {
        std::fs::read_to_string(root.join("class/pwm/pwmchip0").join(file)).unwrap()
    }

    #[test]
    fn chips_are_found_by_name_or_by_their_platform_device() {
        let root = tree();
        let class = root.path().join("class/pwm");
        assert!(find_chip(&class, "pwmchip0").is_ok());
        assert!(find_chip(&class, "fe20c000.pwm").unwrap().ends_with("pwmchip0"));
        let e = find_chip(&class, "1f00098000.pwm").unwrap_err();
        assert!(e.reason.contains("found: pwmchip0 (fe20c000.pwm)"), "{}", e.reason);
    }

    #[test]
    fn a_tone_sets_period_then_duty_then_enable() {
        let root = tree();
        let mut pwm = SysfsPwm::open(&root.path().join("class/pwm"), "fe20c000.pwm", 0).unwrap();
        pwm.set(Duration::from_micros(500), 0.5, true).unwrap();
        assert_eq!(read(root.path(), "pwm0/period"), "500000");
        assert_eq!(read(root.path(), "pwm0/duty_cycle"), "250000");
        assert_eq!(read(root.path(), "pwm0/enable"), "1");
        // A shorter period: the duty goes down first, or the kernel would refuse the period.
        pwm.set(Duration::from_micros(200), 0.5, true).unwrap();
        assert_eq!(read(root.path(), "pwm0/period"), "200000");
        assert_eq!(read(root.path(), "pwm0/duty_cycle"), "100000");
        pwm.set(Duration::from_micros(200), 0.0, false).unwrap();
        assert_eq!(read(root.path(), "pwm0/enable"), "0");
        pwm.set(Duration::from_micros(200), 1.0, true).unwrap();
        drop(pwm);
        assert_eq!(read(root.path(), "pwm0/enable"), "0", "dropping the channel silences it");
    }

    #[test]
    fn an_unexported_channel_is_exported_and_waited_for() {
        let root = tree();
        let chip = root.path().join("class/pwm/pwmchip0");
        // Stands in for the kernel: creates pwm1 when `1` is written to export.
        let watcher = {
            let chip = chip.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    if std::fs::read_to_string(chip.join("export")).unwrap_or_default() == "1" {
                        std::fs::create_dir_all(chip.join("pwm1")).unwrap();
                        for f in ["period", "duty_cycle", "enable"] {
                            std::fs::write(chip.join("pwm1").join(f), "0").unwrap();
                        }
                        return true;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                false
            })
        };
        let mut pwm = SysfsPwm::open(&root.path().join("class/pwm"), "pwmchip0", 1).unwrap();
        assert!(watcher.join().unwrap());
        pwm.set(Duration::from_millis(1), 0.25, true).unwrap();
        assert_eq!(read(root.path(), "pwm1/duty_cycle"), "250000");
    }

    #[test]
    fn a_channel_the_chip_does_not_have_is_refused() {
        let root = tree();
        let e = SysfsPwm::open(&root.path().join("class/pwm"), "pwmchip0", 3).unwrap_err();
        assert!(e.reason.contains("the chip has 2"), "{}", e.reason);
    }
}
