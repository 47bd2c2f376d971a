//! roomsense-audio: voices and sound level from a node's microphones. No audio leaves the
//! board: each microphone yields a `voice` flag (ON while people talk, held a while after) and a
//! sound level, published over MQTT with a Home Assistant binary_sensor and sensor.
//!
//! Main types: an [`AudioSource`] yields [`AudioBlock`]s at any rate ([`WavSource`] for files,
//! [`CaptureSource`] over an ALSA device with the `alsa` feature); a [`Pipeline`] resamples them
//! to 16 kHz, runs the Silero VAD ([`VadModel`], one [`VadSession`] per stream, via tract) and
//! the [`LevelMeter`], and yields [`SpeechEvent`]s and [`LevelReading`]s; the [`AudioService`]
//! turns those into `voice` ([`VoiceHold`]) and `level` messages. [`analyze_file`] runs the
//! pipeline over a WAV file for `roomsense audio vad`.
//!
//! Layout:
//! - `config`: the `[audio]` section ([`AudioConfig`] → [`AudioSettings`])
//! - `error`: the crate's errors, one enum per layer
//! - `sources/`: the [`AudioSource`] trait; `wav` (decoder and file source), `capture` (a device
//!   on its own thread, reconnecting), `alsa` (feature), `sim` (the demo's sample)
//! - `domain/`: `resample` (polyphase low-pass resampler), `vad` (framing with context, Silero's
//!   segment rules), `level` (RMS and A-weighting), `voice` (the hold)
//! - `model`: the manifest, the sha256 check, tract
//! - `pipeline`: one microphone's analysis, synchronous
//! - `publish/`: topics, payloads, Home Assistant entities
//! - `service`: [`AudioService`], the async shell with one worker thread per microphone
//! - `offline`: [`analyze_file`]

mod config;
mod domain;
mod error;
mod model;
mod offline;
mod pipeline;
mod publish;
mod service;
mod sources;

pub use config::{AudioConfig, AudioSettings, Mic, MicConfig, RuleOverrides};
pub use domain::level::{AWeighting, LevelMeter, LevelReading};
pub use domain::resample::Resampler;
pub use domain::vad::{Framer, Segment, SegmentRules, Segmenter, SpeechEvent, pad_segments};
pub use domain::voice::{VoiceChange, VoiceHold};
pub use error::{Error, InferError, ModelError, SourceError, WavError};
pub use model::{Manifest, VadModel, VadSession};
pub use offline::{FileError, FileReport, SegmentSeconds, analyze_file};
pub use pipeline::{Analysis, Pipeline};
pub use service::AudioService;
#[cfg(feature = "alsa")]
pub use sources::AlsaDevice;
pub use sources::{
    AudioBlock, AudioSource, CaptureSource, Device, Encoding, RETRY, Read, SourceSpec, Stream,
    StreamError, WavFormat, WavReader, WavSource,
};
