//! Which outbox message a PUBACK acknowledges.
//!
//! rumqttc does not return the packet id of a publish; it reports `Outgoing::Publish(pkid)` when
//! it writes one, in the order it takes requests: first what it resends from the session
//! (packet ids it already reported), then new requests in the order they were queued. So every
//! QoS 1 publish handed to the client is queued here with its tag (an outbox id, or nothing for
//! best-effort state), and the tag moves to its packet id when rumqttc reports it.

use std::collections::{HashMap, VecDeque};

use super::outbox::OutboxId;

/// What the link knows of a QoS 1 publish: the outbox message it carries, if any.
pub type Tag = Option<OutboxId>;

/// Pairs QoS 1 publishes with their packet ids and PUBACKs.
#[derive(Debug, Default)]
pub struct AckTracker {
    queued: VecDeque<Tag>,
    in_flight: HashMap<u16, Tag>,
    /// A publish whose packet id was still in flight (the broker acked out of order); rumqttc
    /// sends it when that id is acknowledged.
    collided: Option<(u16, Tag)>,
}

impl AckTracker {
    /// A QoS 1 publish was queued with the client.
    pub fn queued(&mut self, tag: Tag) {
        self.queued.push_back(tag);
    }

    /// rumqttc wrote a QoS 1 publish with `pkid`.
    pub fn written(&mut self, pkid: u16) {
        if pkid == 0 || self.in_flight.contains_key(&pkid) {
            return; // a resend within the session: already paired
        }
        let tag = match self.collided.take() {
            Some((id, tag)) if id == pkid => tag,
            other => {
                self.collided = other;
                self.queued.pop_front().flatten()
            }
        };
        self.in_flight.insert(pkid, tag);
    }

    /// rumqttc held a publish back because `pkid` is still in flight.
    pub fn collided(&mut self, pkid: u16) {
        let tag = self.queued.pop_front().flatten();
        self.collided = Some((pkid, tag));
    }

    /// The broker acknowledged `pkid`: the outbox message it carried, if any.
    pub fn acknowledged(&mut self, pkid: u16) -> Tag {
        self.in_flight.remove(&pkid).flatten()
    }

    /// The broker lost the session and rumqttc dropped everything it held: the outbox
    /// messages that are owed again.
    pub fn session_lost(&mut self) -> Vec<OutboxId> {
        let mut lost: Vec<OutboxId> = self.queued.drain(..).flatten().collect();
        lost.extend(self.in_flight.drain().filter_map(|(_, tag)| tag));
        lost.extend(self.collided.take().and_then(|(_, tag)| tag));
        lost.sort_unstable();
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_pair_with_packet_ids_in_queue_order() {
        let mut t = AckTracker::default();
        t.queued(Some(10));
        t.queued(None);
        t.queued(Some(11));
        t.written(1);
        t.written(2);
        t.written(3);
        assert_eq!(t.acknowledged(2), None);
        assert_eq!(t.acknowledged(3), Some(11));
        assert_eq!(t.acknowledged(1), Some(10));
        assert_eq!(t.acknowledged(1), None);
    }

    #[test]
    fn a_resend_within_the_session_keeps_its_pairing() {
        let mut t = AckTracker::default();
        t.queued(Some(1));
        t.queued(Some(2));
        t.written(1);
        // connection dropped; rumqttc resends pkid 1, then writes the queued one as pkid 2
        t.written(1);
        t.written(2);
        assert_eq!(t.acknowledged(1), Some(1));
        assert_eq!(t.acknowledged(2), Some(2));
    }

    #[test]
    fn a_collided_publish_takes_its_packet_id_once_that_is_free() {
        let mut t = AckTracker::default();
        t.queued(Some(1));
        t.queued(Some(2));
        t.written(5);
        t.collided(5);
        assert_eq!(t.acknowledged(5), Some(1));
        t.written(5);
        assert_eq!(t.acknowledged(5), Some(2));
    }

    #[test]
    fn a_lost_session_returns_every_outbox_message_not_acknowledged() {
        let mut t = AckTracker::default();
        t.queued(Some(1));
        t.queued(None);
        t.queued(Some(3));
        t.written(1);
        t.written(2);
        assert_eq!(t.session_lost(), vec![1, 3]);
        assert_eq!(t.acknowledged(1), None);
        t.queued(Some(4));
        t.written(1);
        assert_eq!(t.acknowledged(1), Some(4));
    }
}
