//! The pure part: board profiles, and one state machine per kind of part. No I/O, no clock:
//! time comes in as an argument.

pub(crate) mod board;
pub(crate) mod buzzer;
pub(crate) mod command;
pub(crate) mod environment;
pub(crate) mod input;
pub(crate) mod light;
pub(crate) mod relay;
