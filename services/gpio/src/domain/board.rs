//! Board profiles: what each header pin of a board is (a GPIO line, PWM, I2C, power), read from
//! the data files in `hardware/boards/`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// The profiles shipped with roomsense, by id; the files live in `hardware/boards/`.
pub(crate) const BUILT_IN: &[(&str, &str)] = &[
    ("rpi-zero-2w", include_str!("../../../../hardware/boards/rpi-zero-2w.toml")),
    ("rpi-3b", include_str!("../../../../hardware/boards/rpi-3b.toml")),
    ("rpi-4b", include_str!("../../../../hardware/boards/rpi-4b.toml")),
    ("rpi-5", include_str!("../../../../hardware/boards/rpi-5.toml")),
    ("coral-dev-board", include_str!("../../../../hardware/boards/coral-dev-board.toml")),
];

/// A board: its header pins and buses.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardProfile {
    /// Short id (`rpi-4b`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The GPIO character-device ABI the board's kernel offers.
    pub uapi: Uapi,
    /// What the board needs before its PWM pins work (a device-tree overlay).
    pub pwm_setup: Option<String>,
    /// Header pin number → what the pin is.
    pub pins: BTreeMap<u8, Pin>,
    /// The I2C buses on the header.
    pub i2c: Vec<I2cBus>,
}

/// GPIO character-device ABI version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Uapi {
    /// Linux 4.8 to 5.9: no debounce, bias only from 5.5.
    V1,
    /// Linux 5.10 and later.
    V2,
}

/// One header pin.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// A power or ground pin: `3V3`, `5V`, `GND`.
    #[serde(default)]
    pub power: Option<String>,
    /// The kernel's line name (gpio-line-names), when the board's device tree gives one.
    #[serde(default)]
    pub line: Option<String>,
    /// The gpiochip's label (or `gpiochipN` name) holding the line.
    #[serde(default)]
    pub chip: Option<String>,
    /// The line's offset on `chip`.
    #[serde(default)]
    pub offset: Option<u32>,
    /// The name printed on the board or its pinout, when it differs from `line`.
    #[serde(default)]
    pub label: Option<String>,
    /// What else the pin does (I2C, UART, SPI, I2S).
    #[serde(default)]
    pub function: Option<String>,
    /// Why the pin must be left alone, if it must.
    #[serde(default)]
    pub reserved: Option<String>,
    /// The hardware PWM channel on the pin, if any.
    #[serde(default)]
    pub pwm: Option<PwmChannel>,
}

/// A hardware PWM channel, as sysfs shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PwmChannel {
    /// `pwmchipN`, or the platform device behind it (`fe20c000.pwm`), which does not move.
    pub chip: String,
    /// The channel on the chip.
    pub channel: u32,
}

/// An I2C bus on the header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct I2cBus {
    /// Bus number, as the config names it.
    pub bus: u32,
    /// The character device.
    pub device: String,
    /// Data pin.
    pub sda: u8,
    /// Clock pin.
    pub scl: u8,
    /// What the board needs before the bus exists.
    #[serde(default)]
    pub setup: Option<String>,
}

impl Pin {
    /// Whether the pin can be requested as a GPIO line.
    pub fn is_gpio(&self) -> bool {
        self.power.is_none()
            && (self.line.is_some() || (self.chip.is_some() && self.offset.is_some()))
    }

    /// The name a user sees: the board's label, else the line name.
    pub fn display_name(&self) -> Option<&str> {
        self.label.as_deref().or(self.line.as_deref())
    }
}

/// Why a profile could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProfileError(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    id: String,
    name: String,
    gpio_uapi: Uapi,
    #[serde(default)]
    pwm_setup: Option<String>,
    pins: BTreeMap<String, Pin>,
    #[serde(default)]
    i2c: Vec<I2cBus>,
}

impl BoardProfile {
    /// Parses a profile file's text and checks that it holds together.
    pub fn parse(text: &str) -> Result<Self, ProfileError> {
        let file: ProfileFile = toml::from_str(text).map_err(|e| ProfileError(e.to_string()))?;
        let mut pins = BTreeMap::new();
        for (key, pin) in file.pins {
            let number: u8 =
                key.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ProfileError(format!("pin `{key}` is not a header pin number"))
                })?;
            if pin.power.is_none()
                && pin.line.is_none()
                && pin.chip.is_some() != pin.offset.is_some()
            {
                return Err(ProfileError(format!("pin {number}: give both chip and offset")));
            }
            pins.insert(number, pin);
        }
        for bus in &file.i2c {
            for p in [bus.sda, bus.scl] {
                if !pins.contains_key(&p) {
                    return Err(ProfileError(format!(
                        "i2c bus {}: pin {p} is not on the header",
                        bus.bus
                    )));
                }
            }
        }
        Ok(Self {
            id: file.id,
            name: file.name,
            uapi: file.gpio_uapi,
            pwm_setup: file.pwm_setup,
            pins,
            i2c: file.i2c,
        })
    }

    /// A profile shipped with roomsense.
    pub fn built_in(id: &str) -> Option<Self> {
        let (_, text) = BUILT_IN.iter().find(|(i, _)| *i == id)?;
        Some(Self::parse(text).expect("a built-in board profile should parse (tested)"))
    }

    /// The ids of the shipped profiles.
    pub fn built_in_ids() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(id, _)| *id).collect()
    }

    /// The header pin a name refers to: a line name (`GPIO17`) or a board label (`GPIO_P13`).
    pub fn pin_named(&self, name: &str) -> Option<u8> {
        self.pins
            .iter()
            .find(|(_, p)| {
                p.line.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(name))
                    || p.label.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(name))
            })
            .map(|(n, _)| *n)
    }

    /// The pins that can be GPIO lines and are not reserved.
    pub fn usable_gpio_pins(&self) -> Vec<u8> {
        self.pins
            .iter()
            .filter(|(_, p)| p.is_gpio() && p.reserved.is_none())
            .map(|(n, _)| *n)
            .collect()
    }

    /// The pins with a hardware PWM channel.
    pub fn pwm_pins(&self) -> Vec<u8> {
        self.pins
            .iter()
            .filter(|(_, p)| p.pwm.is_some() && p.reserved.is_none())
            .map(|(n, _)| *n)
            .collect()
    }

    /// `12 (GPIO18)`: a pin as messages show it.
    pub fn describe(&self, pin: u8) -> String {
        match self.pins.get(&pin).and_then(Pin::display_name) {
            Some(name) => format!("{pin} ({name})"),
            None => pin.to_string(),
        }
    }

    /// A list of pins as messages show it.
    pub fn describe_all(&self, pins: &[u8]) -> String {
        if pins.is_empty() {
            return "none on this board".into();
        }
        pins.iter().map(|p| self.describe(*p)).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for BoardProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_loads_and_has_a_forty_pin_header() {
        for (id, text) in BUILT_IN {
            let board = BoardProfile::parse(text).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(board.id, *id);
            assert_eq!(board.pins.len(), 40, "{id}");
            assert_eq!(
                board.pins.keys().copied().collect::<Vec<_>>(),
                (1..=40).collect::<Vec<_>>()
            );
            assert!(!board.usable_gpio_pins().is_empty(), "{id}");
            assert!(!board.pwm_pins().is_empty(), "{id}");
            assert!(!board.i2c.is_empty(), "{id}");
            for (n, pin) in &board.pins {
                assert!(!(pin.power.is_some() && pin.is_gpio()), "{id} pin {n}");
            }
        }
    }

    #[test]
    fn raspberry_pis_share_the_header_and_differ_in_chip_and_pwm() {
        let pi4 = BoardProfile::built_in("rpi-4b").unwrap();
        let pi5 = BoardProfile::built_in("rpi-5").unwrap();
        assert_eq!(pi4.pin_named("GPIO17"), Some(11));
        assert_eq!(pi5.pin_named("gpio17"), Some(11));
        assert_eq!(pi4.pins[&11].chip.as_deref(), Some("pinctrl-bcm2711"));
        assert_eq!(pi5.pins[&11].chip.as_deref(), Some("pinctrl-rp1"));
        // GPIO18 is channel 0 on the BCM2711's PWM, channel 2 on the RP1's.
        assert_eq!(pi4.pins[&12].pwm.as_ref().unwrap().channel, 0);
        assert_eq!(pi5.pins[&12].pwm.as_ref().unwrap().channel, 2);
        assert!(pi4.pins[&27].reserved.is_some());
        assert_eq!(pi4.pins[&2].power.as_deref(), Some("5V"));
    }

    #[test]
    fn the_coral_has_unnamed_lines_found_by_chip_and_offset_and_three_pwm_chips() {
        let coral = BoardProfile::built_in("coral-dev-board").unwrap();
        assert_eq!(coral.uapi, Uapi::V1);
        let p37 = &coral.pins[&37];
        assert_eq!(
            (p37.chip.as_deref(), p37.offset, p37.line.as_deref()),
            (Some("30220000.gpio"), Some(13), None)
        );
        assert_eq!(coral.pin_named("GPIO_P37"), Some(37));
        assert_eq!(coral.pwm_pins(), vec![15, 32, 33]);
        assert!(!coral.pins[&7].is_gpio(), "UART3 TXD has no GPIO line in the profile");
        assert_eq!(coral.i2c.iter().map(|b| b.bus).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn a_profile_with_half_a_line_is_refused() {
        let text = "id = \"x\"\nname = \"X\"\ngpio_uapi = \"v2\"\n[pins]\n1 = { chip = \"c\" }\n";
        assert!(BoardProfile::parse(text).unwrap_err().0.contains("both chip and offset"));
    }
}
