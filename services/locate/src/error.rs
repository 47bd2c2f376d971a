//! The crate's error type: every variant says where the problem is.

use std::fmt;
use std::path::PathBuf;

/// One problem found while validating the `[locate]` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key path, e.g. `locate.rooms.kitchen.polygon`.
    pub key: String,
    /// 1-based line in the file, when the key could be found there.
    pub line: Option<usize>,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// All problems of one configuration, shown one per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigProblems(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in roomsense-locate outside the per-message hot path
/// (per-message problems are the small [`crate::Rejection`] enum).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TOML text could not be parsed or does not have the expected shape.
    #[error("{file}: line {line}: {message}")]
    ConfigSyntax {
        /// File the text came from.
        file: PathBuf,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// The configuration parsed but is not usable; fix every listed key.
    #[error("{file}: invalid [locate] configuration:\n{problems}")]
    ConfigInvalid {
        /// File the text came from.
        file: PathBuf,
        /// Every problem found, each with its key path.
        problems: ConfigProblems,
    },
    /// The ESPresense-companion YAML could not be read.
    #[error("{file}: line {line}: cannot read companion config: {message}")]
    CompanionYaml {
        /// File the YAML came from.
        file: PathBuf,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// The companion config has something that has no equivalent in the house model.
    #[error("{file}: {key}: {message}")]
    CompanionUnsupported {
        /// File the YAML came from.
        file: PathBuf,
        /// Key path in the companion file, e.g. `floors[0].rooms[2].points`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Reading a capture or writing estimates failed.
    #[error("{file}: {source}")]
    Io {
        /// File being read or written.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `roomsense locate` was started on a house with no nodes: nothing could be located.
    #[error(
        "[locate] has no nodes: add a [locate.nodes.<room>] table per node (its ESPresense room \
         slug, point = [x, y, z] in metres), or convert an ESPresense-companion config with \
         `roomsense locate import-companion config.yaml`"
    )]
    EmptyHouse,
    /// A topic could not be formed (a `[mqtt]` prefix that cannot be published to).
    #[error(transparent)]
    Topic(#[from] roomsense_core::topic::TopicError),
    /// The MQTT link refused a must-deliver message (outbox full or not writable).
    #[error(transparent)]
    Link(#[from] roomsense_core::mqtt::LinkError),
    /// An estimator name that does not exist was asked for.
    #[error("unknown estimator {name:?}: use one of nearest_node, multilateration, room_filter")]
    UnknownEstimator {
        /// The name given.
        name: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
