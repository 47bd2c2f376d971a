//! roomsense-core: what every roomsense service stands on.
//!
//! A service is built from its section of the [`config`] file and a [`Context`] holding its own
//! [`mqtt::Link`]; it publishes through the link (best-effort state, must-deliver events through
//! the on-disk outbox), announces its entities to Home Assistant with [`discovery`] builders,
//! answers management requests in [`api`]'s envelope, and stops when its shutdown token is
//! cancelled ([`runtime`] wires signals and the systemd watchdog).
//!
//! Layout:
//! - [`config`]: the TOML file, `[node]` and `[mqtt]`, problems located by file, line and key;
//! - [`identity`]: node + service → client id and topics;
//! - [`topic`]: publishable topics and filter matching;
//! - [`mqtt`]: the link (only place that knows rumqttc), outbox, acknowledgement tracking;
//! - [`discovery`]: Home Assistant device discovery;
//! - [`api`]: the management API's request/response envelope;
//! - [`service`]: the `Service` trait, `Context`, `Health`;
//! - [`runtime`]: signals, sd_notify, watchdog.

pub mod api;
pub mod config;
pub mod discovery;
pub mod identity;
pub mod mqtt;
pub mod runtime;
pub mod service;
pub mod topic;

pub use identity::{Identity, NODE_SERVICE};
pub use service::{Context, Health, Service, Stopped};
pub use topic::Topic;

/// roomsense's version, as every service reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
