//! Motion gating: a small grey thumbnail of each frame is compared with the previous one; the
//! model runs when enough of it changed, and at least every `idle_interval` anyway, so a person
//! sitting still stays counted.

use std::time::Duration;

use super::frame::Frame;

/// Thumbnail size: enough to see a person move across a room, cheap to build and compare.
pub(crate) const THUMB_W: usize = 64;
/// Thumbnail height.
pub(crate) const THUMB_H: usize = 48;

/// A grey `THUMB_W × THUMB_H` thumbnail: each pixel the mean of its block of the frame.
pub fn thumbnail(frame: &Frame) -> Vec<u8> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut sums = vec![0u32; THUMB_W * THUMB_H];
    let mut counts = vec![0u32; THUMB_W * THUMB_H];
    // Map every second pixel of every second row: plenty for a mean, half the reads.
    let cols: Vec<usize> = (0..w).map(|x| x * THUMB_W / w).collect();
    for y in (0..h).step_by(2) {
        let ty = y * THUMB_H / h;
        let row = &frame.rgb()[y * w * 3..(y + 1) * w * 3];
        for x in (0..w).step_by(2) {
            let p = &row[x * 3..x * 3 + 3];
            // Integer BT.601 luma.
            let luma = (77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32) >> 8;
            let i = ty * THUMB_W + cols[x];
            sums[i] += luma;
            counts[i] += 1;
        }
    }
    sums.iter().zip(&counts).map(|(s, c)| if *c == 0 { 0 } else { (s / c) as u8 }).collect()
}

/// The gate's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionSettings {
    /// A thumbnail pixel changed when its grey level moved by more than this (0..255).
    pub pixel_delta: u8,
    /// Motion when at least this share of thumbnail pixels changed (0..1).
    pub changed_fraction: f32,
    /// The model runs at least this often without motion.
    pub idle_interval: Duration,
    /// Off: the model runs on every frame.
    pub enabled: bool,
}

/// The gate's answer for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// Share of thumbnail pixels that changed since the previous frame (1 for the first frame).
    pub changed: f32,
    /// Whether to run the model on this frame.
    pub run_model: bool,
}

/// The motion gate of one camera.
#[derive(Debug, Clone)]
pub struct MotionGate {
    settings: MotionSettings,
    previous: Option<Vec<u8>>,
    last_run: Option<Duration>,
}

impl MotionGate {
    /// A gate that has seen nothing: the first frame always runs the model.
    pub fn new(settings: MotionSettings) -> Self {
        Self { settings, previous: None, last_run: None }
    }

    /// Decides for a frame whose thumbnail is `thumb`, seen at `now`.
    pub fn handle(&mut self, thumb: Vec<u8>, now: Duration) -> Gate {
        let changed = match &self.previous {
            Some(prev) if prev.len() == thumb.len() && !thumb.is_empty() => {
                let d = self.settings.pixel_delta;
                let n = prev.iter().zip(&thumb).filter(|(a, b)| a.abs_diff(**b) > d).count();
                n as f32 / thumb.len() as f32
            }
            _ => 1.0,
        };
        self.previous = Some(thumb);
        let idle_due =
            self.last_run.is_none_or(|t| now.saturating_sub(t) >= self.settings.idle_interval);
        let run_model =
            !self.settings.enabled || changed >= self.settings.changed_fraction || idle_due;
        if run_model {
            self.last_run = Some(now);
        }
        Gate { changed, run_model }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: MotionSettings = MotionSettings {
        pixel_delta: 12,
        changed_fraction: 0.01,
        idle_interval: Duration::from_secs(5),
        enabled: true,
    };

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn flat(level: u8) -> Frame {
        Frame::from_rgb(320, 240, vec![level; 320 * 240 * 3]).unwrap()
    }

    #[test]
    fn a_flat_frame_gives_a_flat_thumbnail_of_the_same_level() {
        let t = thumbnail(&flat(100));
        assert_eq!(t.len(), THUMB_W * THUMB_H);
        assert!(t.iter().all(|v| v.abs_diff(100) <= 1), "{:?}", &t[..4]);
    }

    #[test]
    fn a_still_scene_runs_the_model_only_every_idle_interval() {
        let mut g = MotionGate::new(SETTINGS);
        let runs: Vec<bool> =
            (0..21).map(|i| g.handle(thumbnail(&flat(80)), ms(i * 500)).run_model).collect();
        // Frames at 0 s, 5 s, 10 s.
        assert_eq!(runs.iter().filter(|r| **r).count(), 3, "{runs:?}");
        assert!(runs[0] && runs[10] && runs[20]);
    }

    #[test]
    fn motion_runs_the_model_at_once() {
        let mut g = MotionGate::new(SETTINGS);
        g.handle(thumbnail(&flat(80)), ms(0));
        assert!(!g.handle(thumbnail(&flat(80)), ms(500)).run_model);
        let mut moved = flat(80);
        let mut rgb = moved.rgb().to_vec();
        // A bright object over the left fifth of the frame.
        for row in rgb.chunks_mut(320 * 3) {
            row[..64 * 3].fill(250);
        }
        moved = Frame::from_rgb(320, 240, rgb).unwrap();
        let gate = g.handle(thumbnail(&moved), ms(1000));
        assert!(gate.run_model && gate.changed > 0.15, "{gate:?}");
    }

    #[test]
    fn sensor_noise_below_the_pixel_delta_is_not_motion() {
        let mut g = MotionGate::new(SETTINGS);
        g.handle(thumbnail(&flat(80)), ms(0));
        let gate = g.handle(thumbnail(&flat(88)), ms(500));
        assert_eq!(gate.changed, 0.0);
        assert!(!gate.run_model);
    }

    #[test]
    fn with_the_gate_off_every_frame_runs_the_model() {
        let mut g = MotionGate::new(MotionSettings { enabled: false, ..SETTINGS });
        assert!((0..5).all(|i| g.handle(thumbnail(&flat(80)), ms(i * 500)).run_model));
    }
}
