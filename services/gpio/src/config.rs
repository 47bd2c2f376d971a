//! The `[gpio]` section: the board and the parts wired to it, as written; [`GpioConfig::plan`]
//! checks them against the board profile and returns the [`Plan`] the service runs on.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use roomsense_core::config::{Problem, Problems};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::domain::board::{BoardProfile, PwmChannel};
use crate::domain::buzzer::{Pattern, built_in_patterns};

/// `[gpio]`: nothing is driven until a board and parts are named.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GpioConfig {
    /// The board: a shipped profile (`rpi-zero-2w`, `rpi-3b`, `rpi-4b`, `rpi-5`,
    /// `coral-dev-board`) or the path of a profile file. Required once any part is configured.
    /// Restart to change.
    pub board: Option<String>,
    /// Relays (`[[gpio.relay]]`): Home Assistant switches.
    pub relay: Vec<RelayConfig>,
    /// LEDs on a hardware PWM pin (`[[gpio.led]]`): lights with brightness.
    pub led: Vec<LedConfig>,
    /// Passive buzzers on a hardware PWM pin (`[[gpio.buzzer]]`): buttons playing patterns.
    pub buzzer: Vec<BuzzerConfig>,
    /// PIR sensors, door and window contacts (`[[gpio.input]]`): binary sensors.
    pub input: Vec<InputConfig>,
    /// BME280 sensors on an I2C bus (`[[gpio.bme280]]`): temperature, humidity, pressure.
    pub bme280: Vec<Bme280Config>,
}

/// A header pin, as the config names it: its number (`11`) or its line or board name
/// (`"GPIO17"`, `"GPIO_P13"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinRef {
    /// Header pin number.
    Number(u64),
    /// Line name or board label.
    Name(String),
}

impl fmt::Display for PinRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinRef::Number(n) => write!(f, "{n}"),
            PinRef::Name(s) => write!(f, "`{s}`"),
        }
    }
}

impl<'de> Deserialize<'de> for PinRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PinRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header pin number (11) or a line name (\"GPIO17\")")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PinRef, E> {
                Ok(PinRef::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PinRef, E> {
                u64::try_from(v)
                    .map(PinRef::Number)
                    .map_err(|_| E::custom("a header pin number is 1 or more"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PinRef, E> {
                Ok(PinRef::Name(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// On or off, as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    /// Off (line inactive).
    #[default]
    Off,
    /// On (line active).
    On,
}

/// A relay channel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// Entity name: a-z, 0-9 and `_`; unique among the node's parts.
    pub name: String,
    /// The pin driving the relay's input.
    pub pin: PinRef,
    /// The relay closes when the pin is low (most opto-isolated relay boards). Default false.
    #[serde(default)]
    pub active_low: bool,
    /// State after the service starts: `off` (default) or `on`.
    #[serde(default)]
    pub startup: OnOff,
    /// State written on shutdown and first thing at start (after a crash): `off` (default).
    #[serde(default)]
    pub safe_state: OnOff,
    /// Turn off again this many seconds after being turned on; none by default.
    #[serde(default)]
    pub auto_off_s: Option<u64>,
}

/// An LED (or LED driver) on a hardware PWM pin.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedConfig {
    /// Entity name.
    pub name: String,
    /// A pin with hardware PWM.
    pub pin: PinRef,
    /// PWM frequency, Hz. Default 1000.
    #[serde(default = "default_led_hz")]
    pub frequency_hz: u32,
    /// Fade time when a command gives no `transition`, ms. Default 300.
    #[serde(default = "default_fade_ms")]
    pub fade_ms: u64,
}

fn default_led_hz() -> u32 {
    1000
}
fn default_fade_ms() -> u64 {
    300
}

/// A passive buzzer on a hardware PWM pin.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuzzerConfig {
    /// Entity name.
    pub name: String,
    /// A pin with hardware PWM.
    pub pin: PinRef,
    /// More patterns, by name: `"2000:150 0:50 2000:150"` (Hz:ms steps, `*N` repeats). Added
    /// to the built-in `beep`, `double`, `chime` and `alarm`.
    #[serde(default)]
    pub patterns: BTreeMap<String, String>,
}

/// Pull resistor on an input line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    /// No pull (the sensor drives the line, as PIR modules do).
    #[default]
    None,
    /// Pull up (a contact to ground).
    Up,
    /// Pull down (a contact to 3.3 V).
    Down,
}

/// A digital input: PIR, door or window contact.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// Entity name.
    pub name: String,
    /// The input pin.
    pub pin: PinRef,
    /// Home Assistant device class: `motion` (default), `occupancy`, `presence`, `door`,
    /// `window`, `garage_door`, `opening`, `vibration`, `moisture`.
    #[serde(default = "default_class")]
    pub device_class: String,
    /// The level must hold this long before it counts, ms. Default 50.
    #[serde(default = "default_debounce_ms")]
    pub debounce_ms: u64,
    /// Stay ON this many seconds after the line last went inactive (PIR hold). Default 0.
    #[serde(default)]
    pub hold_s: u64,
    /// Pull resistor: `none` (default), `up`, `down`.
    #[serde(default)]
    pub pull: Pull,
    /// The line reads low when the sensor is active. Default false.
    #[serde(default)]
    pub active_low: bool,
}

fn default_class() -> String {
    "motion".into()
}
fn default_debounce_ms() -> u64 {
    50
}

/// A BME280 on an I2C bus.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bme280Config {
    /// Entity name; the entities are `<name>_temperature`, `_humidity`, `_pressure`.
    #[serde(default = "default_env_name")]
    pub name: String,
    /// The board's I2C bus number. Default 1.
    #[serde(default = "default_bus")]
    pub bus: u32,
    /// I2C address: 0x76 (SDO to GND, default) or 0x77 (SDO to 3.3 V).
    #[serde(default = "default_address")]
    pub address: u8,
    /// Seconds between readings. Default 30.
    #[serde(default = "default_interval")]
    pub interval_s: u64,
    /// Added to every temperature, °C (self-heating of the board nearby). Default 0.
    #[serde(default)]
    pub temperature_offset_c: f64,
    /// Added to every humidity, %. Default 0.
    #[serde(default)]
    pub humidity_offset_pct: f64,
    /// Added to every pressure, hPa (e.g. to report sea-level pressure). Default 0.
    #[serde(default)]
    pub pressure_offset_hpa: f64,
}

fn default_env_name() -> String {
    "environment".into()
}
fn default_bus() -> u32 {
    1
}
fn default_address() -> u8 {
    0x76
}
fn default_interval() -> u64 {
    30
}

/// Device classes Home Assistant knows for binary sensors wired to a GPIO input.
pub(crate) const INPUT_CLASSES: &[&str] = &[
    "motion",
    "occupancy",
    "presence",
    "door",
    "window",
    "garage_door",
    "opening",
    "vibration",
    "moisture",
];
/// Names that would collide with the service's own topics.
const RESERVED_NAMES: &[&str] = &["status", "response", "errors"];
/// The addresses a BME280 answers on, and how each is selected.
const BME280_ADDRESSES: &[(u8, &str)] = &[(0x76, "SDO to GND"), (0x77, "SDO to 3.3 V")];

/// The validated config: every part resolved to lines, channels and buses of the board.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The board.
    pub board: BoardProfile,
    /// Relays.
    pub relays: Vec<RelayPlan>,
    /// PWM LEDs.
    pub leds: Vec<LedPlan>,
    /// Buzzers.
    pub buzzers: Vec<BuzzerPlan>,
    /// Inputs.
    pub inputs: Vec<InputPlan>,
    /// Environment sensors.
    pub sensors: Vec<SensorPlan>,
}

/// A GPIO line: its header pin and how the kernel finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRef {
    /// Header pin number.
    pub pin: u8,
    /// The kernel's line name, tried first.
    pub name: Option<String>,
    /// Chip label or `gpiochipN`, with `offset`: tried when there is no name or it is not found.
    pub chip: Option<String>,
    /// Offset on `chip`.
    pub offset: Option<u32>,
}

/// A PWM channel on a header pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PwmRef {
    /// Header pin number.
    pub pin: u8,
    /// Chip and channel.
    pub channel: PwmChannel,
}

/// A relay, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayPlan {
    /// Entity name.
    pub name: String,
    /// Its line.
    pub line: LineRef,
    /// Active low.
    pub active_low: bool,
    /// On at start.
    pub startup: bool,
    /// On when safe.
    pub safe_state: bool,
    /// Auto-off delay.
    pub auto_off: Option<Duration>,
}

/// A PWM LED, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct LedPlan {
    /// Entity name.
    pub name: String,
    /// Its channel.
    pub pwm: PwmRef,
    /// Frequency.
    pub frequency_hz: u32,
    /// Default fade.
    pub fade: Duration,
}

/// A buzzer, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct BuzzerPlan {
    /// Entity name.
    pub name: String,
    /// Its channel.
    pub pwm: PwmRef,
    /// Built-in and configured patterns.
    pub patterns: BTreeMap<String, Pattern>,
}

/// An input, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct InputPlan {
    /// Entity name.
    pub name: String,
    /// Its line.
    pub line: LineRef,
    /// Home Assistant device class.
    pub device_class: String,
    /// Debounce.
    pub debounce: Duration,
    /// Hold time.
    pub hold: Duration,
    /// Pull resistor.
    pub pull: Pull,
    /// Active low.
    pub active_low: bool,
}

/// An environment sensor, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorPlan {
    /// Entity name prefix.
    pub name: String,
    /// Bus number.
    pub bus: u32,
    /// Bus device (`/dev/i2c-1`).
    pub device: String,
    /// I2C address.
    pub address: u8,
    /// Reading interval.
    pub interval: Duration,
    /// Offsets: °C, %, hPa.
    pub offsets: (f64, f64, f64),
}

impl Plan {
    /// Whether nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.relays.is_empty()
            && self.leds.is_empty()
            && self.buzzers.is_empty()
            && self.inputs.is_empty()
            && self.sensors.is_empty()
    }
}

/// Who holds a pin (for "already used by" messages).
struct Claims<'a> {
    board: &'a BoardProfile,
    pins: BTreeMap<u8, String>,
    pwm: BTreeMap<PwmChannel, (u8, String)>,
    i2c: BTreeMap<(u32, u8), String>,
    names: BTreeMap<String, String>,
}

impl GpioConfig {
    /// Records every problem of the section.
    pub fn validate(&self, problems: &mut Problems) {
        let _ = self.plan(problems);
    }

    /// Resolves the section against its board profile: the plan, or `None` with every problem
    /// recorded. A section with no parts and no board is an empty plan on no board.
    pub fn plan(&self, out: &mut Problems) -> Option<Plan> {
        let mut problems = Problems::default();
        let plan = self.resolve(&mut problems);
        let ok = problems.is_empty();
        for p in problems.into_vec() {
            out.push(p);
        }
        plan.filter(|_| ok)
    }

    fn resolve(&self, problems: &mut Problems) -> Option<Plan> {
        let any = !(self.relay.is_empty()
            && self.led.is_empty()
            && self.buzzer.is_empty()
            && self.input.is_empty()
            && self.bme280.is_empty());
        let allowed_boards = || {
            format!("{}, or the path of a profile file", BoardProfile::built_in_ids().join(", "))
        };
        let board = match self.board.as_deref() {
            None if !any => return None,
            None => {
                problems.push(
                    Problem::new("gpio.board", "missing: parts are configured but no board")
                        .allowed(allowed_boards()),
                );
                return None;
            }
            Some(b) if b.contains('/') || b.ends_with(".toml") => {
                match std::fs::read_to_string(b) {
                    Ok(text) => match BoardProfile::parse(&text) {
                        Ok(p) => p,
                        Err(e) => {
                            problems.push(Problem::new("gpio.board", format!("profile {b}: {e}")));
                            return None;
                        }
                    },
                    Err(e) => {
                        problems.push(Problem::new("gpio.board", format!("cannot read {b}: {e}")));
                        return None;
                    }
                }
            }
            Some(b) => match BoardProfile::built_in(b) {
                Some(p) => p,
                None => {
                    problems.push(
                        Problem::new("gpio.board", format!("unknown board `{b}`"))
                            .allowed(allowed_boards()),
                    );
                    return None;
                }
            },
        };
        let mut claims = Claims {
            board: &board,
            pins: BTreeMap::new(),
            pwm: BTreeMap::new(),
            i2c: BTreeMap::new(),
            names: BTreeMap::new(),
        };
        // Buses first: their pins are taken for every part that follows.
        let mut sensors = Vec::new();
        for (i, s) in self.bme280.iter().enumerate() {
            let key = format!("gpio.bme280[{i}]");
            let who = format!("bme280 `{}`", s.name);
            claims.name(problems, &key, &s.name, &who);
            problems.in_range(&format!("{key}.interval_s"), s.interval_s, 1, 86_400, "seconds");
            for (field, v, lim) in [
                ("temperature_offset_c", s.temperature_offset_c, 20.0),
                ("humidity_offset_pct", s.humidity_offset_pct, 50.0),
                ("pressure_offset_hpa", s.pressure_offset_hpa, 200.0),
            ] {
                problems.check(v.is_finite() && v.abs() <= lim, || {
                    Problem::new(format!("{key}.{field}"), format!("{v} is out of range"))
                        .allowed(format!("-{lim} to {lim}"))
                });
            }
            if let Some(bus) = claims.bus(problems, &key, s, &who) {
                sensors.push(SensorPlan {
                    name: s.name.clone(),
                    bus: s.bus,
                    device: bus,
                    address: s.address,
                    interval: Duration::from_secs(s.interval_s),
                    offsets: (s.temperature_offset_c, s.humidity_offset_pct, s.pressure_offset_hpa),
                });
            }
        }
        let mut relays = Vec::new();
        for (i, r) in self.relay.iter().enumerate() {
            let key = format!("gpio.relay[{i}]");
            let who = format!("relay `{}`", r.name);
            claims.name(problems, &key, &r.name, &who);
            if let Some(secs) = r.auto_off_s {
                problems.in_range(&format!("{key}.auto_off_s"), secs, 1, 7 * 86_400, "seconds");
            }
            if let Some(line) = claims.line(problems, &format!("{key}.pin"), &r.pin, &who) {
                relays.push(RelayPlan {
                    name: r.name.clone(),
                    line,
                    active_low: r.active_low,
                    startup: r.startup == OnOff::On,
                    safe_state: r.safe_state == OnOff::On,
                    auto_off: r.auto_off_s.map(Duration::from_secs),
                });
            }
        }
        let mut leds = Vec::new();
        for (i, l) in self.led.iter().enumerate() {
            let key = format!("gpio.led[{i}]");
            let who = format!("led `{}`", l.name);
            claims.name(problems, &key, &l.name, &who);
            problems.in_range(&format!("{key}.frequency_hz"), l.frequency_hz, 50, 100_000, "Hz");
            problems.in_range(&format!("{key}.fade_ms"), l.fade_ms, 0, 60_000, "ms");
            if let Some(pwm) = claims.pwm(problems, &format!("{key}.pin"), &l.pin, &who) {
                leds.push(LedPlan {
                    name: l.name.clone(),
                    pwm,
                    frequency_hz: l.frequency_hz,
                    fade: Duration::from_millis(l.fade_ms),
                });
            }
        }
        let mut buzzers = Vec::new();
        for (i, b) in self.buzzer.iter().enumerate() {
            let key = format!("gpio.buzzer[{i}]");
            let who = format!("buzzer `{}`", b.name);
            claims.name(problems, &key, &b.name, &who);
            let mut patterns = built_in_patterns();
            for (name, text) in &b.patterns {
                let pkey = format!("{key}.patterns.{name}");
                if !is_slug(name) || name == "stop" {
                    problems.push(
                        Problem::new(&pkey, format!("`{name}` cannot name a pattern"))
                            .allowed("a-z, 0-9 and _, not `stop`"),
                    );
                    continue;
                }
                match Pattern::parse(text) {
                    Ok(p) => {
                        patterns.insert(name.clone(), p);
                    }
                    Err(e) => problems.push(
                        Problem::new(&pkey, e).allowed("steps like \"2000:150 0:50 2000:150\""),
                    ),
                }
            }
            if let Some(pwm) = claims.pwm(problems, &format!("{key}.pin"), &b.pin, &who) {
                buzzers.push(BuzzerPlan { name: b.name.clone(), pwm, patterns });
            }
        }
        let mut inputs = Vec::new();
        for (i, n) in self.input.iter().enumerate() {
            let key = format!("gpio.input[{i}]");
            let who = format!("input `{}`", n.name);
            claims.name(problems, &key, &n.name, &who);
            problems.check(INPUT_CLASSES.contains(&n.device_class.as_str()), || {
                Problem::new(
                    format!("{key}.device_class"),
                    format!("unknown device class `{}`", n.device_class),
                )
                .allowed(INPUT_CLASSES.join(", "))
            });
            problems.in_range(&format!("{key}.debounce_ms"), n.debounce_ms, 0, 5_000, "ms");
            problems.in_range(&format!("{key}.hold_s"), n.hold_s, 0, 86_400, "seconds");
            if let Some(line) = claims.line(problems, &format!("{key}.pin"), &n.pin, &who) {
                inputs.push(InputPlan {
                    name: n.name.clone(),
                    line,
                    device_class: n.device_class.clone(),
                    debounce: Duration::from_millis(n.debounce_ms),
                    hold: Duration::from_secs(n.hold_s),
                    pull: n.pull,
                    active_low: n.active_low,
                });
            }
        }
        Some(Plan { board, relays, leds, buzzers, inputs, sensors })
    }
}

impl Claims<'_> {
    fn name(&mut self, problems: &mut Problems, key: &str, name: &str, who: &str) {
        let key = format!("{key}.name");
        if !is_slug(name) || RESERVED_NAMES.contains(&name) {
            problems.push(
                Problem::new(&key, format!("`{name}` cannot name a part"))
                    .allowed("1 to 48 of a-z, 0-9 and _, not `status`, `response` or `errors`"),
            );
        } else if let Some(other) = self.names.get(name) {
            problems.push(
                Problem::new(&key, format!("the name `{name}` is already used by {other}"))
                    .allowed("a name no other part of this node has"),
            );
        } else {
            self.names.insert(name.to_owned(), who.to_owned());
        }
    }

    /// A header pin number from a reference, checked to be on the board and free for a GPIO.
    fn pin(&mut self, problems: &mut Problems, key: &str, pin: &PinRef, who: &str) -> Option<u8> {
        let board = self.board;
        let free = |claims: &Self| -> Vec<u8> {
            board.usable_gpio_pins().into_iter().filter(|p| !claims.pins.contains_key(p)).collect()
        };
        let number = match pin {
            PinRef::Number(n) => u8::try_from(*n).ok().filter(|n| board.pins.contains_key(n)),
            PinRef::Name(s) => board.pin_named(s),
        };
        let Some(number) = number else {
            let what = match pin {
                PinRef::Number(n) => format!("the {} header has no pin {n}", board.id),
                PinRef::Name(s) => format!("the {} has no line or pin named `{s}`", board.id),
            };
            problems.push(
                Problem::new(key, format!("unknown pin: {what}"))
                    .allowed(format!("free GPIO pins: {}", board.describe_all(&free(self)))),
            );
            return None;
        };
        let info = &board.pins[&number];
        let refuse = |claims: &Self, problems: &mut Problems, why: String| {
            problems.push(
                Problem::new(key, why)
                    .allowed(format!("free GPIO pins: {}", board.describe_all(&free(claims)))),
            );
        };
        if let Some(power) = &info.power {
            refuse(self, problems, format!("pin {number} is a power pin ({power})"));
            return None;
        }
        if let Some(why) = &info.reserved {
            refuse(self, problems, format!("pin {} is reserved: {why}", board.describe(number)));
            return None;
        }
        if let Some(other) = self.pins.get(&number) {
            refuse(
                self,
                problems,
                format!("pin {} is already used by {other}", board.describe(number)),
            );
            return None;
        }
        self.pins.insert(number, who.to_owned());
        Some(number)
    }

    fn line(
        &mut self,
        problems: &mut Problems,
        key: &str,
        pin: &PinRef,
        who: &str,
    ) -> Option<LineRef> {
        let number = self.pin(problems, key, pin, who)?;
        let info = &self.board.pins[&number];
        if !info.is_gpio() {
            let what = info.function.as_deref().unwrap_or("no GPIO line");
            self.pins.remove(&number);
            let free: Vec<u8> = self
                .board
                .usable_gpio_pins()
                .into_iter()
                .filter(|p| !self.pins.contains_key(p))
                .collect();
            problems.push(
                Problem::new(
                    key,
                    format!(
                        "pin {} is not a GPIO line on this board ({what})",
                        self.board.describe(number)
                    ),
                )
                .allowed(format!("free GPIO pins: {}", self.board.describe_all(&free))),
            );
            return None;
        }
        Some(LineRef {
            pin: number,
            name: info.line.clone(),
            chip: info.chip.clone(),
            offset: info.offset,
        })
    }

    fn pwm(
        &mut self,
        problems: &mut Problems,
        key: &str,
        pin: &PinRef,
        who: &str,
    ) -> Option<PwmRef> {
        let board = self.board;
        let free_pwm = |claims: &Self| -> String {
            let pins: Vec<u8> = board
                .pwm_pins()
                .into_iter()
                .filter(|p| !claims.pins.contains_key(p))
                .filter(|p| {
                    let ch = board.pins[p].pwm.as_ref().expect("pwm_pins have a channel");
                    !claims.pwm.contains_key(ch)
                })
                .collect();
            let setup =
                board.pwm_setup.as_deref().map(|s| format!("; PWM needs {s}")).unwrap_or_default();
            format!("free PWM pins: {}{setup}", board.describe_all(&pins))
        };
        // A PWM pin on the Coral is not a GPIO line: look it up without the line checks.
        let number = match pin {
            PinRef::Number(n) => u8::try_from(*n).ok().filter(|n| board.pins.contains_key(n)),
            PinRef::Name(s) => board.pin_named(s),
        };
        let Some(number) = number else {
            problems.push(
                Problem::new(key, format!("unknown pin: the {} has no pin {pin}", board.id))
                    .allowed(free_pwm(self)),
            );
            return None;
        };
        let info = &board.pins[&number];
        let Some(channel) = info.pwm.clone() else {
            problems.push(
                Problem::new(key, format!("pin {} has no hardware PWM", board.describe(number)))
                    .allowed(free_pwm(self)),
            );
            return None;
        };
        if let Some(why) = &info.reserved {
            problems.push(
                Problem::new(key, format!("pin {} is reserved: {why}", board.describe(number)))
                    .allowed(free_pwm(self)),
            );
            return None;
        }
        if let Some(other) = self.pins.get(&number) {
            problems.push(
                Problem::new(
                    key,
                    format!("pin {} is already used by {other}", board.describe(number)),
                )
                .allowed(free_pwm(self)),
            );
            return None;
        }
        if let Some((other_pin, other)) = self.pwm.get(&channel) {
            problems.push(
                Problem::new(
                    key,
                    format!(
                        "pin {} shares PWM channel {} of {} with pin {}, already used by {other}",
                        board.describe(number),
                        channel.channel,
                        channel.chip,
                        board.describe(*other_pin)
                    ),
                )
                .allowed(free_pwm(self)),
            );
            return None;
        }
        self.pins.insert(number, who.to_owned());
        self.pwm.insert(channel.clone(), (number, who.to_owned()));
        Some(PwmRef { pin: number, channel })
    }

    /// The device of the sensor's bus, with its pins and address claimed.
    fn bus(
        &mut self,
        problems: &mut Problems,
        key: &str,
        s: &Bme280Config,
        who: &str,
    ) -> Option<String> {
        let board = self.board;
        let Some(bus) = board.i2c.iter().find(|b| b.bus == s.bus) else {
            let buses: Vec<String> = board
                .i2c
                .iter()
                .map(|b| format!("{} (pins {} and {})", b.bus, b.sda, b.scl))
                .collect();
            problems.push(
                Problem::new(
                    format!("{key}.bus"),
                    format!("the {} has no I2C bus {}", board.id, s.bus),
                )
                .allowed(buses.join(", ")),
            );
            return None;
        };
        let addresses = |taken: &dyn Fn(u8) -> bool| -> String {
            let free: Vec<String> = BME280_ADDRESSES
                .iter()
                .filter(|(a, _)| !taken(*a))
                .map(|(a, how)| format!("0x{a:02x} ({how})"))
                .collect();
            if free.is_empty() {
                format!("none left on bus {}: put the sensor on another bus", s.bus)
            } else {
                free.join(" or ")
            }
        };
        if !BME280_ADDRESSES.iter().any(|(a, _)| *a == s.address) {
            problems.push(
                Problem::new(
                    format!("{key}.address"),
                    format!("a BME280 cannot be at 0x{:02x}", s.address),
                )
                .allowed(addresses(&|_| false)),
            );
            return None;
        }
        if let Some(other) = self.i2c.get(&(s.bus, s.address)) {
            let taken = |a: u8| self.i2c.contains_key(&(s.bus, a));
            problems.push(
                Problem::new(
                    format!("{key}.address"),
                    format!(
                        "I2C address 0x{:02x} on bus {} is already used by {other}",
                        s.address, s.bus
                    ),
                )
                .allowed(addresses(&taken)),
            );
            return None;
        }
        // The bus's pins are the bus's, whoever else wanted them; only the first sensor on a
        // bus claims them.
        let bus_owner = format!("I2C bus {}", bus.bus);
        for p in [bus.sda, bus.scl] {
            match self.pins.get(&p) {
                Some(owner) if *owner == bus_owner => {}
                Some(owner) => {
                    problems.push(
                        Problem::new(
                            format!("{key}.bus"),
                            format!(
                                "I2C bus {} needs pin {}, already used by {owner}",
                                bus.bus,
                                board.describe(p)
                            ),
                        )
                        .allowed("move that part to another pin"),
                    );
                    return None;
                }
                None => {
                    self.pins.insert(p, bus_owner.clone());
                }
            }
        }
        self.i2c.insert((s.bus, s.address), who.to_owned());
        Some(bus.device.clone())
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 48
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
