//! What the GPIO service says on MQTT: topics under `<prefix>/<node>/gpio/`, their payloads,
//! and the Home Assistant entities, all on the node's device.

mod entities;
mod payloads;
mod topics;

pub(crate) use entities::discovery;
pub(crate) use payloads::{light_state, on_off, reading};
pub(crate) use topics::Topics;
