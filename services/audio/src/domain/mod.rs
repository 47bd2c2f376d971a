//! The pure part: resampling, Silero's pre/post-processing, sound level, the voice state.
//! Plain data in, plain data out; no I/O, no clock.

pub(crate) mod level;
pub(crate) mod resample;
pub(crate) mod vad;
pub(crate) mod voice;
