//! Retry timing for a camera or a model that went away: doubling waits between a floor and a
//! ceiling, back to the floor after a success.

use std::time::Duration;

/// Doubling back-off.
#[derive(Debug, Clone)]
pub struct Backoff {
    floor: Duration,
    ceiling: Duration,
    next_wait: Duration,
    retry_at: Option<Duration>,
}

impl Backoff {
    /// Waits start at `floor` and double up to `ceiling`.
    pub fn new(floor: Duration, ceiling: Duration) -> Self {
        Self { floor, ceiling, next_wait: floor, retry_at: None }
    }

    /// Whether an attempt may be made at `now`.
    pub fn may_try(&self, now: Duration) -> bool {
        self.retry_at.is_none_or(|t| now >= t)
    }

    /// Records a failure at `now`; returns how long until the next attempt.
    pub fn failed(&mut self, now: Duration) -> Duration {
        let wait = self.next_wait;
        self.retry_at = Some(now + wait);
        self.next_wait = (wait * 2).min(self.ceiling);
        wait
    }

    /// Records a success: the next failure waits `floor` again.
    pub fn succeeded(&mut self) {
        self.next_wait = self.floor;
        self.retry_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn waits_double_up_to_the_ceiling_and_reset_after_a_success() {
        let mut b = Backoff::new(S(1), S(5));
        let waits: Vec<_> = (0..5).map(|_| b.failed(S(0)).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
        b.succeeded();
        assert_eq!(b.failed(S(0)), S(1));
    }

    #[test]
    fn no_attempt_before_the_wait_is_over() {
        let mut b = Backoff::new(S(2), S(60));
        assert!(b.may_try(S(0)));
        b.failed(S(10));
        assert!(!b.may_try(S(11)));
        assert!(b.may_try(S(12)));
    }
}
