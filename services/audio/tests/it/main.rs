//! roomsense-audio on real recordings and real files, with the real shipped model.

/// Bad files: wrong format, truncated, missing; the analysis goes on or says why not.
mod bad_input;
/// The test recordings fetched from PyPI (`tests/audio/fetch-fixtures`), and test helpers.
mod fixtures;
/// The whole pipeline at other rates: 48 kHz, 44.1 kHz, 11.025 kHz, gaps in the stream.
mod pipeline;
/// Frame accuracy against the pyannote sample's RTTM; speech, music, effects, noise, silence.
mod recordings;
