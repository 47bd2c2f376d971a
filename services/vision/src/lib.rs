//! roomsense-vision: how many people a camera sees, per zone, without a frame leaving the board.
//!
//! A [`FrameSource`] gives frames ([`ImageSource`] in every build, `GstSource` with the
//! `gstreamer` feature); a motion gate decides which frames the [`PersonDetector`] (tract,
//! loaded once from `models/vision.manifest.toml`) looks at; each camera's [`CameraView`] counts
//! people in the view and per zone with a hold time; [`VisionService`] publishes counts and
//! occupancy to MQTT and announces them to Home Assistant.
//!
//! Layout:
//! - `sources`: the frame sources;
//! - `domain`: frames, resize, box decoding and NMS, zones, occupancy, motion gating, back-off;
//! - `model`: the manifest and the detector (the only place that knows tract);
//! - `config`: the `[vision]` section;
//! - `publish`: topics and entities;
//! - `detect`: what `roomsense vision detect` prints;
//! - `worker`: one camera's grab → gate → detect → count step, run on a blocking thread;
//! - `service`: [`VisionService`], the async shell.

mod config;
mod detect;
mod domain;
mod error;
mod model;
mod onnx_names;
mod publish;
mod service;
mod sources;
mod worker;

pub use config::{
    CameraConfig, CameraSettings, SourceSpec, VisionConfig, VisionSettings, ZoneConfig,
};
pub use detect::{ImageReport, PersonJson, detect_file};
pub use domain::backoff::Backoff;
pub use domain::camera::{CameraReport, CameraView};
pub use domain::frame::{Frame, FrameError};
pub use domain::motion::{MotionGate, MotionSettings, thumbnail};
pub use domain::occupancy::{Occupancy, Presence};
pub use domain::postprocess::{BBox, Detection, decode_yxyx, nms};
pub use domain::preprocess::resize_into;
pub use domain::zones::Zone;
pub use error::{DetectError, Error, ModelError};
pub use model::{
    MANIFEST, ModelEntry, PersonDetector, Thresholds, Timings, default_models_dir, manifest_entry,
    source_models_dir,
};
pub use service::VisionService;
#[cfg(feature = "gstreamer")]
pub use sources::GstSource;
pub use sources::{FrameSource, ImageSource, SourceError};
pub use worker::{CameraWorker, Counters, Step};

/// The photographs shipped for tests and the demo (`testdata/images`, see its LICENCE.md).
pub fn sample_images_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/images")
}
