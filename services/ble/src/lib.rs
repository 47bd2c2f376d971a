//! roomsense-ble: the BLE presence node, wire-compatible with ESPresense v4.
//!
//! It owns everything between the radio and the `espresense/...` payloads: where advertisements
//! come from ([`AdvertisementSource`]: a JSONL [`ReplaySource`], BlueZ with feature `bluez`), how
//! they are decoded ([`parse_ad_into`] into an [`Advertisement`]), which ESPresense id they get
//! ([`propose`], the idType ladder), IRK resolution ([`IrkTable`]), the v4 distance filter
//! ([`RssiWindow`]), report gating ([`ReportGate`]), counting, the node settings
//! ([`NodeSettings`], `/set` commands) and the JSON payloads ([`DevicePayload`]).
//!
//! [`Tracker`] ties the pure part together: `handle(&advert, now)` returns the
//! [`DeviceReport`] to publish (if any), `tick(now)` forgets and counts, `apply_setting` and
//! `apply_device_config` take MQTT input. It never reads a clock or does I/O; the service shell
//! (with roomsense-core's MQTT link) feeds it and publishes what it returns.
//!
//! # Layout
//! - `domain/ad.rs`: AD-structure parser; `advert.rs`: the decoded advertisement;
//!   `address.rs`, `uuid.rs`: addresses and UUIDs; `hex.rs`, `text.rs`: formatting helpers.
//! - `domain/beacon.rs`: the node's own ESPresense iBeacon and its `node:<room>` config.
//! - `domain/fingerprint.rs`: the ESPresense id ladder and rssi@1m hints.
//! - `domain/irk.rs`: IRKs, the `ah` function, resolution.
//! - `domain/filter.rs`: the 15 s Tukey-fenced RSSI window and the distance model.
//! - `domain/gate.rs`: wall-clock-aligned report slots, early reports on movement.
//! - `domain/settings.rs`: node settings, `/set` validation, the retained snapshot.
//! - `domain/payload.rs`: device, telemetry and device-config JSON.
//! - `domain/tracker.rs`: the per-node state machine and bounded device table.
//! - `sources/`: the source trait, trace replay and writer, the bluer backend (feature `bluez`).
//! - `sources/demo.rs`: the demo trace (`demo/trace.jsonl`), replayed in a loop by the demo.
//! - `publish/`: ESPresense's topics and the node's BLE entities for Home Assistant.
//! - `service.rs`: [`BleService`], the async shell on roomsense-core's `Service` and `Link`;
//!   `record` (feature `bluez`) for `roomsense ble record FILE`.
//! - `config.rs`: the `[ble]` config section and its validation.
//! - `error.rs`: the crate's errors.

mod config;
mod domain;
mod error;
mod publish;
mod service;
mod sources;

pub use config::{BleConfig, ConfigProblem, ValidBleConfig};
pub use domain::ad::{AdStructures, parse_ad_into};
pub use domain::address::{Address, AddressType};
pub use domain::advert::Advertisement;
pub use domain::beacon::{NODE_BEACON_UUID, NodeBeacon};
pub use domain::filter::{Estimate, RssiWindow, Spread, distance_m};
pub use domain::fingerprint::{IdSpec, Proposal, SensorReading, default_rssi_1m, id_type, propose};
pub use domain::gate::{GateParams, ReportGate, djb2};
pub use domain::irk::{Irk, IrkTable, ah};
pub use domain::payload::{DeviceConfig, DevicePayload, TelemetryPayload};
pub use domain::settings::{NodeSettings, PrefixList, SetTopic, SettingChange};
pub use domain::text::{kebabify, slugify};
pub use domain::tracker::{DeviceReport, Now, Stats, TickOutcome, Tracker, device_topic};
pub use domain::uuid::BleUuid;
pub use error::{AdError, Error, FieldError, IrkError, SettingError};
pub use publish::topics::status_topic;
#[cfg(feature = "bluez")]
pub use service::record;
pub use service::{BleInput, BleService};
pub use sources::demo::{DEMO_IRK, DEMO_TRACE, demo_source};
pub use sources::replay::{ReplayLoop, ReplaySource, Speed};
pub use sources::trace::{TraceWriter, format_line, parse_line};
pub use sources::{AdvertisementSource, SourceEvent};
#[cfg(feature = "bluez")]
pub use sources::{BluezOptions, BluezSource, BluezStats};
