//! A binary input (PIR, door contact): software debounce and hold time over stamped edges.
//!
//! Debounce: a level counts once it has held for the debounce period with no edge in between
//! (what the kernel does on uAPI v2; the Coral's v1 kernel has no debounce, so it is done here
//! for every backend that did not do it). Hold: the sensor stays ON until the line has been
//! inactive for the hold time, so a PIR that drops between movements does not flap.

use std::time::Duration;

use tokio::time::Instant;

/// A binary input's state machine.
#[derive(Debug, Clone)]
pub(crate) struct BinaryInput {
    debounce: Duration,
    hold: Duration,
    /// The debounced line level.
    level: bool,
    /// A level seen but not yet held for the debounce period.
    pending: Option<(bool, Instant)>,
    /// What is published.
    reported: bool,
    /// When the reported ON may drop to OFF.
    off_at: Option<Instant>,
}

impl BinaryInput {
    /// An input whose line reads `level` now. `debounce` is zero when the backend debounced.
    pub(crate) fn new(level: bool, debounce: Duration, hold: Duration) -> Self {
        Self { debounce, hold, level, pending: None, reported: level, off_at: None }
    }

    /// What is published now.
    pub(crate) fn state(&self) -> bool {
        self.reported
    }

    /// An edge: the line now reads `level`, as stamped `at`. Returns the state to publish when
    /// it changed.
    pub(crate) fn edge(&mut self, level: bool, at: Instant) -> Option<bool> {
        if self.debounce.is_zero() {
            return self.settle(level, at);
        }
        self.pending = if level == self.level { None } else { Some((level, at)) };
        None
    }

    /// When the shell must call [`BinaryInput::poll`] next.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let settle = self.pending.map(|(_, at)| at + self.debounce);
        match (settle, self.off_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Settles a pending level and ends a hold when due.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<bool> {
        let mut out = None;
        if let Some((level, at)) = self.pending
            && now >= at + self.debounce
        {
            self.pending = None;
            out = self.settle(level, at + self.debounce);
        }
        if let Some(off_at) = self.off_at
            && now >= off_at
            && !self.level
        {
            self.off_at = None;
            if self.reported {
                self.reported = false;
                out = Some(false);
            }
        }
        out
    }

    fn settle(&mut self, level: bool, at: Instant) -> Option<bool> {
        if level == self.level {
            return None;
        }
        self.level = level;
        if level {
            self.off_at = None;
            if !self.reported {
                self.reported = true;
                return Some(true);
            }
            None
        } else if self.hold.is_zero() {
            self.reported = false;
            Some(false)
        } else {
            self.off_at = Some(at + self.hold);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn a_clean_edge_counts_once_it_has_held_for_the_debounce_period() {
        let t0 = Instant::now();
        let mut i = BinaryInput::new(false, Duration::from_millis(50), Duration::ZERO);
        assert_eq!(i.edge(true, t0), None);
        assert_eq!(i.deadline(), Some(ms(t0, 50)));
        assert_eq!(i.poll(ms(t0, 49)), None);
        assert_eq!(i.poll(ms(t0, 50)), Some(true));
        assert!(i.state());
    }

    #[test]
    fn contact_bounce_shorter_than_the_debounce_period_is_ignored() {
        let t0 = Instant::now();
        let mut i = BinaryInput::new(false, Duration::from_millis(50), Duration::ZERO);
        for (n, level) in [(0, true), (3, false), (7, true), (9, false)] {
            i.edge(level, ms(t0, n));
        }
        assert_eq!(i.deadline(), None, "it ended where it started");
        assert_eq!(i.poll(ms(t0, 100)), None);
        assert!(!i.state());
        // Bounce that ends high counts from the last edge.
        i.edge(true, ms(t0, 200));
        i.edge(false, ms(t0, 203));
        i.edge(true, ms(t0, 206));
        assert_eq!(i.poll(ms(t0, 250)), None);
        assert_eq!(i.poll(ms(t0, 256)), Some(true));
    }

    #[test]
    fn motion_stays_on_for_the_hold_time_after_the_line_drops() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut i = BinaryInput::new(false, Duration::ZERO, Duration::from_secs(30));
        assert_eq!(i.edge(true, s(0)), Some(true));
        assert_eq!(i.edge(false, s(2)), None);
        assert_eq!(i.deadline(), Some(s(32)));
        // Movement again within the hold: still ON, the hold starts over when it drops.
        assert_eq!(i.edge(true, s(20)), None);
        assert_eq!(i.edge(false, s(21)), None);
        assert_eq!(i.poll(s(32)), None);
        assert_eq!(i.poll(s(51)), Some(false));
        assert!(!i.state());
    }

    #[test]
    fn without_hold_the_sensor_follows_the_debounced_line() {
        let t0 = Instant::now();
        let mut i = BinaryInput::new(true, Duration::ZERO, Duration::ZERO);
        assert!(i.state());
        assert_eq!(i.edge(false, t0), Some(false));
        assert_eq!(i.edge(false, t0), None);
    }
}
