//! The pure core: decoding, fingerprinting, IRKs, distance, gating, counting, settings, payloads.
//! No I/O, no clock reads, no async.

pub(crate) mod ad;
pub(crate) mod address;
pub(crate) mod advert;
pub(crate) mod beacon;
pub(crate) mod filter;
pub(crate) mod fingerprint;
pub(crate) mod gate;
pub(crate) mod hex;
pub(crate) mod irk;
pub(crate) mod payload;
pub(crate) mod settings;
pub(crate) mod text;
pub(crate) mod tracker;
pub(crate) mod uuid;
