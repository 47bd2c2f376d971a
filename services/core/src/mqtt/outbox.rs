//! The outbox: must-deliver messages, kept until the broker acknowledges them (PUBACK).
//!
//! Pure bookkeeping: which messages are owed, which are with the client, which to send again
//! when the broker lost the session. The disk copy is [`super::outbox_store`]'s job.

use std::collections::BTreeMap;

use super::message::Outgoing;

/// Identifies a message in the outbox; increasing in the order messages were accepted.
pub type OutboxId = u64;

/// The outbox is at its bound; the message was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the outbox holds {max} unacknowledged messages already: is the broker reachable?")]
pub struct OutboxFull {
    /// The bound.
    pub max: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not yet handed to the MQTT client (or handed to a session the broker has since lost).
    Owed,
    /// With the client; it will resend it within the session until the broker acknowledges it.
    Handed,
}

/// Must-deliver messages in the order accepted, bounded.
#[derive(Debug)]
pub struct Outbox {
    entries: BTreeMap<OutboxId, (Outgoing, Stage)>,
    next_id: OutboxId,
    max: usize,
}

impl Outbox {
    /// An empty outbox holding at most `max` messages.
    pub fn new(max: usize) -> Self {
        Self { entries: BTreeMap::new(), next_id: 1, max }
    }

    /// An outbox holding what a previous run left (all owed again), up to `max` (the oldest
    /// are kept when there is more).
    pub fn restore(max: usize, left: impl IntoIterator<Item = (OutboxId, Outgoing)>) -> Self {
        let mut outbox = Self::new(max);
        for (id, message) in left {
            if outbox.entries.len() >= max {
                break;
            }
            outbox.next_id = outbox.next_id.max(id + 1);
            outbox.entries.insert(id, (message, Stage::Owed));
        }
        outbox
    }

    /// Takes a message; it is owed until [`Outbox::acknowledged`].
    pub fn push(&mut self, message: Outgoing) -> Result<OutboxId, OutboxFull> {
        if self.entries.len() >= self.max {
            return Err(OutboxFull { max: self.max });
        }
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(id, (message, Stage::Owed));
        Ok(id)
    }

    /// The oldest message not yet with the client.
    pub fn next_owed(&self) -> Option<(OutboxId, &Outgoing)> {
        self.entries
            .iter()
            .find(|(_, (_, stage))| *stage == Stage::Owed)
            .map(|(id, (m, _))| (*id, m))
    }

    /// The client took the message.
    pub fn handed(&mut self, id: OutboxId) {
        if let Some((_, stage)) = self.entries.get_mut(&id) {
            *stage = Stage::Handed;
        }
    }

    /// The broker acknowledged the message: it is delivered and forgotten. False if unknown.
    pub fn acknowledged(&mut self, id: OutboxId) -> bool {
        self.entries.remove(&id).is_some()
    }

    /// The broker lost the session, and the client with it everything it held: these are
    /// owed again.
    pub fn owe_again(&mut self, ids: impl IntoIterator<Item = OutboxId>) {
        for id in ids {
            if let Some((_, stage)) = self.entries.get_mut(&id) {
                *stage = Stage::Owed;
            }
        }
    }

    /// Everything is owed again (a new process, or the client was replaced).
    pub fn owe_all(&mut self) {
        for (_, stage) in self.entries.values_mut() {
            *stage = Stage::Owed;
        }
    }

    /// How many messages are not yet acknowledged.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when everything was acknowledged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::Topic;

    fn msg(n: u32) -> Outgoing {
        Outgoing {
            topic: Topic::new("t").unwrap(),
            payload: n.to_string().into_bytes(),
            retain: false,
        }
    }

    #[test]
    fn a_message_stays_until_acknowledged_and_is_handed_once() {
        let mut o = Outbox::new(10);
        let a = o.push(msg(1)).unwrap();
        let b = o.push(msg(2)).unwrap();
        assert_eq!(o.next_owed().map(|(id, _)| id), Some(a));
        o.handed(a);
        assert_eq!(o.next_owed().map(|(id, _)| id), Some(b));
        o.handed(b);
        assert_eq!(o.next_owed(), None);
        assert!(o.acknowledged(a));
        assert!(!o.acknowledged(a));
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn a_lost_session_makes_handed_messages_owed_again_in_order() {
        let mut o = Outbox::new(10);
        let ids: Vec<_> = (0..3).map(|n| o.push(msg(n)).unwrap()).collect();
        ids.iter().for_each(|&id| o.handed(id));
        o.owe_again([ids[2], ids[1]]);
        assert_eq!(o.next_owed().map(|(id, _)| id), Some(ids[1]));
    }

    #[test]
    fn a_full_outbox_refuses_and_keeps_what_it_has() {
        let mut o = Outbox::new(2);
        o.push(msg(1)).unwrap();
        o.push(msg(2)).unwrap();
        assert_eq!(o.push(msg(3)), Err(OutboxFull { max: 2 }));
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn a_restored_outbox_continues_numbering_after_what_it_found() {
        let mut o = Outbox::restore(10, [(7, msg(7)), (3, msg(3))]);
        assert_eq!(o.next_owed().map(|(id, _)| id), Some(3));
        assert_eq!(o.push(msg(8)).unwrap(), 8);
    }
}
