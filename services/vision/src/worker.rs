//! One camera's step: grab a frame, gate it on motion, run the detector when the gate says so,
//! count people per zone. Blocking (decoding, inference): the service runs it on a blocking
//! thread, one step per camera at a time.

use std::time::Duration;

use serde::Serialize;

use crate::domain::camera::{CameraReport, CameraView};
use crate::domain::motion::{MotionGate, MotionSettings, thumbnail};
use crate::domain::zones::Zone;
use crate::model::{PersonDetector, Timings};
use crate::sources::{FrameSource, SourceError};

/// The largest snapshot published, bytes: under the link's packet limit with room for the topic.
const SNAPSHOT_MAX_BYTES: usize = 250 * 1024;

/// What a camera has done since it started, for its diagnostics entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counters {
    /// Frames grabbed and decoded.
    pub frames: u64,
    /// Frames that arrived but could not be used (corrupt, truncated).
    pub frames_rejected: u64,
    /// Frames the model looked at.
    pub inferences: u64,
    /// Frames the motion gate let pass without the model.
    pub skipped_still: u64,
    /// Inferences that failed.
    pub inference_errors: u64,
    /// Grabs that found the camera unavailable.
    pub unavailable: u64,
    /// The last problem, if any.
    pub last_error: Option<String>,
    /// Milliseconds of the last inference (resize, tract, NMS).
    pub last_inference_ms: Option<f64>,
}

/// What one step gave.
#[derive(Debug, Default)]
pub struct Step {
    /// The camera's counts, when they changed.
    pub report: Option<CameraReport>,
    /// Whether the model ran.
    pub ran_model: bool,
    /// Where the time went when it did.
    pub timings: Option<Timings>,
    /// A JPEG of the frame the model looked at, when a snapshot was asked for.
    pub snapshot: Option<Vec<u8>>,
    /// What went wrong, if anything (already counted).
    pub problem: Option<String>,
}

/// One camera: its source, motion gate, and counts.
pub struct CameraWorker {
    source: Box<dyn FrameSource>,
    gate: MotionGate,
    view: CameraView,
    hold: Duration,
    unavailable_since: Option<Duration>,
    counters: Counters,
}

impl std::fmt::Debug for CameraWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraWorker")
            .field("source", &self.source.describe())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl CameraWorker {
    /// A camera reading `source`, with these zones, gate and hold.
    pub fn new(
        source: Box<dyn FrameSource>,
        zones: Vec<Zone>,
        motion: MotionSettings,
        hold: Duration,
    ) -> Self {
        Self {
            source,
            gate: MotionGate::new(motion),
            view: CameraView::new(zones, hold),
            hold,
            unavailable_since: None,
            counters: Counters::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The zones.
    pub fn zones(&self) -> &[Zone] {
        self.view.zones()
    }

    /// The last counts reported.
    pub fn current(&self) -> Option<&CameraReport> {
        self.view.current()
    }

    /// One frame's worth of work at `now` (time since the service started).
    pub fn step(&mut self, now: Duration, detector: &PersonDetector, snapshot: bool) -> Step {
        let mut step = Step::default();
        let frame = match self.source.grab(now) {
            Ok(frame) => frame,
            Err(SourceError::NotReady) => {
                step.report = self.view.handle(None, now);
                return step;
            }
            Err(e) => {
                match &e {
                    SourceError::BadFrame { .. } => self.counters.frames_rejected += 1,
                    _ => {
                        self.counters.unavailable += 1;
                        let since = *self.unavailable_since.get_or_insert(now);
                        // A camera gone for longer than the hold no longer vouches for anyone.
                        if now.saturating_sub(since) >= self.hold {
                            step.report = self.view.handle(Some(&[]), now);
                        }
                    }
                }
                let text = e.to_string();
                self.counters.last_error = Some(text.clone());
                step.problem = Some(text);
                step.report = step.report.or_else(|| self.view.handle(None, now));
                return step;
            }
        };
        self.unavailable_since = None;
        self.counters.frames += 1;
        let gate = self.gate.handle(thumbnail(&frame), now);
        if !gate.run_model {
            self.counters.skipped_still += 1;
            step.report = self.view.handle(None, now);
            return step;
        }
        step.ran_model = true;
        match detector.detect(&frame) {
            Ok((people, timings)) => {
                self.counters.inferences += 1;
                self.counters.last_inference_ms =
                    Some(timings.resize_ms + timings.infer_ms + timings.nms_ms);
                step.timings = Some(timings);
                step.report = self.view.handle(Some(&people), now);
                if snapshot {
                    // MQTT packets are capped at 256 KiB (core's link and our Mosquitto).
                    step.snapshot = [80, 50, 30]
                        .into_iter()
                        .filter_map(|q| frame.to_jpeg(q).ok())
                        .find(|jpeg| jpeg.len() <= SNAPSHOT_MAX_BYTES);
                }
            }
            Err(e) => {
                self.counters.inference_errors += 1;
                let text = e.to_string();
                self.counters.last_error = Some(text.clone());
                step.problem = Some(text);
                step.report = self.view.handle(None, now);
            }
        }
        step
    }
}
