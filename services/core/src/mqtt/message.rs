//! A message as the link carries it, both ways.

use crate::topic::Topic;

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Where it goes.
    pub topic: Topic,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Whether the broker keeps it for later subscribers.
    pub retain: bool,
}

/// A message received on a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The topic it was published on.
    pub topic: String,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Whether the broker sent it from its retained store.
    pub retain: bool,
}
