//! The crate's errors: a model refused at load, a frame that cannot be used, a source that fails.

use std::path::PathBuf;

/// Why the vision service, or a model, could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model was refused (see [`ModelError`]).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The link could not take a message.
    #[error(transparent)]
    Link(#[from] roomsense_core::mqtt::LinkError),
    /// A camera source could not be built from its settings.
    #[error("camera `{camera}`: {reason}")]
    Source {
        /// The camera's id.
        camera: String,
        /// What went wrong.
        reason: String,
    },
}

/// Why a model was refused at load. Every variant names the manifest entry and, once the entry
/// is known, the model file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The manifest could not be read.
    #[error("cannot read model manifest {}: {source} (set [vision] models_dir to the folder holding vision.manifest.toml)", path.display())]
    ManifestRead {
        /// The manifest's path.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The manifest is not valid.
    #[error("model manifest {}: {reason}", path.display())]
    ManifestInvalid {
        /// The manifest's path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No entry of that name.
    #[error("model manifest {} has no entry `{entry}` (entries: {known})", path.display())]
    UnknownEntry {
        /// The manifest's path.
        path: PathBuf,
        /// The entry asked for.
        entry: String,
        /// The entries it has.
        known: String,
    },
    /// The model file could not be read.
    #[error("model `{entry}`: cannot read {}: {source}", file.display())]
    FileRead {
        /// The manifest entry.
        entry: String,
        /// The model file.
        file: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not the one the manifest describes.
    #[error("model `{entry}`: {} has sha256 {actual} but the manifest says {expected}: the file is corrupt or not the shipped model; reinstall it", file.display())]
    Checksum {
        /// The manifest entry.
        entry: String,
        /// The model file.
        file: PathBuf,
        /// The manifest's sha256.
        expected: String,
        /// The file's sha256.
        actual: String,
    },
    /// tract could not load or optimise the file.
    #[error("model `{entry}`: tract cannot load {}: {reason}", file.display())]
    Load {
        /// The manifest entry.
        entry: String,
        /// The model file.
        file: PathBuf,
        /// tract's error chain.
        reason: String,
    },
    /// A tensor of the model differs from the manifest.
    #[error("model `{entry}`: {} {what} is {found} but the manifest says {expected}", file.display())]
    Tensor {
        /// The manifest entry.
        entry: String,
        /// The model file.
        file: PathBuf,
        /// Which tensor property.
        what: String,
        /// What the manifest says.
        expected: String,
        /// What the file has.
        found: String,
    },
}

/// Why one inference failed (the frame is skipped and counted; the service goes on).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// tract failed while running the model.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The model gave outputs of an unexpected shape.
    #[error("model output {0} has an unexpected shape")]
    Output(&'static str),
}
