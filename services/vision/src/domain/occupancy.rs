//! Occupancy with a hold time: a place is occupied while people are counted and for `hold`
//! after the last count above zero, so one missed frame does not empty a room.

use std::time::Duration;

/// What one place (a camera's view or a zone) says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Presence {
    /// People in the latest inference.
    pub count: u32,
    /// Occupied, with the hold applied.
    pub occupied: bool,
}

/// The hold-time state machine of one place.
#[derive(Debug, Clone)]
pub struct Occupancy {
    hold: Duration,
    last_seen: Option<Duration>,
    count: u32,
}

impl Occupancy {
    /// Empty, holding for `hold` after the last person.
    pub fn new(hold: Duration) -> Self {
        Self { hold, last_seen: None, count: 0 }
    }

    /// Takes a new count (`None` when no inference ran: only the hold is re-evaluated).
    pub fn handle(&mut self, count: Option<u32>, now: Duration) -> Presence {
        if let Some(count) = count {
            self.count = count;
            if count > 0 {
                self.last_seen = Some(now);
            }
        }
        let held = self.last_seen.is_some_and(|t| now.saturating_sub(t) < self.hold);
        Presence { count: self.count, occupied: self.count > 0 || held }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn one_missed_frame_does_not_empty_the_room() {
        let mut o = Occupancy::new(S(30));
        assert!(o.handle(Some(1), S(0)).occupied);
        let p = o.handle(Some(0), S(5));
        assert_eq!(p, Presence { count: 0, occupied: true });
    }

    #[test]
    fn the_room_empties_when_the_hold_runs_out() {
        let mut o = Occupancy::new(S(30));
        o.handle(Some(2), S(0));
        o.handle(Some(0), S(1));
        assert!(o.handle(None, S(29)).occupied);
        assert!(!o.handle(None, S(30)).occupied);
    }

    #[test]
    fn a_room_nobody_entered_is_never_occupied() {
        let mut o = Occupancy::new(S(30));
        assert_eq!(o.handle(Some(0), S(0)), Presence::default());
        assert_eq!(o.handle(None, S(100)), Presence::default());
    }

    #[test]
    fn a_count_keeps_the_room_occupied_whatever_the_hold() {
        let mut o = Occupancy::new(Duration::ZERO);
        assert!(o.handle(Some(1), S(0)).occupied);
        assert!(o.handle(None, S(100)).occupied, "the last count was 1");
    }
}
