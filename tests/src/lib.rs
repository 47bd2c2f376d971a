//! Test harness for roomsense's end-to-end tests (and the services' own tests against real
//! daemons): real processes started on loopback ports or private sockets the test picks, and
//! stopped by PID when the handle drops.
//!
//! Layout:
//! - [`mosquitto`]: a real Mosquitto with persistence in a temp dir, and its real clients;
//! - [`proxy`]: a TCP proxy to freeze and kill, for partition tests;
//! - [`process`]: the `roomsense` binary under test, stopping children politely;
//! - [`home_assistant`]: a real Home Assistant Core from a cached venv, adopted over MQTT;
//! - [`bluez`]: a private system bus with python-dbusmock's bluez5 template as bluetoothd.

pub mod bluez;
pub mod home_assistant;
pub mod mosquitto;
pub mod process;
pub mod proxy;
