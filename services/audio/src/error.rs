//! The crate's errors, one enum per layer: the model, the audio sources, and the service.

use std::path::PathBuf;

/// Why the VAD model could not be loaded. Every variant names the manifest or model file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The manifest could not be read.
    #[error("cannot read model manifest {}: {source}", path.display())]
    ReadManifest {
        /// The manifest.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The manifest is not what roomsense expects.
    #[error("model manifest {}: {message}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model file could not be read.
    #[error("cannot read model {} (named by {}): {source}", path.display(), manifest.display())]
    ReadModel {
        /// The model file.
        path: PathBuf,
        /// The manifest naming it.
        manifest: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The model file is not the one the manifest describes.
    #[error(
        "model {} does not match its manifest {}: sha256 {actual}, expected {expected} (reinstall the model)",
        path.display(), manifest.display()
    )]
    Checksum {
        /// The model file.
        path: PathBuf,
        /// The manifest.
        manifest: PathBuf,
        /// What the manifest says.
        expected: String,
        /// What the file hashes to.
        actual: String,
    },
    /// tract refused the model, or its tensors are not those of the manifest.
    #[error("cannot load model {} (manifest {}): {message}", path.display(), manifest.display())]
    Load {
        /// The model file.
        path: PathBuf,
        /// The manifest.
        manifest: PathBuf,
        /// tract's error chain, or the mismatch.
        message: String,
    },
}

/// Why one inference failed (the model loaded, so this should not happen; counted, not fatal).
#[derive(Debug, Clone, thiserror::Error)]
#[error("inference failed: {0}")]
pub struct InferError(pub(crate) String);

/// What is wrong with a WAV stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    /// Not a RIFF/WAVE file at all.
    #[error("not a WAV file (no RIFF/WAVE header)")]
    NotWav,
    /// A WAV encoding roomsense does not decode.
    #[error("unsupported WAV encoding: {0} (use PCM 8/16/24/32-bit or 32/64-bit float)")]
    Unsupported(String),
    /// A chunk that every WAV needs is missing.
    #[error("no `{0}` chunk")]
    MissingChunk(&'static str),
    /// The header says more audio than the file holds.
    #[error(
        "truncated: the header declares {declared} bytes of audio, the file ends after {present}"
    )]
    Truncated {
        /// Bytes of audio the header declares.
        declared: u64,
        /// Bytes of audio present.
        present: u64,
    },
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Why an audio source gave no audio.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A WAV file could not be opened or decoded.
    #[error("{}: {source}", path.display())]
    Wav {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: WavError,
    },
    /// A capture device could not be opened or went away; the source keeps retrying.
    #[error("microphone {device}: {message} (retrying every {retry_ms} ms)")]
    Unavailable {
        /// The device (ALSA PCM name).
        device: String,
        /// What ALSA said.
        message: String,
        /// How often the source tries again.
        retry_ms: u64,
    },
    /// The capture thread is gone; the source will give no more audio.
    #[error("microphone {device}: capture thread stopped")]
    Stopped {
        /// The device.
        device: String,
    },
}

/// Why the audio service stopped on its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A source failed for good.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The link could not take a message.
    #[error(transparent)]
    Link(#[from] roomsense_core::mqtt::LinkError),
    /// There is nothing to listen to.
    #[error(
        "no microphone configured: add [audio.mics.<name>] with `device` (ALSA) or `file` (WAV)"
    )]
    NoMicrophone,
    /// A worker thread could not be started or died.
    #[error("microphone {mic}: worker failed: {message}")]
    Worker {
        /// The microphone.
        mic: String,
        /// What happened.
        message: String,
    },
}
