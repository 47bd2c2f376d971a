//! roomsense-broker: the bundled Mosquitto made safe by default, and `roomsense doctor`, which
//! checks any broker the way an attacker would.
//!
//! [`provision::init`] turns the `[node]`, `[mqtt]` and [`BrokerConfig`] sections into files:
//! one random password per client (each roomsense service, Home Assistant, optionally a
//! bridge), Mosquitto's password file and ACL, a CA and server certificate, and
//! `mosquitto.conf` (plain MQTT on loopback, TLS on the network, persistence, bounded queues,
//! optionally a bridge to the home's broker), all from the templates the image ships in
//! `yocto/meta-roomsense/recipes-connectivity/mosquitto/files/`. [`doctor::run`] connects as
//! nobody, as the node, and over TLS, and returns a [`doctor::Report`] of plain-worded checks.
//!
//! Layout:
//! - [`config`]: the `[broker]` section;
//! - `domain/`: the pure parts: templates, the logins and ACL, Mosquitto's password hash, the
//!   manifest of what was written;
//! - `certs`: the CA and server certificate (rcgen on ring);
//! - [`provision`]: `broker init`'s file handling;
//! - [`doctor`]: the checks and their report.

mod certs;
pub mod config;
pub mod doctor;
mod domain;
mod error;
pub mod provision;

pub use config::{BridgeConfig, BrokerConfig};
pub use domain::files::{BRIDGE, HOME_ASSISTANT, Login, SERVICES};
pub use error::Error;
