//! Where advertisements come from: the [`AdvertisementSource`] trait, the JSONL trace replay and
//! writer, and (feature `bluez`) BlueZ through bluer.

pub(crate) mod demo;
pub(crate) mod replay;
pub(crate) mod trace;

#[cfg(feature = "bluez")]
pub(crate) mod bluez;
#[cfg(feature = "bluez")]
pub use bluez::{BluezOptions, BluezSource, BluezStats};

use std::future::Future;

use crate::domain::advert::Advertisement;
use crate::error::Error;

/// What a source yields.
#[derive(Debug)]
pub enum SourceEvent {
    /// An advertisement, stamped at the edge.
    Advert(Advertisement),
    /// Input the source had to drop (a bad trace line, a corrupt payload): count it, go on.
    Rejected(Error),
}

/// A stream of advertisements, real or replayed.
pub trait AdvertisementSource {
    /// The next event; `Ok(None)` at the end (a replay's last line); `Err` when the source failed
    /// and cannot go on.
    fn next_event(&mut self) -> impl Future<Output = Result<Option<SourceEvent>, Error>> + Send;

    /// Whether the adverts' `ts_ms` is the clock (a replay), instead of the shell's own.
    fn trace_clock(&self) -> bool {
        false
    }
}
