//! The MQTT link (`rumqttc` is known only here), layered as rumqttc itself is: pure bookkeeping
//! ([`Outbox`], [`AckTracker`], [`LatestValues`]) tested without a broker, the disk copy of the
//! outbox, and one driver task that polls the event loop; plus one-shot [`ProbeTarget`] looks
//! at a broker for diagnostics.

mod acks;
mod latest;
mod link;
mod message;
mod observer;
mod options;
mod outbox;
mod outbox_store;
mod probe;

use std::path::PathBuf;

pub use acks::{AckTracker, Tag};
pub use latest::LatestValues;
pub use link::{Link, LinkDriver, LinkOptions};
pub use message::{Incoming, Outgoing};
pub use observer::Observer;
pub use outbox::{Outbox, OutboxFull, OutboxId};
pub use outbox_store::OutboxStore;
pub use probe::{ConnectOutcome, Heard, Listened, ProbeError, ProbeTarget};

/// Why a link could not be set up or a message not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The password file could not be read.
    #[error("mqtt password: {0}")]
    Password(String),
    /// The TLS setup failed.
    #[error("mqtt TLS: {reason}")]
    Tls {
        /// What was wrong.
        reason: String,
    },
    /// The state directory (outbox) could not be used.
    #[error("state directory {}: {source} (set [node] state_dir to a writable directory)", path.display())]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The outbox is full.
    #[error(transparent)]
    OutboxFull(#[from] OutboxFull),
}

/// A link's counters, for health entities and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkStats {
    /// Whether the broker accepted the current connection.
    pub connected: bool,
    /// Connections made since start.
    pub connects: u64,
    /// Must-deliver messages not yet acknowledged.
    pub outbox_len: usize,
    /// Best-effort values waiting for the broker.
    pub state_waiting: usize,
    /// Best-effort topics refused because too many waited.
    pub state_dropped: u64,
    /// Received messages dropped because a subscriber was not reading.
    pub incoming_dropped: u64,
}
