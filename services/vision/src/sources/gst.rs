//! GStreamer as a camera: any pipeline ending in our appsink (`libcamerasrc`, `v4l2src`,
//! `rtspsrc`, or the user's own), newest frame only. Pipeline errors become plain messages; a
//! camera that goes away (error, end of stream, no frame for a while) is restarted with back-off.

use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app::AppSink;
use gstreamer_video::{VideoFormat, VideoInfo};

use super::{FrameSource, SourceError};
use crate::domain::backoff::Backoff;
use crate::domain::frame::{Frame, FrameError};

/// A pipeline with no frame for this long is taken as stalled and restarted.
const STALL: Duration = Duration::from_secs(10);

struct Running {
    pipeline: gst::Pipeline,
    sink: AppSink,
    bus: gst::Bus,
    started: Duration,
    last_frame: Option<Duration>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// A GStreamer pipeline as a [`FrameSource`].
pub struct GstSource {
    description: String,
    width: u32,
    height: u32,
    running: Option<Running>,
    backoff: Backoff,
}

impl std::fmt::Debug for GstSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GstSource").field("pipeline", &self.description).finish_non_exhaustive()
    }
}

/// What to install when an element is missing.
fn hint(message: &str) -> &'static str {
    if message.contains("libcamerasrc") {
        " (libcamerasrc is in the gstreamer1.0-libcamera package)"
    } else if message.contains("v4l2src") || message.contains("rtspsrc") {
        " (v4l2src and rtspsrc are in gstreamer1.0-plugins-good)"
    } else if message.contains("no element") {
        " (install the GStreamer plugin that provides it)"
    } else {
        ""
    }
}

/// A pipeline message in words: what failed, in which element, and GStreamer's details.
fn describe(message: &gst::Message) -> String {
    match message.view() {
        gst::MessageView::Error(e) => {
            let from = e.src().map(|s| s.path_string().to_string()).unwrap_or_default();
            let debug = e.debug().map(|d| format!(" ({d})")).unwrap_or_default();
            format!("{from}: {}{debug}", e.error())
        }
        gst::MessageView::Eos(_) => "the stream ended".into(),
        _ => "unexpected pipeline message".into(),
    }
}

impl GstSource {
    /// A source for `description` (a pipeline ending in an appsink named `roomsense` giving
    /// `width × height` RGB, as [`crate::SourceSpec::pipeline`] builds). Nothing starts until
    /// the first grab.
    pub fn new(description: String, width: u32, height: u32) -> Self {
        Self {
            description,
            width,
            height,
            running: None,
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(60)),
        }
    }

    fn start(&self, now: Duration) -> Result<Running, String> {
        gst::init().map_err(|e| format!("cannot initialise GStreamer: {e}"))?;
        let element = gst::parse::launch(&self.description).map_err(|e| {
            let m = e.to_string();
            format!("cannot build pipeline `{}`: {m}{}", self.description, hint(&m))
        })?;
        let pipeline = element
            .downcast::<gst::Pipeline>()
            .map_err(|_| format!("`{}` is not a pipeline", self.description))?;
        let sink = pipeline
            .by_name("roomsense")
            .and_then(|e| e.downcast::<AppSink>().ok())
            .ok_or_else(|| format!("`{}` has no appsink named roomsense", self.description))?;
        let bus = pipeline.bus().ok_or("the pipeline has no bus")?;
        let running = Running { pipeline, sink, bus, started: now, last_frame: None };
        if running.pipeline.set_state(gst::State::Playing).is_err() {
            // The reason is on the bus.
            let reason = running
                .bus
                .timed_pop_filtered(gst::ClockTime::from_mseconds(500), &[gst::MessageType::Error])
                .map(|m| describe(&m))
                .unwrap_or_else(|| "the pipeline refused to start".into());
            return Err(format!("{reason}{}", hint(&reason)));
        }
        Ok(running)
    }

    fn fail(&mut self, now: Duration, reason: String) -> SourceError {
        self.running = None;
        let retry_in = self.backoff.failed(now);
        SourceError::Unavailable { reason, retry_in }
    }

    fn to_frame(&self, sample: &gst::Sample) -> Result<Frame, FrameError> {
        let caps = sample.caps().ok_or(FrameError::Decode("sample without caps".into()))?;
        let info = VideoInfo::from_caps(caps).map_err(|e| FrameError::Decode(e.to_string()))?;
        if info.format() != VideoFormat::Rgb {
            return Err(FrameError::Decode(format!("format {:?}, not RGB", info.format())));
        }
        let (w, h) = (info.width(), info.height());
        let stride = usize::try_from(info.stride()[0]).unwrap_or(0);
        let buffer = sample.buffer().ok_or(FrameError::Decode("sample without buffer".into()))?;
        let map = buffer.map_readable().map_err(|e| FrameError::Decode(e.to_string()))?;
        let row = w as usize * 3;
        let needed = stride.saturating_mul(h.saturating_sub(1) as usize) + row;
        if stride < row || map.len() < needed {
            return Err(FrameError::Length {
                width: w,
                height: h,
                expected: needed,
                got: map.len(),
            });
        }
        let mut rgb = Vec::with_capacity(row * h as usize);
        for y in 0..h as usize {
            rgb.extend_from_slice(&map[y * stride..y * stride + row]);
        }
        Frame::from_rgb(w, h, rgb)
    }
}

impl FrameSource for GstSource {
    fn describe(&self) -> String {
        format!("gstreamer {} ({}×{})", self.description, self.width, self.height)
    }

    fn grab(&mut self, now: Duration) -> Result<Frame, SourceError> {
        if self.running.is_none() {
            if !self.backoff.may_try(now) {
                return Err(SourceError::NotReady);
            }
            match self.start(now) {
                Ok(r) => self.running = Some(r),
                Err(reason) => return Err(self.fail(now, reason)),
            }
        }
        let r = self.running.as_mut().expect("started just above");
        // Errors first; the end of the stream only once the frames before it are taken.
        if let Some(m) = r.bus.pop_filtered(&[gst::MessageType::Error]) {
            let reason = describe(&m);
            return Err(self.fail(now, reason));
        }
        // The first frame after a start may take a moment (negotiation, a camera waking up).
        let wait = if r.last_frame.is_none() { 2000 } else { 500 };
        match r.sink.try_pull_sample(gst::ClockTime::from_mseconds(wait)) {
            Some(sample) => {
                r.last_frame = Some(now);
                self.backoff.succeeded();
                self.to_frame(&sample).map_err(|error| SourceError::BadFrame {
                    what: "gstreamer sample".into(),
                    error,
                })
            }
            None if r.sink.is_eos() => Err(self.fail(now, "the stream ended".into())),
            None => {
                let quiet_since = r.last_frame.unwrap_or(r.started);
                if now.saturating_sub(quiet_since) >= STALL {
                    Err(self.fail(now, format!("no frame for {} s", STALL.as_secs())))
                } else {
                    Err(SourceError::NotReady)
                }
            }
        }
    }
}
