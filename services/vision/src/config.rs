//! The `[vision]` section: the model, motion gating, occupancy hold, snapshots, and the cameras
//! with their zones. Read as written, then checked into [`VisionSettings`].

use std::path::PathBuf;
use std::time::Duration;

use roomsense_core::config::{Problem, Problems};
use serde::Deserialize;

use crate::domain::motion::MotionSettings;
use crate::domain::zones::Zone;

/// `[vision]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VisionConfig {
    /// The folder holding `vision.manifest.toml` and the model files. Default:
    /// `$ROOMSENSE_MODELS_DIR`, else `/usr/share/roomsense/models`, else the source tree's
    /// `models/`. Restart to change.
    pub models_dir: Option<PathBuf>,
    /// The manifest entry of the person detector. Default `person`. Restart to change.
    pub model: String,
    /// Keep detections scoring at least this, 0..1. Default: the manifest's (0.5).
    pub score_threshold: Option<f32>,
    /// Boxes overlapping a better one by more than this IoU are the same person, 0..1.
    /// Default: the manifest's (0.5).
    pub nms_iou: Option<f32>,
    /// A place stays occupied this long after the last person was seen, seconds (0 to 3600).
    /// Default 30.
    pub hold_s: u64,
    /// Run the model only on motion (and every `idle_interval_s` anyway). Default true.
    pub motion_gating: bool,
    /// A thumbnail pixel changed when its grey level moved by more than this (1 to 255).
    /// Default 12.
    pub motion_pixel_delta: u8,
    /// Motion when at least this share of the thumbnail changed (0 to 1). Default 0.01.
    pub motion_fraction: f32,
    /// Without motion the model still runs this often, seconds (1 to 600), so a person sitting
    /// still stays counted. Default 5.
    pub idle_interval_s: u64,
    /// Publish a JPEG snapshot and announce an `image` entity. Frames leave the board only when
    /// this is on. Default false.
    pub snapshot: bool,
    /// At most one snapshot per camera this often, seconds (1 to 3600). Default 10.
    pub snapshot_interval_s: u64,
    /// The cameras.
    pub cameras: Vec<CameraConfig>,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self {
            models_dir: None,
            model: "person".into(),
            score_threshold: None,
            nms_iou: None,
            hold_s: 30,
            motion_gating: true,
            motion_pixel_delta: 12,
            motion_fraction: 0.01,
            idle_interval_s: 5,
            snapshot: false,
            snapshot_interval_s: 10,
            cameras: Vec::new(),
        }
    }
}

/// `[[vision.cameras]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// The camera's id: a topic level and part of entity ids. Required.
    pub id: String,
    /// Its name in Home Assistant. Default: the id.
    #[serde(default)]
    pub name: Option<String>,
    /// `images`, `libcamera` (Pi CSI), `v4l2` (USB, Coral), `rtsp` (IP cameras) or `pipeline`
    /// (any GStreamer pipeline). Required.
    pub source: String,
    /// `images`: files and directories of JPEG/PNG files, served in turn.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// `v4l2`: the device. Default `/dev/video0`.
    #[serde(default)]
    pub device: Option<String>,
    /// `libcamera`: which camera (libcamera's name). Default: the first.
    #[serde(default)]
    pub camera_name: Option<String>,
    /// `rtsp`: the stream's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// `pipeline`: a GStreamer pipeline giving decoded video; roomsense appends the conversion
    /// and its appsink.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Frame width the detector is given, pixels (GStreamer sources). Default 640.
    #[serde(default = "default_width")]
    pub width: u32,
    /// Frame height, pixels (GStreamer sources). Default 480.
    #[serde(default = "default_height")]
    pub height: u32,
    /// Frames looked at per second (0.1 to 30). Default 2.
    #[serde(default = "default_fps")]
    pub fps: f64,
    /// Zones of the picture with their own count and occupancy.
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
}

fn default_width() -> u32 {
    640
}
fn default_height() -> u32 {
    480
}
fn default_fps() -> f64 {
    2.0
}

/// `[[vision.cameras.zones]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// The zone's id, unique within its camera. Required.
    pub id: String,
    /// Its name in Home Assistant. Default: the id.
    #[serde(default)]
    pub name: Option<String>,
    /// At least three `[x, y]` corners in 0..1 (x left to right, y top to bottom). Required.
    pub polygon: Vec<[f32; 2]>,
}

/// Where a camera's frames come from, checked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SourceSpec {
    /// Files and directories.
    Images(Vec<PathBuf>),
    /// `libcamerasrc`, optionally a named camera.
    Libcamera(Option<String>),
    /// `v4l2src` on a device.
    V4l2(String),
    /// `rtspsrc` on a URL.
    Rtsp(String),
    /// A user's pipeline giving decoded video.
    Pipeline(String),
}

impl SourceSpec {
    /// The GStreamer pipeline for this source, ending in an appsink named `roomsense` that gives
    /// `width × height` RGB, newest frame only; `None` for image files.
    pub fn pipeline(&self, width: u32, height: u32) -> Option<String> {
        let head = match self {
            SourceSpec::Images(_) => return None,
            SourceSpec::Libcamera(None) => "libcamerasrc".to_owned(),
            SourceSpec::Libcamera(Some(name)) => format!("libcamerasrc camera-name=\"{name}\""),
            // decodebin takes MJPEG and raw cameras alike.
            SourceSpec::V4l2(device) => format!("v4l2src device=\"{device}\" ! decodebin"),
            SourceSpec::Rtsp(url) => format!("rtspsrc location=\"{url}\" latency=200 ! decodebin"),
            SourceSpec::Pipeline(p) => p.clone(),
        };
        Some(format!(
            "{head} ! videoconvert ! videoscale ! video/x-raw,format=RGB,width={width},height={height} \
             ! appsink name=roomsense max-buffers=1 drop=true sync=false"
        ))
    }

    fn kind(&self) -> &'static str {
        match self {
            SourceSpec::Images(_) => "images",
            SourceSpec::Libcamera(_) => "libcamera",
            SourceSpec::V4l2(_) => "v4l2",
            SourceSpec::Rtsp(_) => "rtsp",
            SourceSpec::Pipeline(_) => "pipeline",
        }
    }

    /// Whether this source needs the `gstreamer` feature.
    pub fn needs_gstreamer(&self) -> bool {
        !matches!(self, SourceSpec::Images(_))
    }
}

/// One camera, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraSettings {
    /// Id.
    pub id: String,
    /// Name in Home Assistant.
    pub name: String,
    /// Where frames come from.
    pub source: SourceSpec,
    /// GStreamer frame width.
    pub width: u32,
    /// GStreamer frame height.
    pub height: u32,
    /// Time between frames.
    pub frame_interval: Duration,
    /// Zones.
    pub zones: Vec<Zone>,
}

/// The `[vision]` section, checked: what the service runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct VisionSettings {
    /// Where the manifest and models are.
    pub models_dir: PathBuf,
    /// Manifest entry.
    pub model: String,
    /// Score threshold override.
    pub score_threshold: Option<f32>,
    /// NMS IoU override.
    pub nms_iou: Option<f32>,
    /// Occupancy hold.
    pub hold: Duration,
    /// Motion gate.
    pub motion: MotionSettings,
    /// Snapshots on.
    pub snapshot: bool,
    /// Time between snapshots.
    pub snapshot_interval: Duration,
    /// Cameras.
    pub cameras: Vec<CameraSettings>,
}

impl VisionConfig {
    /// What `roomsense demo` runs: one camera on the shipped photographs (people in two of
    /// them), a frame a second, the picture split into a left and a right zone.
    pub fn demo() -> Self {
        let half = |id: &str, x0: f32, x1: f32| ZoneConfig {
            id: id.into(),
            name: Some(format!("{}{} half", id[..1].to_uppercase(), &id[1..])),
            polygon: vec![[x0, 0.0], [x1, 0.0], [x1, 1.0], [x0, 1.0]],
        };
        Self {
            idle_interval_s: 3,
            hold_s: 5,
            cameras: vec![CameraConfig {
                id: "demo".into(),
                name: Some("Demo camera".into()),
                source: "images".into(),
                paths: vec![crate::sample_images_dir()],
                device: None,
                camera_name: None,
                url: None,
                pipeline: None,
                width: default_width(),
                height: default_height(),
                fps: 1.0,
                zones: vec![half("left", 0.0, 0.5), half("right", 0.5, 1.0)],
            }],
            ..Self::default()
        }
    }

    /// Records every problem of this section.
    pub fn validate(&self, problems: &mut Problems) {
        if let Err(found) = self.to_settings() {
            for p in found {
                problems.push(p);
            }
        }
    }

    /// The checked settings, or every problem with its key path.
    pub fn to_settings(&self) -> Result<VisionSettings, Vec<Problem>> {
        let mut p = Problems::default();
        p.slug("vision.model", &self.model);
        for (key, v) in [("score_threshold", self.score_threshold), ("nms_iou", self.nms_iou)] {
            if let Some(v) = v {
                p.in_range(&format!("vision.{key}"), v, 0.0, 1.0, "");
            }
        }
        p.in_range("vision.hold_s", self.hold_s, 0, 3600, "seconds");
        p.in_range("vision.motion_pixel_delta", self.motion_pixel_delta, 1, 255, "");
        p.in_range("vision.motion_fraction", self.motion_fraction, 0.0, 1.0, "");
        p.in_range("vision.idle_interval_s", self.idle_interval_s, 1, 600, "seconds");
        p.in_range("vision.snapshot_interval_s", self.snapshot_interval_s, 1, 3600, "seconds");
        let mut cameras = Vec::new();
        for (i, c) in self.cameras.iter().enumerate() {
            if let Some(cam) = c.to_settings(&format!("vision.cameras[{i}]"), &mut p) {
                cameras.push(cam);
            }
        }
        for (i, c) in self.cameras.iter().enumerate() {
            p.check(!self.cameras[..i].iter().any(|o| o.id == c.id), || {
                Problem::new(format!("vision.cameras[{i}].id"), format!("`{}` is used twice", c.id))
                    .allowed("an id no other camera has")
            });
        }
        if !p.is_empty() {
            return Err(p.into_vec());
        }
        Ok(VisionSettings {
            models_dir: self.models_dir.clone().unwrap_or_else(crate::model::default_models_dir),
            model: self.model.clone(),
            score_threshold: self.score_threshold,
            nms_iou: self.nms_iou,
            hold: Duration::from_secs(self.hold_s),
            motion: MotionSettings {
                pixel_delta: self.motion_pixel_delta,
                changed_fraction: self.motion_fraction,
                idle_interval: Duration::from_secs(self.idle_interval_s),
                enabled: self.motion_gating,
            },
            snapshot: self.snapshot,
            snapshot_interval: Duration::from_secs(self.snapshot_interval_s),
            cameras,
        })
    }
}

const SOURCES: &str = "images, libcamera, v4l2, rtsp or pipeline";

impl CameraConfig {
    fn to_settings(&self, key: &str, p: &mut Problems) -> Option<CameraSettings> {
        p.slug(&format!("{key}.id"), &self.id);
        p.in_range(&format!("{key}.fps"), self.fps, 0.1, 30.0, "frames per second");
        p.in_range(&format!("{key}.width"), self.width, 16, 4096, "pixels");
        p.in_range(&format!("{key}.height"), self.height, 16, 4096, "pixels");
        let required = |p: &mut Problems, field: &str, v: &Option<String>| -> Option<String> {
            let v = v.clone().filter(|s| !s.trim().is_empty());
            if v.is_none() {
                p.push(Problem::new(
                    format!("{key}.{field}"),
                    format!("is required for source `{}`", self.source),
                ));
            }
            v
        };
        let source = match self.source.as_str() {
            "images" => {
                p.check(!self.paths.is_empty(), || {
                    Problem::new(format!("{key}.paths"), "is required for source `images`")
                        .allowed("a list of JPEG/PNG files and directories")
                });
                for (j, path) in self.paths.iter().enumerate() {
                    p.check(path.exists(), || {
                        Problem::new(
                            format!("{key}.paths[{j}]"),
                            format!("{} does not exist", path.display()),
                        )
                    });
                }
                Some(SourceSpec::Images(self.paths.clone()))
            }
            "libcamera" => Some(SourceSpec::Libcamera(self.camera_name.clone())),
            "v4l2" => {
                Some(SourceSpec::V4l2(self.device.clone().unwrap_or_else(|| "/dev/video0".into())))
            }
            "rtsp" => required(p, "url", &self.url).map(SourceSpec::Rtsp),
            "pipeline" => required(p, "pipeline", &self.pipeline).map(SourceSpec::Pipeline),
            other => {
                p.push(
                    Problem::new(format!("{key}.source"), format!("unknown source `{other}`"))
                        .allowed(SOURCES),
                );
                None
            }
        };
        if let Some(s) = &source
            && s.needs_gstreamer()
            && !cfg!(feature = "gstreamer")
        {
            p.push(
                Problem::new(
                    format!("{key}.source"),
                    format!(
                        "`{}` needs GStreamer, and this build has no GStreamer support",
                        s.kind()
                    ),
                )
                .allowed("images, or a roomsense built with the `gstreamer` feature"),
            );
        }
        let mut zones = Vec::new();
        for (j, z) in self.zones.iter().enumerate() {
            let zkey = format!("{key}.zones[{j}]");
            p.slug(&format!("{zkey}.id"), &z.id);
            p.check(!self.zones[..j].iter().any(|o| o.id == z.id), || {
                Problem::new(
                    format!("{zkey}.id"),
                    format!("`{}` is used twice in this camera", z.id),
                )
            });
            p.check(z.polygon.len() >= 3, || {
                Problem::new(format!("{zkey}.polygon"), format!("has {} corners", z.polygon.len()))
                    .allowed("at least 3 [x, y] corners")
            });
            for (k, [x, y]) in z.polygon.iter().enumerate() {
                p.check((0.0..=1.0).contains(x) && (0.0..=1.0).contains(y), || {
                    Problem::new(
                        format!("{zkey}.polygon[{k}]"),
                        format!("[{x}, {y}] is outside the picture"),
                    )
                    .allowed("x and y from 0 to 1 (fractions of width and height)")
                });
            }
            zones.push(Zone {
                id: z.id.clone(),
                name: z.name.clone().unwrap_or_else(|| z.id.clone()),
                polygon: z.polygon.iter().map(|[x, y]| (*x, *y)).collect(),
            });
        }
        Some(CameraSettings {
            id: self.id.clone(),
            name: self.name.clone().unwrap_or_else(|| self.id.clone()),
            source: source?,
            width: self.width,
            height: self.height,
            frame_interval: Duration::from_secs_f64(1.0 / self.fps.clamp(0.1, 30.0)),
            zones,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<VisionSettings, Vec<Problem>> {
        let c: VisionConfig = toml::from_str(text).expect("should deserialize");
        c.to_settings()
    }

    fn keys(problems: Vec<Problem>) -> Vec<String> {
        problems.into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn an_empty_section_takes_the_documented_defaults() {
        let s = parse("").unwrap();
        assert_eq!(s.model, "person");
        assert_eq!(s.hold, Duration::from_secs(30));
        assert!(s.motion.enabled && !s.snapshot);
        assert_eq!(s.motion.idle_interval, Duration::from_secs(5));
    }

    #[test]
    fn a_camera_with_zones_is_checked_into_settings() {
        let dir = crate::sample_images_dir();
        let s = parse(&format!(
            "[[cameras]]\nid = \"desk\"\nsource = \"images\"\npaths = [\"{}\"]\nfps = 4\n\
             [[cameras.zones]]\nid = \"chair\"\npolygon = [[0,0],[0.5,0],[0.5,1]]\n",
            dir.display()
        ))
        .unwrap();
        let cam = &s.cameras[0];
        assert_eq!(cam.frame_interval, Duration::from_millis(250));
        assert_eq!(cam.zones[0].polygon, [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0)]);
        assert_eq!(cam.name, "desk");
    }

    #[test]
    fn every_camera_problem_is_named_by_its_key() {
        let err = parse(
            "[[cameras]]\nid = \"Desk\"\nsource = \"webcam\"\nfps = 0\n\
             [[cameras.zones]]\nid = \"a\"\npolygon = [[0,0],[2,0]]\n\
             [[cameras]]\nid = \"x\"\nsource = \"rtsp\"\n",
        )
        .unwrap_err();
        let keys = keys(err);
        for k in [
            "vision.cameras[0].id",
            "vision.cameras[0].fps",
            "vision.cameras[0].source",
            "vision.cameras[0].zones[0].polygon",
            "vision.cameras[0].zones[0].polygon[1]",
            "vision.cameras[1].url",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
        }
    }

    #[test]
    fn pipelines_end_in_the_appsink_with_the_size_asked_for() {
        let p = SourceSpec::V4l2("/dev/video2".into()).pipeline(320, 240).unwrap();
        assert!(p.starts_with("v4l2src device=\"/dev/video2\" ! decodebin ! videoconvert"), "{p}");
        assert!(p.contains("format=RGB,width=320,height=240"), "{p}");
        assert!(p.ends_with("appsink name=roomsense max-buffers=1 drop=true sync=false"), "{p}");
        assert!(SourceSpec::Images(vec![]).pipeline(1, 1).is_none());
    }

    #[cfg(not(feature = "gstreamer"))]
    #[test]
    fn a_camera_source_without_gstreamer_support_is_refused_with_what_to_do() {
        let err = parse("[[cameras]]\nid = \"c\"\nsource = \"v4l2\"\n").unwrap_err();
        assert!(err[0].to_string().contains("built with the `gstreamer` feature"), "{}", err[0]);
    }
}
