//! One TOML config file: read once, deserialized into typed sections, every problem located.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::problems::{Problem, Problems};

/// A config file as written: its path and text, kept so every later problem can name a line.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    text: String,
}

/// Why a config file was refused. Every variant names the file; [`ConfigError::Problems`]
/// also names line, key and what is allowed for each problem, all of them at once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file {}: {source} (create it, or pass --config with its path)", path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file was read but is not valid.
    #[error("{}", render_problems(path, problems))]
    Problems {
        /// The file that holds the problems.
        path: PathBuf,
        /// Each problem, with its line where one could be found.
        problems: Vec<LocatedProblem>,
    },
}

/// A [`Problem`] with the line of the file it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedProblem {
    /// 1-based line, when the key (or its table) is in the file.
    pub line: Option<usize>,
    /// The problem itself.
    pub problem: Problem,
}

impl ConfigError {
    /// The problems, when the file was read; empty for a read error.
    pub fn problems(&self) -> &[LocatedProblem] {
        match self {
            ConfigError::Problems { problems, .. } => problems,
            ConfigError::Read { .. } => &[],
        }
    }
}

fn render_problems(path: &Path, problems: &[LocatedProblem]) -> String {
    let mut out = String::new();
    let noun = if problems.len() == 1 { "problem" } else { "problems" };
    out.push_str(&format!("{} has {} {noun}:", path.display(), problems.len()));
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&path.display().to_string());
        if let Some(line) = p.line {
            out.push_str(&format!(":{line}"));
        }
        out.push_str(&format!(": {}", p.problem));
    }
    out
}

impl ConfigFile {
    /// Reads the file; nothing is parsed yet.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref().to_path_buf();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Self { path, text }),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// A config given as text (the demo's embedded defaults, tests); `path` is what errors name.
    pub fn from_text(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self { path: path.into(), text: text.into() }
    }

    /// The path errors name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deserializes the whole file into `T`, then runs `validate` on it; every problem found by
    /// either step comes back at once with its line.
    pub fn parse<T, F>(&self, validate: F) -> Result<T, ConfigError>
    where
        T: DeserializeOwned,
        F: FnOnce(&T, &mut Problems),
    {
        let value = self.deserialize::<T>()?;
        let mut problems = Problems::default();
        validate(&value, &mut problems);
        if problems.is_empty() { Ok(value) } else { Err(self.located(problems.into_vec())) }
    }

    fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let deserializer = toml::de::Deserializer::parse(&self.text).map_err(|e| {
            let line = e.span().map(|s| self.line_of(s.start));
            let problem = Problem::new("", format!("not valid TOML: {}", e.message().trim()));
            self.error(vec![LocatedProblem { line, problem }])
        })?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            let span = e.inner().span();
            let (message, allowed) = explain(e.inner().message());
            // serde names a missing key in its message, not in the path.
            let key = match quoted(e.inner().message()) {
                Some(field) if message.starts_with("missing") => join_key(&key, field),
                _ => key,
            };
            let line = match span {
                Some(s) => Some(self.line_of(s.start)),
                None => self.line_of_key(&key),
            };
            let mut problem = Problem::new(key, message);
            if let Some(allowed) = allowed {
                problem = problem.allowed(allowed);
            }
            self.error(vec![LocatedProblem { line, problem }])
        })
    }

    fn located(&self, problems: Vec<Problem>) -> ConfigError {
        let problems = problems
            .into_iter()
            .map(|problem| LocatedProblem { line: self.line_of_key(&problem.key), problem })
            .collect();
        self.error(problems)
    }

    fn error(&self, problems: Vec<LocatedProblem>) -> ConfigError {
        ConfigError::Problems { path: self.path.clone(), problems }
    }

    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// The line of a dotted key path (`mqtt.port`, `rooms.kitchen.polygon[2]`); when the key is
    /// missing, the line of the deepest table on the path that is there.
    pub fn line_of_key(&self, key: &str) -> Option<usize> {
        let root = DeTable::parse(&self.text).ok()?;
        let span = find_span(root.get_ref(), root.span(), key)?;
        if span.start == 0 && span.end >= self.text.len().saturating_sub(1) {
            return None;
        }
        Some(self.line_of(span.start))
    }
}

fn join_key(parent: &str, field: &str) -> String {
    if parent.is_empty() { field.to_owned() } else { format!("{parent}.{field}") }
}

fn find_span(table: &DeTable<'_>, table_span: Range<usize>, key: &str) -> Option<Range<usize>> {
    let mut current: Option<&Spanned<DeValue<'_>>> = None;
    let mut best = table_span;
    let mut current_table = Some(table);
    for segment in key_segments(key) {
        match segment {
            Segment::Key(name) => {
                let Some(t) = current_table else { break };
                let Some((k, v)) = t.get_key_value(name) else { break };
                best = k.span();
                current = Some(v);
            }
            Segment::Index(i) => {
                let Some(DeValue::Array(items)) = current.map(|v| v.get_ref()) else { break };
                let Some(item) = items.get(i) else { break };
                best = item.span();
                current = Some(item);
            }
        }
        current_table = match current.map(|v| v.get_ref()) {
            Some(DeValue::Table(t)) => Some(t),
            _ => None,
        };
    }
    Some(best)
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn key_segments(key: &str) -> impl Iterator<Item = Segment<'_>> {
    key.split('.').filter(|s| !s.is_empty()).flat_map(|part| {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        let indices = rest
            .split('[')
            .filter_map(|i| i.trim_end_matches(']').parse::<usize>().ok())
            .map(Segment::Index);
        std::iter::once(Segment::Key(name))
            .filter(|s| !matches!(s, Segment::Key("")))
            .chain(indices)
    })
}

/// The first backquoted word of a serde message.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// Turns serde's wording into ours: what is wrong, and what is allowed.
fn explain(message: &str) -> (String, Option<String>) {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return ("unknown key".into(), expected_list(rest));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let value = quoted(rest).unwrap_or("");
        return (format!("unknown value `{value}`"), expected_list(rest));
    }
    if message.starts_with("missing field ") {
        return ("missing required key".into(), None);
    }
    if let Some((what, expected)) = message.split_once(", expected ") {
        return (what.to_owned(), Some(describe_expected(expected)));
    }
    (message.to_owned(), None)
}

fn expected_list(rest: &str) -> Option<String> {
    let (_, list) = rest.split_once("expected ")?;
    let list = list.strip_prefix("one of ").unwrap_or(list);
    if list.contains("there are no") {
        return Some("no keys here".into());
    }
    Some(list.replace('`', ""))
}

fn describe_expected(expected: &str) -> String {
    let range = |lo: &str, hi: &str| format!("a whole number from {lo} to {hi}");
    match expected {
        "u8" => range("0", "255"),
        "u16" => range("0", "65535"),
        "u32" => range("0", "4294967295"),
        "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        other => other.to_owned(),
    }
}

impl fmt::Display for LocatedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}
