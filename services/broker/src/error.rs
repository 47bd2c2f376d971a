//! The crate's errors.

use std::path::PathBuf;

/// Why `broker init` or `doctor` could not do its job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A certificate could not be made.
    #[error("cannot make the TLS certificate: {0}")]
    Certificate(String),
    /// A shipped template has a placeholder nothing fills (a bug in the template).
    #[error("template {template}: nothing fills @{placeholder}@")]
    Template {
        /// Which template.
        template: &'static str,
        /// The placeholder.
        placeholder: String,
    },
    /// Some TLS files exist and others do not.
    #[error("{} exists but {} does not: remove the rest, or run with --force to make all new ones", present.display(), missing.display())]
    PartialTls {
        /// A file that exists.
        present: PathBuf,
        /// A file that is missing.
        missing: PathBuf,
    },
    /// The bridge's password file could not be read.
    #[error("bridge password: {0}")]
    BridgePassword(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
