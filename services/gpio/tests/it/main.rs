//! roomsense-gpio's integration tests.

/// `[gpio]` checked against each board profile: one test per rule.
mod config;
/// The service on the simulated board, with a real Mosquitto.
mod service;
