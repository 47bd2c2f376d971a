//! The crate's errors: small `Copy` ones for the per-advertisement path, [`Error`] for the rest.

use thiserror::Error;

/// Why a raw advertisement payload (AD structures) was rejected. Non-allocating: the hot path
/// returns it, the caller counts it by [`AdError::kind_index`] and goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AdError {
    /// An AD structure's length byte runs past the end of the payload.
    #[error("ad structure at offset {offset} runs past the end of the payload")]
    Truncated {
        /// Byte offset of the structure's length byte.
        offset: u16,
    },
    /// An AD structure's data has a length its type does not allow.
    #[error("ad structure of type {ad_type:#04x} has invalid length {len}")]
    BadLength {
        /// The AD type.
        ad_type: u8,
        /// The data length (without the type byte).
        len: u8,
    },
    /// The payload is longer than the longest extended advertisement (1650 bytes).
    #[error("advertisement payload is longer than 1650 bytes")]
    TooLong,
}

impl AdError {
    /// Number of distinct kinds, for counters indexed by [`AdError::kind_index`].
    pub const KINDS: usize = 3;

    /// A stable index per variant, for counting rejects without allocating.
    pub fn kind_index(&self) -> usize {
        match self {
            AdError::Truncated { .. } => 0,
            AdError::BadLength { .. } => 1,
            AdError::TooLong => 2,
        }
    }
}

/// Why one field of a trace line (or of any textual advertisement input) is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The line is not a JSON object of the trace format.
    #[error("not a trace record (invalid json or wrong field types)")]
    Json,
    /// `addr` is not `aa:bb:cc:dd:ee:ff`.
    #[error("addr is not a mac address like aa:bb:cc:dd:ee:ff")]
    Address,
    /// `addr_type` is neither `public` nor `random`.
    #[error("addr_type must be \"public\" or \"random\"")]
    AddressType,
    /// A hex string has an odd length or a non-hex digit.
    #[error("invalid hex bytes")]
    Hex,
    /// A manufacturer-data key is not a 16-bit company id in 4 hex digits.
    #[error("manufacturer key must be a company id of 4 hex digits")]
    CompanyId,
    /// A UUID is neither 4 (or 8) hex digits nor the dashed 128-bit form.
    #[error("uuid must be 4 hex digits or the dashed 128-bit form")]
    Uuid,
    /// `rssi` or `tx_power` is outside -128..=127.
    #[error("rssi or tx_power out of range")]
    Range,
}

/// Why an IRK string was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IrkError {
    /// Not 32 hex digits (optionally after `irk:`) nor 24 characters of base64.
    #[error("irk must be 32 hex digits (optionally prefixed irk:) or base64")]
    Format,
}

/// Why a `.../<key>/set` command was rejected; the setting keeps its value.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SettingError {
    /// The key is not a setting this node knows.
    #[error("unknown setting")]
    UnknownKey,
    /// The payload is not a number where one is needed.
    #[error("not a number")]
    NotANumber,
    /// The value is outside the allowed range.
    #[error("value out of range {min}..={max}")]
    OutOfRange {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// An entry of `known_irks` is not a valid IRK.
    #[error("invalid irk in list: {0}")]
    Irk(#[from] IrkError),
    /// The key is valid but can't be set at runtime (e.g. `max_fingerprints`).
    #[error("setting cannot be changed at runtime")]
    ReadOnly,
}

/// Errors of this crate outside the per-advertisement path.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A trace file could not be opened, read or written.
    #[error("trace {path}: {source}")]
    TraceIo {
        /// The trace file.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A trace line is not a valid record; the replay skips it and goes on.
    #[error("trace line {line}: {kind}")]
    TraceLine {
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        kind: FieldError,
    },
    /// A `/set` command was rejected.
    #[error("setting {key}: {source}")]
    Setting {
        /// The setting key as received.
        key: String,
        /// Why.
        #[source]
        source: SettingError,
    },
    /// A device config (`espresense/settings/<id>/config`) payload is not valid JSON of that shape.
    #[error("device config {id}: invalid payload, expected {{\"id\",\"name\",\"rssi@1m\"}}")]
    DeviceConfig {
        /// The device id from the topic.
        id: String,
    },
    /// The BlueZ backend failed.
    #[cfg(feature = "bluez")]
    #[error("bluez: {0}")]
    Bluez(#[from] bluer::Error),
    /// The system D-Bus connection failed (is dbus-daemon running, may we connect?).
    #[cfg(feature = "bluez")]
    #[error("system d-bus: {0}")]
    Dbus(String),
}
