//! A passive buzzer playing named tone patterns on a PWM channel: which tone sounds when.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

/// One step of a pattern: a tone (Hz) or a rest (0 Hz), for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tone {
    /// Frequency in Hz; 0 is silence.
    pub frequency_hz: u32,
    /// How long it lasts.
    pub duration: Duration,
}

/// A named sequence of tones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The steps, in order.
    pub tones: Vec<Tone>,
}

/// Tones a small passive buzzer reproduces (most resonate at 2–4 kHz).
pub(crate) const FREQUENCY_RANGE_HZ: (u32, u32) = (20, 20_000);
/// The longest single step.
pub(crate) const MAX_STEP_MS: u64 = 10_000;

impl Pattern {
    /// Parses `"2000:150 0:50 2000:150"`: `frequency_hz:milliseconds` steps, `0` for a rest;
    /// `*N` at the end repeats the whole pattern N times.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (body, repeat) = match text.trim().rsplit_once('*') {
            Some((body, n)) => {
                let n: usize =
                    n.trim().parse().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| {
                        format!("`*{}` is not a repeat count from 1 to 100", n.trim())
                    })?;
                (body, n)
            }
            None => (text, 1),
        };
        let mut tones = Vec::new();
        for step in body.split_whitespace() {
            let bad = || {
                format!("`{step}` is not a step: write frequency_hz:milliseconds, e.g. 2000:150")
            };
            let (f, ms) = step.split_once(':').ok_or_else(bad)?;
            let frequency_hz: u32 = f.parse().map_err(|_| bad())?;
            let ms: u64 = ms.parse().map_err(|_| bad())?;
            if frequency_hz != 0
                && !(FREQUENCY_RANGE_HZ.0..=FREQUENCY_RANGE_HZ.1).contains(&frequency_hz)
            {
                return Err(format!(
                    "{frequency_hz} Hz is outside {} to {} Hz (or 0 for a rest)",
                    FREQUENCY_RANGE_HZ.0, FREQUENCY_RANGE_HZ.1
                ));
            }
            if ms == 0 || ms > MAX_STEP_MS {
                return Err(format!("`{step}`: a step lasts 1 to {MAX_STEP_MS} ms"));
            }
            tones.push(Tone { frequency_hz, duration: Duration::from_millis(ms) });
        }
        if tones.is_empty() {
            return Err("a pattern needs at least one step".into());
        }
        let once = tones.clone();
        for _ in 1..repeat {
            tones.extend_from_slice(&once);
        }
        Ok(Self { tones })
    }

    /// How long the pattern plays.
    pub fn length(&self) -> Duration {
        self.tones.iter().map(|t| t.duration).sum()
    }
}

/// The patterns every buzzer knows, besides the ones its config adds.
pub(crate) fn built_in_patterns() -> BTreeMap<String, Pattern> {
    [
        ("beep", "2700:150"),
        ("double", "2700:100 0:80 2700:100"),
        ("chime", "1319:180 0:40 988:400"),
        ("alarm", "3000:200 2200:200 *15"),
    ]
    .into_iter()
    .map(|(name, text)| {
        (name.to_owned(), Pattern::parse(text).expect("a built-in pattern should parse (tested)"))
    })
    .collect()
}

/// What the buzzer's PWM channel should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sound {
    /// Square wave at this frequency, 50 % duty.
    Tone(u32),
    /// Output disabled.
    Silent,
}

/// What the shell must do after a buzzer input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct BuzzerEffects {
    /// Set the PWM channel to this.
    pub sound: Option<Sound>,
    /// Publish this state (`playing <pattern>` or idle).
    pub publish: Option<Option<String>>,
}

/// A buzzer: idle, or somewhere in a pattern.
#[derive(Debug, Clone)]
pub(crate) struct Buzzer {
    playing: Option<Playing>,
}

#[derive(Debug, Clone)]
struct Playing {
    name: String,
    pattern: Pattern,
    step: usize,
    step_ends: Instant,
}

impl Default for Buzzer {
    fn default() -> Self {
        Self::new()
    }
}

impl Buzzer {
    /// An idle buzzer.
    pub(crate) fn new() -> Self {
        Self { playing: None }
    }

    /// Starts `pattern` from its first step (a pattern already playing is cut off).
    pub(crate) fn play(&mut self, name: &str, pattern: &Pattern, now: Instant) -> BuzzerEffects {
        let first = pattern.tones[0];
        self.playing = Some(Playing {
            name: name.to_owned(),
            pattern: pattern.clone(),
            step: 0,
            step_ends: now + first.duration,
        });
        BuzzerEffects { sound: Some(sound_of(first)), publish: Some(Some(name.to_owned())) }
    }

    /// Stops at once.
    pub(crate) fn stop(&mut self) -> BuzzerEffects {
        match self.playing.take() {
            Some(_) => BuzzerEffects { sound: Some(Sound::Silent), publish: Some(None) },
            None => BuzzerEffects::default(),
        }
    }

    /// When the current step ends.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.playing.as_ref().map(|p| p.step_ends)
    }

    /// Moves on to the step due at `now`.
    pub(crate) fn poll(&mut self, now: Instant) -> BuzzerEffects {
        let Some(p) = self.playing.as_mut() else { return BuzzerEffects::default() };
        if now < p.step_ends {
            return BuzzerEffects::default();
        }
        let mut changed = false;
        while now >= p.step_ends {
            p.step += 1;
            changed = true;
            match p.pattern.tones.get(p.step) {
                Some(t) => p.step_ends += t.duration,
                None => return self.stop(),
            }
        }
        let tone = p.pattern.tones[p.step];
        BuzzerEffects { sound: changed.then(|| sound_of(tone)), publish: None }
    }

    /// The pattern playing, if any.
    pub(crate) fn playing(&self) -> Option<&str> {
        self.playing.as_ref().map(|p| p.name.as_str())
    }
}

fn sound_of(t: Tone) -> Sound {
    if t.frequency_hz == 0 { Sound::Silent } else { Sound::Tone(t.frequency_hz) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse_steps_rests_and_repeats() {
        let p = Pattern::parse("2000:150 0:50 *3").unwrap();
        assert_eq!(p.tones.len(), 6);
        assert_eq!(p.tones[1], Tone { frequency_hz: 0, duration: Duration::from_millis(50) });
        assert_eq!(p.length(), Duration::from_millis(600));
        for name in built_in_patterns().keys() {
            assert!(!name.is_empty());
        }
    }

    #[test]
    fn bad_patterns_say_how_to_write_a_step() {
        assert!(Pattern::parse("2000").unwrap_err().contains("frequency_hz:milliseconds"));
        assert!(Pattern::parse("5:100").unwrap_err().contains("outside"));
        assert!(Pattern::parse("2000:0").unwrap_err().contains("1 to"));
        assert!(Pattern::parse("").unwrap_err().contains("at least one"));
        assert!(Pattern::parse("2000:10 *0").unwrap_err().contains("repeat"));
    }

    #[test]
    fn a_pattern_plays_step_by_step_and_falls_silent_at_its_end() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let p = Pattern::parse("2000:100 0:50 1000:100").unwrap();
        let mut b = Buzzer::new();
        let e = b.play("x", &p, t0);
        assert_eq!(e.sound, Some(Sound::Tone(2000)));
        assert_eq!(e.publish, Some(Some("x".into())));
        assert_eq!(b.deadline(), Some(ms(100)));
        assert_eq!(b.poll(ms(99)), BuzzerEffects::default());
        assert_eq!(b.poll(ms(100)).sound, Some(Sound::Silent));
        assert_eq!(b.poll(ms(150)).sound, Some(Sound::Tone(1000)));
        let end = b.poll(ms(250));
        assert_eq!(end.sound, Some(Sound::Silent));
        assert_eq!(end.publish, Some(None));
        assert_eq!(b.deadline(), None);
    }

    #[test]
    fn a_late_poll_skips_the_steps_it_missed() {
        let t0 = Instant::now();
        let p = Pattern::parse("2000:10 0:10 1000:10 500:100").unwrap();
        let mut b = Buzzer::new();
        b.play("x", &p, t0);
        assert_eq!(b.poll(t0 + Duration::from_millis(35)).sound, Some(Sound::Tone(500)));
    }

    #[test]
    fn stopping_an_idle_buzzer_does_nothing() {
        assert_eq!(Buzzer::new().stop(), BuzzerEffects::default());
    }
}
