//! The pure part: the validated house, payload decoding, the fusion state machine and the
//! automations. No I/O, no clock: time is passed in.

pub(crate) mod automation;
pub(crate) mod decode;
pub(crate) mod fusion;
pub(crate) mod house;
