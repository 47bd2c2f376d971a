//! roomsense-rooms owns per-room occupancy and local automations. It listens to what the other
//! services publish — devices the locator puts in a room, person counts of cameras and zones,
//! voice activity, PIR and door inputs — fuses them per room, and publishes
//! `roomsense/rooms/<room>/occupancy`, `.../count` and `.../evidence`, with Home Assistant
//! entities on a "roomsense rooms" device. Automations in the config run here, so lights keep
//! following people with Home Assistant stopped. The model is documented in `ROOMS.md`.
//!
//! Main types: [`RoomsConfig`] is the `[rooms]` section as written; its `validate` gives the
//! [`House`] (rooms, their [`SourceRef`]s, [`FusionParams`], [`Rule`]s). [`Fusion`] takes
//! [`Observation`]s with the time and returns [`RoomUpdate`]s carrying the [`Evidence`] that
//! decided them; [`Automations`] takes room changes, sensor values and the time and returns
//! [`Firing`]s. [`RoomsService`] is the MQTT shell around both; [`HouseSimulator`] plays the
//! demo's [`SimHouse`].
//!
//! Layout:
//! - `config`: the `[rooms]` section, `validate` with every problem's key path
//! - `topics`: every topic read or written (the other services' topic shapes live only here)
//! - `domain/house`: the validated house; `domain/decode`: payloads; `domain/fusion`: the
//!   occupancy state machine; `domain/automation`: the rules' state machine
//! - `publish`: Home Assistant entities, command and event payloads
//! - `sources/sim`: the demo's simulated house
//! - `service`: [`RoomsService`] and [`HouseSimulator`], the async shells

mod config;
mod domain;
mod error;
mod publish;
mod service;
mod sources;
mod topics;

pub use config::{
    ActionConfig, AutomationConfig, ConditionConfig, FusionConfig, KindConfig, LocatorConfig,
    NodeSources, RESERVED, RoomConfig, RoomsConfig, Switch, TriggerConfig,
};
pub use domain::automation::{Automations, Firing, Outcome, Skipped};
pub use domain::decode::{Heard, Rejection, decode};
pub use domain::fusion::{Evidence, Feed, Fusion, Observation, Phase, RoomUpdate, SourceEvidence};
pub use domain::house::{
    Action, Condition, FusionParams, House, Kind, Occupancy, Params, RoomSpec, Rule, SensorRef,
    SourceRef, TimeOfDay, Trigger,
};
pub use error::Error;
pub use publish::{Command, DEVICE_ID, command, device, discovery, fired_event};
pub use service::{HouseSimulator, RoomsService, RoomsSettings};
pub use sources::sim::{SimHouse, SimMessage};
pub use topics::{Inbound, Topics};
