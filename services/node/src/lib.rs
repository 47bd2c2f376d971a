//! roomsense-node: the node service. It publishes the node's own entities (version, uptime, CPU
//! temperature and load, memory, free disk, a restart button) on the node's Home Assistant
//! device (environment sensors are the GPIO service's), and answers the management API
//! (`<prefix>/<node>/request/<cmd>` → `.../response/<cmd>`, Zigbee2MQTT's envelope).
//!
//! Layout:
//! - `sources`: [`SystemSource`] ([`LinuxSystem`], [`SimSystem`]);
//! - `domain`: the API commands, pure;
//! - `publish`: topics and entities;
//! - `service`: [`NodeService`], the async shell.

mod domain;
mod publish;
mod service;
mod sources;

pub use service::{NodeService, NodeSettings};
pub use sources::{LinuxSystem, SimSystem, SystemReading, SystemSource};

/// Why the node service stopped on its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The link could not take a message.
    #[error(transparent)]
    Link(#[from] roomsense_core::mqtt::LinkError),
}
