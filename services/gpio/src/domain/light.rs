//! A PWM LED as a Home Assistant light: on/off, brightness 0–255, fades over time.

use std::time::Duration;

use tokio::time::Instant;

/// The duty cycle a brightness looks like: perceived brightness follows duty^(1/2.2), so
/// brightness 128 is about 22 % duty, not 50 %.
pub(crate) fn duty_of(brightness: u8) -> f64 {
    (f64::from(brightness) / 255.0).powf(2.2)
}

/// How often a fade updates the duty cycle.
pub(crate) const FADE_STEP: Duration = Duration::from_millis(20);

/// The light as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LightState {
    /// On or off.
    pub on: bool,
    /// Brightness when on, 1–255 (kept while off, so ON restores it).
    pub brightness: u8,
}

/// A light's state machine.
#[derive(Debug, Clone)]
pub(crate) struct Light {
    state: LightState,
    default_fade: Duration,
    fade: Option<Fade>,
    duty: f64,
}

#[derive(Debug, Clone, Copy)]
struct Fade {
    from: f64,
    to: f64,
    start: Instant,
    length: Duration,
    next_step: Instant,
}

/// What the shell must do: set the duty cycle, publish the state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct LightEffects {
    /// New duty cycle, 0–1.
    pub duty: Option<f64>,
    /// New published state.
    pub publish: Option<LightState>,
}

/// A validated light command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LightCommand {
    /// On or off.
    pub on: bool,
    /// Brightness, when given.
    pub brightness: Option<u8>,
    /// Fade length, when given.
    pub transition: Option<Duration>,
}

impl Light {
    /// An LED that is off, fading over `default_fade` when a command does not say.
    pub(crate) fn new(default_fade: Duration) -> Self {
        Self {
            state: LightState { on: false, brightness: 255 },
            default_fade,
            fade: None,
            duty: 0.0,
        }
    }

    /// The published state.
    pub(crate) fn state(&self) -> LightState {
        self.state
    }

    /// The duty cycle now.
    #[cfg(test)]
    pub(crate) fn duty(&self) -> f64 {
        self.duty
    }

    /// Applies a command; brightness 0 means off. A fade starts from wherever the light is,
    /// even in the middle of another fade.
    pub(crate) fn command(&mut self, c: LightCommand, now: Instant) -> LightEffects {
        let mut on = c.on;
        if let Some(b) = c.brightness {
            if b == 0 {
                on = false;
            } else {
                self.state.brightness = b;
            }
        }
        self.state.on = on;
        let target = if on { duty_of(self.state.brightness) } else { 0.0 };
        let length = c.transition.unwrap_or(self.default_fade);
        let current = self.duty_at(now);
        if length < FADE_STEP || (target - current).abs() < 1e-9 {
            self.fade = None;
            self.duty = target;
            return LightEffects { duty: Some(target), publish: Some(self.state) };
        }
        self.fade = Some(Fade {
            from: current,
            to: target,
            start: now,
            length,
            next_step: now + FADE_STEP,
        });
        self.duty = current;
        LightEffects { duty: None, publish: Some(self.state) }
    }

    /// When the next fade step is due.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.fade.map(|f| f.next_step)
    }

    /// The fade step due at `now`, if any.
    pub(crate) fn poll(&mut self, now: Instant) -> LightEffects {
        let Some(mut f) = self.fade else { return LightEffects::default() };
        if now < f.next_step {
            return LightEffects::default();
        }
        self.duty = self.duty_at(now);
        if now >= f.start + f.length {
            self.fade = None;
        } else {
            // Steps are counted from the fade's start, so a late wakeup does not shift them.
            let done = (now - f.start).as_micros() / FADE_STEP.as_micros();
            f.next_step = f.start + FADE_STEP * (done as u32 + 1);
            self.fade = Some(f);
        }
        LightEffects { duty: Some(self.duty), publish: None }
    }

    fn duty_at(&self, now: Instant) -> f64 {
        match self.fade {
            Some(f) if now < f.start + f.length => {
                let done =
                    now.saturating_duration_since(f.start).as_secs_f64() / f.length.as_secs_f64();
                f.from + (f.to - f.from) * done
            }
            Some(f) => f.to,
            None => self.duty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(brightness: Option<u8>, transition_ms: Option<u64>) -> LightCommand {
        LightCommand { on: true, brightness, transition: transition_ms.map(Duration::from_millis) }
    }

    #[test]
    fn brightness_follows_a_gamma_curve() {
        assert_eq!(duty_of(0), 0.0);
        assert_eq!(duty_of(255), 1.0);
        assert!((duty_of(128) - 0.22).abs() < 0.01);
    }

    #[test]
    fn without_a_fade_the_duty_is_set_at_once() {
        let t0 = Instant::now();
        let mut l = Light::new(Duration::ZERO);
        let e = l.command(on(Some(255), None), t0);
        assert_eq!(e.duty, Some(1.0));
        assert_eq!(e.publish, Some(LightState { on: true, brightness: 255 }));
        assert_eq!(l.deadline(), None);
    }

    #[test]
    fn a_fade_steps_the_duty_linearly_and_ends_on_the_target() {
        let t0 = Instant::now();
        let mut l = Light::new(Duration::from_millis(300));
        let e = l.command(on(Some(255), Some(100)), t0);
        assert_eq!(e.duty, None, "the first step comes from poll");
        assert_eq!(l.deadline(), Some(t0 + FADE_STEP));
        let half = l.poll(t0 + Duration::from_millis(50)).duty.unwrap();
        assert!((half - 0.5).abs() < 1e-6, "{half}");
        assert_eq!(l.deadline(), Some(t0 + Duration::from_millis(60)));
        assert_eq!(l.poll(t0 + Duration::from_millis(100)).duty, Some(1.0));
        assert_eq!(l.deadline(), None);
    }

    #[test]
    fn off_keeps_the_brightness_for_the_next_on_and_zero_brightness_is_off() {
        let t0 = Instant::now();
        let mut l = Light::new(Duration::ZERO);
        l.command(on(Some(100), None), t0);
        let e = l.command(LightCommand { on: false, brightness: None, transition: None }, t0);
        assert_eq!(e.duty, Some(0.0));
        assert_eq!(l.state(), LightState { on: false, brightness: 100 });
        l.command(on(None, None), t0);
        assert_eq!(l.duty(), duty_of(100));
        let e = l.command(on(Some(0), None), t0);
        assert_eq!(e.publish, Some(LightState { on: false, brightness: 100 }));
    }

    #[test]
    fn a_new_command_mid_fade_starts_from_where_the_light_is() {
        let t0 = Instant::now();
        let mut l = Light::new(Duration::ZERO);
        l.command(on(Some(255), Some(1000)), t0);
        l.command(
            LightCommand {
                on: false,
                brightness: None,
                transition: Some(Duration::from_millis(1000)),
            },
            t0 + Duration::from_millis(500),
        );
        let d = l.poll(t0 + Duration::from_millis(520)).duty.unwrap();
        assert!((d - 0.49).abs() < 1e-6, "{d}");
    }
}
