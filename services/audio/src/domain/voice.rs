//! A microphone's `voice` state: ON as soon as speech is confirmed, OFF once no one has spoken
//! for the hold time, so a pause between sentences does not flap the entity.

use std::time::Duration;

/// What the shell should publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceChange {
    /// Publish `ON`.
    On,
    /// Publish `OFF`.
    Off,
}

/// One microphone's voice state. Time is the caller's monotonic clock.
#[derive(Debug, Clone)]
pub struct VoiceHold {
    hold: Duration,
    on: bool,
    speaking: bool,
    last_speech: Duration,
}

impl VoiceHold {
    /// OFF, holding ON for `hold` after the last speech.
    pub fn new(hold: Duration) -> Self {
        Self { hold, on: false, speaking: false, last_speech: Duration::ZERO }
    }

    /// Whether the state is ON.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Someone started talking (`true`) or stopped (`false`) at `now`.
    pub fn handle(&mut self, speaking: bool, now: Duration) -> Option<VoiceChange> {
        if self.speaking && !speaking {
            self.last_speech = now;
        }
        self.speaking = speaking;
        if speaking && !self.on {
            self.on = true;
            return Some(VoiceChange::On);
        }
        self.poll(now)
    }

    /// Time passed: turns OFF when the hold ran out.
    pub fn poll(&mut self, now: Duration) -> Option<VoiceChange> {
        if self.on && !self.speaking && now.saturating_sub(self.last_speech) >= self.hold {
            self.on = false;
            return Some(VoiceChange::Off);
        }
        None
    }

    /// When [`VoiceHold::poll`] next has something to say, if it can.
    pub fn deadline(&self) -> Option<Duration> {
        (self.on && !self.speaking).then(|| self.last_speech + self.hold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn speech_turns_voice_on_at_once_and_off_after_the_hold() {
        let mut v = VoiceHold::new(10 * S);
        assert_eq!(v.handle(true, S), Some(VoiceChange::On));
        assert_eq!(v.handle(false, 3 * S), None);
        assert_eq!(v.deadline(), Some(13 * S));
        assert_eq!(v.poll(12 * S), None);
        assert_eq!(v.poll(13 * S), Some(VoiceChange::Off));
        assert_eq!(v.poll(14 * S), None);
    }

    #[test]
    fn speech_within_the_hold_keeps_voice_on_without_a_new_message() {
        let mut v = VoiceHold::new(10 * S);
        v.handle(true, S);
        v.handle(false, 2 * S);
        assert_eq!(v.handle(true, 8 * S), None);
        assert_eq!(v.poll(30 * S), None, "still speaking");
        v.handle(false, 31 * S);
        assert_eq!(v.poll(40 * S), None);
        assert_eq!(v.poll(41 * S), Some(VoiceChange::Off));
    }

    #[test]
    fn nothing_is_said_while_no_one_speaks() {
        let mut v = VoiceHold::new(S);
        assert_eq!(v.handle(false, S), None);
        assert_eq!(v.poll(100 * S), None);
        assert_eq!(v.deadline(), None);
    }
}
