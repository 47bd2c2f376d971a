//! The crate's error: every variant names the part and the hardware it was using.

use std::path::PathBuf;

/// Why a part could not be set up or driven, or why the service stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A GPIO line could not be found or requested.
    #[error("{part}: GPIO line of pin {pin} ({line}): {reason}")]
    Line {
        /// The part (`relay heater`).
        part: String,
        /// Header pin.
        pin: u8,
        /// How the line was looked for (`GPIO17`, `30220000.gpio:13`).
        line: String,
        /// What went wrong, and what to check.
        reason: String,
    },
    /// A PWM channel could not be set up or written.
    #[error("{part}: PWM {}: {reason}", path.display())]
    Pwm {
        /// The part.
        part: String,
        /// The sysfs path involved.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An I2C device did not answer as expected.
    #[error("{part}: I2C {device} at 0x{address:02x}: {reason}")]
    I2c {
        /// The part.
        part: String,
        /// The bus device.
        device: String,
        /// The device's address.
        address: u8,
        /// What went wrong.
        reason: String,
    },
    /// The MQTT link refused a must-deliver message.
    #[error(transparent)]
    Link(#[from] roomsense_core::mqtt::LinkError),
}
