//! Why the rooms service stopped on its own.

/// The rooms service's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The link could not take a message.
    #[error(transparent)]
    Link(#[from] roomsense_core::mqtt::LinkError),
}
