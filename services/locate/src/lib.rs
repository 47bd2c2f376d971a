//! roomsense-locate owns positioning across every node of the house: it turns ESPresense device
//! messages (`espresense/devices/<id>/<node>`, v3 and v4) from roomsense boards and ESP32 nodes
//! into one location per tracked device — room (or `not_home`), floor, x/y/z, confidence.
//!
//! Main types: [`LocateConfig`] is the `[locate]` section as written; its `validate` gives the
//! [`House`] (floors, room polygons, nodes, doors) and [`LocatorSettings`]. A [`Locator`] holds
//! every device's readings and one [`Estimator`] per device (nearest node, multilateration, or
//! the room filter), takes messages with the time they arrived and returns [`DeviceLocation`]s.
//! [`BeaconLog`] turns node-to-node beacons into [`CalibrationProposal`]s; [`Lease`] decides
//! which of several locators publishes. [`replay`] runs a capture offline. [`LocateService`]
//! is the `roomsense locate` service: it reads `espresense/devices/+/+`, publishes each
//! device's room on `<prefix>/devices/<id>` (attributes on `.../attributes`) while it holds the
//! lease on `<prefix>/locate/lease`, and announces a device tracker and a room sensor per device
//! on Home Assistant's "roomsense locator" device.
//!
//! Layout:
//! - `config`: the `[locate]` section, defaults, `validate` with every problem's key path
//! - `companion`: import of an ESPresense-companion `config.yaml`
//! - `error`: the crate's [`Error`]
//! - `domain/message`: decoding device messages; [`Rejection`] says why one was refused
//! - `domain/house`, `domain/geometry`: the validated house, polygons
//! - `domain/estimator`: the [`Estimator`] trait; `nearest`, `multilaterate` (with `solver` and
//!   `motion`, the Kalman filter), `room_filter` (the hidden-Markov room decision)
//! - `domain/locator`: per-device state, `not_home`, counters
//! - `domain/calibration`, `domain/lease`: proposals from node beacons; the multi-locator lease
//! - `sources/sim`: a simulated grid house and walkers (tests, benches); `sources`: the demo's
//!   house ([`demo_house`])
//! - `replay`: the offline replay of `mosquitto_sub -v -F %j` captures
//! - `publish/topics`, `publish/payloads`, `publish/entities`: what goes on the wire and to
//!   Home Assistant; `publish/requests`: the calibration API; `publish`: the `Publisher` that
//!   decides, without I/O, what to send when
//! - `service`: [`LocateService`], the async shell (the only module that awaits)

mod companion;
mod config;
mod domain;
mod error;
mod publish;
mod replay;
mod service;
mod sources;

pub use companion::import_companion;
pub use config::{
    EstimatorKind, FloorConfig, LeaseConfig, LocateConfig, LocatorSettings, MotionConfig,
    NodeConfig, RoomConfig, RoomFilterConfig, SolverConfig, TrackingConfig, Validated,
};
pub use domain::calibration::{BeaconLog, CalibrationProposal};
pub use domain::estimator::{Estimator, Fix, Reading, build as build_estimator};
pub use domain::house::{Floor, House, Node, Room};
pub use domain::lease::{Lease, LeaseClaim, Role};
pub use domain::locator::{Counters, DeviceLocation, Handled, Locator, Place};
pub use domain::message::{Message, Rejection, Report, decode};
pub use error::{ConfigProblem, ConfigProblems, Error, Result};
pub use replay::{EstimateLine, ReplayStats, format_tst, parse_tst, replay, replay_files};
pub use service::{LocateService, LocateSettings};
pub use sources::demo_house;
pub use sources::sim::{SimWalker, grid_house};
