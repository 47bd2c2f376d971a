//! What the BLE service says on MQTT: ESPresense's topics (`topics`) and the node's BLE
//! entities on its Home Assistant device (`entities`). Payloads are in `domain/payload.rs`.

pub(crate) mod entities;
pub(crate) mod topics;
