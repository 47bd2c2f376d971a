//! The demo's microphone: a real recorded sentence compiled into the binary, played in a loop
//! with quiet in between, paced like a microphone.
//!
//! The sentence is `arctic_a0007.wav` of the CMU ARCTIC database (16 kHz, 16-bit,
//! mono, 4 s), as shipped in the `pysptk` 1.0.1 source package; CMU's licence allows redistribution
//! with its notice, which is kept next to it in `assets/COPYING.cmu_arctic`.

use super::wav::WavSource;
use crate::error::SourceError;

const SAMPLE: &[u8] = include_bytes!("../../assets/arctic_a0007.wav");

/// The demo sentence as a source (not yet looped or paced).
pub(crate) fn sample() -> Result<WavSource, SourceError> {
    WavSource::from_static("assets/arctic_a0007.wav (built in)", SAMPLE)
}
