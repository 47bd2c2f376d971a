//! Where frames come from: one trait, [`FrameSource`], with image files and directories in every
//! build and GStreamer's appsink (`libcamerasrc`, `v4l2src`, `rtspsrc`, any pipeline) behind the
//! `gstreamer` feature.

use std::time::Duration;

use crate::domain::frame::{Frame, FrameError};

#[cfg(feature = "gstreamer")]
mod gst;
mod images;

#[cfg(feature = "gstreamer")]
pub use gst::GstSource;
pub use images::ImageSource;

/// Why a grab gave no frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A frame arrived but cannot be used (a corrupt file, a truncated buffer): skipped and
    /// counted, the next grab goes on.
    #[error("{what}: {error}")]
    BadFrame {
        /// Which frame (file name, buffer offset).
        what: String,
        /// Why.
        error: FrameError,
    },
    /// The camera is not delivering (gone, failed to start, pipeline error); the source tries
    /// again on its own after `retry_in`.
    #[error("camera unavailable: {reason} (retrying in {}s)", retry_in.as_secs_f32())]
    Unavailable {
        /// What the camera or pipeline said.
        reason: String,
        /// When the source will try again.
        retry_in: Duration,
    },
    /// No new frame yet.
    #[error("no new frame yet")]
    NotReady,
}

/// A camera, or something standing in for one. Grabs block for at most a short time and are
/// called from a blocking thread, never from the async runtime.
pub trait FrameSource: Send + 'static {
    /// What it reads, for logs and errors (`v4l2 /dev/video0`, `images testdata/`).
    fn describe(&self) -> String;
    /// The newest frame. `now` is the time since the service started; sources use it to pace
    /// reconnects.
    fn grab(&mut self, now: Duration) -> Result<Frame, SourceError>;
}

/// Opens the source a camera's settings name. GStreamer sources start lazily (their first
/// grab builds the pipeline, and failures are retried), so only image sources can fail here.
pub(crate) fn open(
    camera: &crate::config::CameraSettings,
) -> Result<Box<dyn FrameSource>, crate::Error> {
    use crate::config::SourceSpec;
    match &camera.source {
        SourceSpec::Images(paths) => ImageSource::open(paths)
            .map(|s| Box::new(s) as Box<dyn FrameSource>)
            .map_err(|reason| crate::Error::Source { camera: camera.id.clone(), reason }),
        #[cfg(feature = "gstreamer")]
        other => {
            let pipeline = other
                .pipeline(camera.width, camera.height)
                .expect("only image sources have no pipeline");
            Ok(Box::new(GstSource::new(pipeline, camera.width, camera.height)))
        }
        #[cfg(not(feature = "gstreamer"))]
        other => Err(crate::Error::Source {
            camera: camera.id.clone(),
            reason: format!(
                "{other:?} needs GStreamer; this build has none (build with the `gstreamer` feature)"
            ),
        }),
    }
}
