//! Best-effort state: the newest value per topic, waiting for the broker.
//!
//! While the broker is away nothing blocks: a newer value for a topic replaces the older one,
//! so what is sent on reconnect is the state as it is now, not a history.

use std::collections::BTreeMap;

use super::message::Outgoing;
use crate::topic::Topic;

/// Newest value per topic, bounded in topics.
#[derive(Debug)]
pub struct LatestValues {
    waiting: BTreeMap<Topic, (Vec<u8>, bool)>,
    max_topics: usize,
    dropped: u64,
}

impl LatestValues {
    /// Holds at most `max_topics` distinct topics.
    pub fn new(max_topics: usize) -> Self {
        Self { waiting: BTreeMap::new(), max_topics, dropped: 0 }
    }

    /// Records a value; it replaces any value still waiting for the same topic. A new topic
    /// beyond the bound is dropped and counted.
    pub fn set(&mut self, message: Outgoing) {
        if self.waiting.len() >= self.max_topics && !self.waiting.contains_key(&message.topic) {
            self.dropped += 1;
            return;
        }
        self.waiting.insert(message.topic, (message.payload, message.retain));
    }

    /// Takes the value waiting longest in topic order (for a fair drain), if any.
    pub fn take(&mut self) -> Option<Outgoing> {
        let (topic, (payload, retain)) = self.waiting.pop_first()?;
        Some(Outgoing { topic, payload, retain })
    }

    /// Puts back a value the client could not take, unless a newer one arrived meanwhile.
    pub fn put_back(&mut self, message: Outgoing) {
        self.waiting.entry(message.topic).or_insert((message.payload, message.retain));
    }

    /// Values waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// New topics refused because the bound was reached.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(topic: &str, v: &str) -> Outgoing {
        Outgoing { topic: Topic::new(topic).unwrap(), payload: v.as_bytes().to_vec(), retain: true }
    }

    #[test]
    fn the_newest_value_per_topic_wins() {
        let mut l = LatestValues::new(10);
        l.set(m("a", "1"));
        l.set(m("b", "1"));
        l.set(m("a", "2"));
        assert_eq!(l.len(), 2);
        assert_eq!(l.take(), Some(m("a", "2")));
        assert_eq!(l.take(), Some(m("b", "1")));
        assert_eq!(l.take(), None);
    }

    #[test]
    fn a_value_put_back_does_not_override_a_newer_one() {
        let mut l = LatestValues::new(10);
        l.set(m("a", "1"));
        let old = l.take().unwrap();
        l.set(m("a", "2"));
        l.put_back(old);
        assert_eq!(l.take(), Some(m("a", "2")));
    }

    #[test]
    fn topics_beyond_the_bound_are_counted_not_kept() {
        let mut l = LatestValues::new(1);
        l.set(m("a", "1"));
        l.set(m("b", "1"));
        l.set(m("a", "2"));
        assert_eq!(l.len(), 1);
        assert_eq!(l.dropped(), 1);
    }
}
