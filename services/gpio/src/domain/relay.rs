//! A relay: its start-up, safe and auto-off behaviour, as a state machine over commands and time.

use std::time::Duration;

use tokio::time::Instant;

/// What the shell must do after a relay input: drive the line, publish the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RelayEffects {
    /// Drive the line to this (logical: true = relay on).
    pub set: Option<bool>,
    /// Publish this state.
    pub publish: Option<bool>,
}

/// A relay channel.
#[derive(Debug, Clone)]
pub(crate) struct Relay {
    on: bool,
    startup: bool,
    safe: bool,
    auto_off: Option<Duration>,
    off_at: Option<Instant>,
}

impl Relay {
    /// A relay that is in its safe state until [`Relay::start`].
    pub(crate) fn new(startup: bool, safe: bool, auto_off: Option<Duration>) -> Self {
        Self { on: safe, startup, safe, auto_off, off_at: None }
    }

    /// The state the line is requested in: safe, so that a restart after a crash first
    /// undoes whatever the crashed run left on the line.
    pub(crate) fn initial(&self) -> bool {
        self.safe
    }

    /// Moves to the start-up state and publishes it.
    pub(crate) fn start(&mut self, now: Instant) -> RelayEffects {
        let mut e = self.set(self.startup, now);
        e.publish = Some(self.on);
        e
    }

    /// A command: on or off. The state is published even when it did not change, so a
    /// command always gets its answer on the state topic.
    pub(crate) fn command(&mut self, on: bool, now: Instant) -> RelayEffects {
        let mut e = self.set(on, now);
        e.publish = Some(self.on);
        e
    }

    /// The state now.
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// When the auto-off timer fires.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.off_at
    }

    /// Fires the auto-off timer when due.
    pub(crate) fn poll(&mut self, now: Instant) -> RelayEffects {
        match self.off_at {
            Some(at) if now >= at => {
                let mut e = self.set(false, now);
                e.publish = Some(false);
                e
            }
            _ => RelayEffects::default(),
        }
    }

    /// The safe state, for shutdown.
    pub(crate) fn shutdown(&mut self) -> RelayEffects {
        self.off_at = None;
        let changed = self.on != self.safe;
        self.on = self.safe;
        RelayEffects { set: Some(self.safe), publish: changed.then_some(self.safe) }
    }

    fn set(&mut self, on: bool, now: Instant) -> RelayEffects {
        // Every turn-on restarts the auto-off timer.
        self.off_at = if on { self.auto_off.map(|d| now + d) } else { None };
        let changed = self.on != on;
        self.on = on;
        RelayEffects { set: changed.then_some(on), publish: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_is_requested_in_its_safe_state_then_moves_to_its_startup_state() {
        let t0 = Instant::now();
        let mut r = Relay::new(true, false, None);
        assert!(!r.initial());
        assert_eq!(r.start(t0), RelayEffects { set: Some(true), publish: Some(true) });
        assert!(r.is_on());
    }

    #[test]
    fn auto_off_turns_it_off_after_the_delay_and_restarts_on_each_on() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut r = Relay::new(false, false, Some(s(60)));
        r.start(t0);
        r.command(true, t0);
        assert_eq!(r.deadline(), Some(t0 + s(60)));
        r.command(true, t0 + s(30));
        assert_eq!(r.poll(t0 + s(60)), RelayEffects::default());
        assert_eq!(r.poll(t0 + s(90)), RelayEffects { set: Some(false), publish: Some(false) });
        assert_eq!(r.deadline(), None);
    }

    #[test]
    fn turning_it_off_cancels_auto_off() {
        let t0 = Instant::now();
        let mut r = Relay::new(false, false, Some(Duration::from_secs(5)));
        r.command(true, t0);
        r.command(false, t0);
        assert_eq!(r.deadline(), None);
    }

    #[test]
    fn a_repeated_command_changes_no_line_but_answers_with_the_state() {
        let t0 = Instant::now();
        let mut r = Relay::new(false, false, None);
        assert_eq!(r.command(false, t0), RelayEffects { set: None, publish: Some(false) });
    }

    #[test]
    fn shutdown_writes_the_safe_state_even_when_already_there() {
        let t0 = Instant::now();
        let mut r = Relay::new(true, false, None);
        r.start(t0);
        assert_eq!(r.shutdown(), RelayEffects { set: Some(false), publish: Some(false) });
        assert_eq!(r.shutdown(), RelayEffects { set: Some(false), publish: None });
    }
}
