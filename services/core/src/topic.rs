//! Topics and topic filters: a [`Topic`] is something that can be published to (no wildcards);
//! [`filter_matches`] says whether a subscription filter covers a topic.

use std::fmt;

/// A topic that can be published to: not empty, no `+`, `#` or NUL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Topic(String);

/// A topic that cannot be published to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{topic}` cannot be published to: {why}")]
pub struct TopicError {
    topic: String,
    why: &'static str,
}

impl Topic {
    /// Checks a topic for publishing.
    pub fn new(topic: impl Into<String>) -> Result<Self, TopicError> {
        let topic = topic.into();
        let why = if topic.is_empty() {
            "it is empty"
        } else if topic.contains(['+', '#']) {
            "wildcards are for subscriptions"
        } else if topic.contains('\0') {
            "it holds a NUL character"
        } else if topic.len() > 65_535 {
            "it is longer than MQTT allows"
        } else {
            return Ok(Self(topic));
        };
        Err(TopicError { topic, why })
    }

    /// This topic with more levels after it; each level is checked like the topic itself.
    pub fn join(&self, levels: &str) -> Result<Self, TopicError> {
        Self::new(format!("{}/{}", self.0, levels))
    }

    /// The topic as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Whether the subscription `filter` (with `+` and `#`) covers `topic`, as MQTT 3.1.1 §4.7
/// defines it (a filter starting with a wildcard does not match `$`-topics).
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_empty_topics_cannot_be_published_to() {
        assert!(Topic::new("roomsense/n1/status").is_ok());
        assert!(Topic::new("roomsense/+/status").is_err());
        assert!(Topic::new("roomsense/#").is_err());
        assert!(Topic::new("").is_err());
        assert!(Topic::new("a\0b").is_err());
    }

    #[test]
    fn joined_levels_are_checked_too() {
        let base = Topic::new("roomsense/n1").unwrap();
        assert_eq!(base.join("status").unwrap().as_str(), "roomsense/n1/status");
        assert!(base.join("+").is_err());
    }

    #[test]
    fn filters_match_as_mqtt_defines() {
        assert!(filter_matches("a/b", "a/b"));
        assert!(!filter_matches("a/b", "a/b/c"));
        assert!(filter_matches("a/+/c", "a/b/c"));
        assert!(!filter_matches("a/+", "a/b/c"));
        assert!(filter_matches("a/#", "a"));
        assert!(filter_matches("a/#", "a/b/c"));
        assert!(filter_matches("#", "a/b"));
        assert!(!filter_matches("#", "$SYS/broker/uptime"));
        assert!(filter_matches("$SYS/#", "$SYS/broker/uptime"));
        assert!(filter_matches("+/+", "a/"));
    }
}
