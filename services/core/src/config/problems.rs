//! What is wrong with a config value, and what would be right: collected, never thrown one by one.

use std::fmt;

/// One thing wrong in a config: the key path, what is wrong, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `mqtt.port`; empty for the file as a whole.
    pub key: String,
    /// What is wrong, in words.
    pub message: String,
    /// What would be valid (a list, a range, a format), when it can be said.
    pub allowed: Option<String>,
}

impl Problem {
    /// A problem at `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into(), allowed: None }
    }

    /// Says what is allowed instead.
    pub fn allowed(mut self, allowed: impl Into<String>) -> Self {
        self.allowed = Some(allowed.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{}: {}", self.key, self.message)?;
        }
        if let Some(allowed) = &self.allowed {
            write!(f, " (allowed: {allowed})")?;
        }
        Ok(())
    }
}

/// All problems a validation found, in the order found.
#[derive(Debug, Default)]
pub struct Problems {
    items: Vec<Problem>,
}

impl Problems {
    /// Records a problem.
    pub fn push(&mut self, problem: Problem) {
        self.items.push(problem);
    }

    /// Records a problem unless `ok`.
    pub fn check(&mut self, ok: bool, problem: impl FnOnce() -> Problem) {
        if !ok {
            self.push(problem());
        }
    }

    /// Checks that a number lies in `lo..=hi`, naming the range when it does not.
    pub fn in_range<T>(&mut self, key: &str, value: T, lo: T, hi: T, unit: &str)
    where
        T: PartialOrd + fmt::Display + Copy,
    {
        self.check(value >= lo && value <= hi, || {
            Problem::new(key, format!("{value} is out of range")).allowed(format!(
                "{lo} to {hi}{}",
                if unit.is_empty() { String::new() } else { format!(" {unit}") }
            ))
        });
    }

    /// Checks that a name can stand in an MQTT topic level and a Home Assistant object id.
    pub fn slug(&mut self, key: &str, value: &str) {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        self.check(ok, || {
            Problem::new(key, format!("`{value}` cannot be used in MQTT topics and entity ids"))
                .allowed("1 to 64 of a-z, 0-9, _ and -")
        });
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The problems, in the order found.
    pub fn into_vec(self) -> Vec<Problem> {
        self.items
    }
}
