//! roomsense-gpio: what is wired to a node's header. Relays become Home Assistant switches,
//! PWM LEDs lights, passive buzzers buttons that play tone patterns, PIR sensors and door
//! contacts binary sensors (their changes go through the must-deliver outbox), and BME280s
//! temperature, humidity and pressure sensors, all on the node's device.
//!
//! The `[gpio]` section ([`GpioConfig`]) names a board profile (`hardware/boards/*.toml`:
//! header pin → GPIO line, PWM channel, I2C bus) and the parts; [`GpioConfig::plan`] checks
//! every part against the profile before anything is touched and returns the [`Plan`]
//! [`GpioService`] runs on a [`GpioBackend`]: [`LinuxBackend`] (gpiocdev uAPI v2, or v1 on
//! the Coral; sysfs PWM; `/dev/i2c-N` with the [`Bme280`] driver) or [`SimBackend`].
//!
//! Layout:
//! - `config`: the section as written, and the plan resolved against the board;
//! - `domain`: board profiles and one state machine per part (relay, light, buzzer, input,
//!   environment), command parsing; pure, time passed in;
//! - `sources`: the hardware traits, the Linux backend, the simulator;
//! - `publish`: topics, payloads, Home Assistant entities;
//! - `service`: [`GpioService`], the async shell.

mod config;
mod domain;
mod error;
mod publish;
mod service;
mod sources;

pub use config::{
    Bme280Config, BuzzerConfig, BuzzerPlan, GpioConfig, InputConfig, InputPlan, LedConfig, LedPlan,
    LineRef, OnOff, PinRef, Plan, Pull, PwmRef, RelayConfig, RelayPlan, SensorPlan,
};
pub use domain::board::{BoardProfile, I2cBus, Pin, PwmChannel, Uapi};
pub use domain::buzzer::{Pattern, Tone};
pub use domain::environment::Reading;
pub use error::Error;
pub use service::{GpioService, GpioSettings};
pub use sources::{
    Bme280, Calibration, DigitalIn, DigitalOut, Edge, EdgeFuture, EnvironmentSensor, GpioBackend,
    LinuxBackend, PwmOut, SimBackend, SimBme280, SimHandle, SimPwm, SysfsPwm, compensate,
};
