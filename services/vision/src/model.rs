//! The model manifest (`models/vision.manifest.toml`) and the person detector built from one of
//! its entries: sha256 checked first, tensors checked against the entry, shapes fixed before
//! tract optimises, loaded once; the runnable plan is shared by every camera.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tract::prelude::*;

use crate::domain::frame::Frame;
use crate::domain::postprocess::{self, Detection};
use crate::domain::preprocess;
use crate::error::{DetectError, ModelError};

/// The manifest's file name inside the models folder.
pub const MANIFEST: &str = "vision.manifest.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    model: Vec<ModelEntry>,
}

/// One entry of the manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The entry's name (`[vision] model`).
    pub name: String,
    /// The model file, relative to the manifest.
    pub file: PathBuf,
    /// Expected sha256 of the file, lowercase hex.
    pub sha256: String,
    /// What the model does.
    pub task: String,
    /// Where it came from.
    pub source: String,
    /// Its licence.
    pub licence: String,
    /// The licence text, relative to the manifest.
    pub licence_file: PathBuf,
    /// The input tensor.
    pub input: InputSpec,
    /// The output tensors, in order.
    pub outputs: Vec<TensorSpec>,
    /// How to read the outputs.
    pub decoding: DecodingSpec,
}

/// The input tensor and how to fill it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Tensor name in the graph.
    pub name: String,
    /// Shape, `[1, H, W, 3]`.
    pub shape: Vec<usize>,
    /// Only `NHWC`.
    pub layout: String,
    /// Only `f32`.
    pub datum: String,
    /// Only `RGB`.
    pub colour: String,
    /// Only `stretch`.
    pub resize: String,
    /// Fed value = pixel * scale + offset.
    pub scale: f32,
    /// See `scale`.
    pub offset: f32,
}

/// An output tensor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    /// Tensor name in the graph.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Only `f32`.
    pub datum: String,
}

/// Output decoding and default thresholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodingSpec {
    /// Only `decoded-boxes-yxyx`: boxes `[1, N, 4]` then scores `[1, N, 1]`.
    pub kind: String,
    /// Default score threshold.
    pub score_threshold: f32,
    /// Default NMS IoU.
    pub nms_iou: f32,
}

/// Reads the manifest in `dir` and returns the entry `name`, with the folder it is relative to.
pub fn manifest_entry(dir: &Path, name: &str) -> Result<ModelEntry, ModelError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .map_err(|source| ModelError::ManifestRead { path: path.clone(), source })?;
    let file: ManifestFile = toml::from_str(&text)
        .map_err(|e| ModelError::ManifestInvalid { path: path.clone(), reason: e.to_string() })?;
    let known = file.model.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ");
    let entry = file.model.iter().find(|m| m.name == name).cloned().ok_or_else(|| {
        ModelError::UnknownEntry { path: path.clone(), entry: name.to_owned(), known }
    })?;
    entry.check_supported(&path)?;
    Ok(entry)
}

impl ModelEntry {
    /// Refuses entries this code cannot feed or read.
    fn check_supported(&self, path: &Path) -> Result<(), ModelError> {
        let bad = |reason: String| ModelError::ManifestInvalid {
            path: path.to_path_buf(),
            reason: format!("entry `{}`: {reason}", self.name),
        };
        let i = &self.input;
        let ok = i.layout == "NHWC"
            && i.datum == "f32"
            && i.colour == "RGB"
            && i.resize == "stretch"
            && i.shape.len() == 4
            && i.shape[0] == 1
            && i.shape[3] == 3
            && i.shape[1] > 0
            && i.shape[2] > 0;
        if !ok {
            return Err(bad(format!(
                "input must be NHWC f32 RGB stretch [1,H,W,3], is {} {} {} {} {:?}",
                i.layout, i.datum, i.colour, i.resize, i.shape
            )));
        }
        if self.decoding.kind != "decoded-boxes-yxyx" {
            return Err(bad(format!(
                "decoding `{}` is not supported (supported: decoded-boxes-yxyx)",
                self.decoding.kind
            )));
        }
        let shapes_ok = self.outputs.len() == 2
            && self.outputs.iter().all(|o| o.datum == "f32" && o.shape.len() == 3)
            && self.outputs[0].shape[2] == 4
            && self.outputs[1].shape[2] == 1
            && self.outputs[0].shape[1] == self.outputs[1].shape[1];
        if !shapes_ok {
            return Err(bad("outputs must be boxes [1,N,4] then scores [1,N,1], f32".into()));
        }
        if !(0.0..=1.0).contains(&self.decoding.score_threshold)
            || !(0.0..=1.0).contains(&self.decoding.nms_iou)
        {
            return Err(bad("score_threshold and nms_iou must lie in 0..1".into()));
        }
        Ok(())
    }
}

/// Thresholds a detector runs with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Keep boxes scoring at least this.
    pub score: f32,
    /// Suppress boxes overlapping a better one by more than this.
    pub nms_iou: f32,
}

/// Where one frame's time went, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timings {
    /// Resize and normalisation.
    pub resize_ms: f64,
    /// tract.
    pub infer_ms: f64,
    /// Thresholding and NMS.
    pub nms_ms: f64,
}

/// The person detector: one optimised tract plan, shared (cheap to clone).
#[derive(Debug, Clone)]
pub struct PersonDetector {
    plan: Arc<Runnable>,
    entry: Arc<ModelEntry>,
    thresholds: Thresholds,
}

/// Wraps tract's errors (anyhow, whose alternate form prints the whole chain) at this boundary.
fn load_error<E: std::fmt::Display>(entry: &ModelEntry, file: &Path) -> impl Fn(E) -> ModelError {
    let (entry, file) = (entry.name.clone(), file.to_path_buf());
    move |e| ModelError::Load { entry: entry.clone(), file: file.clone(), reason: format!("{e:#}") }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl PersonDetector {
    /// Loads entry `name` of the manifest in `dir`: reads the file, checks its sha256, loads it
    /// with tract, fixes the input shape, checks every tensor against the manifest, optimises.
    pub fn load(dir: &Path, name: &str) -> Result<Self, ModelError> {
        let entry = manifest_entry(dir, name)?;
        let file = dir.join(&entry.file);
        let bytes = std::fs::read(&file).map_err(|source| ModelError::FileRead {
            entry: entry.name.clone(),
            file: file.clone(),
            source,
        })?;
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(&entry.sha256) {
            return Err(ModelError::Checksum {
                entry: entry.name.clone(),
                file,
                expected: entry.sha256.clone(),
                actual,
            });
        }
        let plan = Self::build(&entry, &file, &bytes)?;
        let thresholds =
            Thresholds { score: entry.decoding.score_threshold, nms_iou: entry.decoding.nms_iou };
        Ok(Self { plan: Arc::new(plan), entry: Arc::new(entry), thresholds })
    }

    fn build(entry: &ModelEntry, file: &Path, bytes: &[u8]) -> Result<Runnable, ModelError> {
        let load_err = load_error(entry, file);
        let tensor_err = |what: String, expected: String, found: String| ModelError::Tensor {
            entry: entry.name.clone(),
            file: file.to_path_buf(),
            what,
            expected,
            found,
        };
        // The names the file declares, checked before tract spends time on it.
        let (inputs, outputs) =
            crate::onnx_names::graph_io_names(bytes).ok_or_else(|| ModelError::Load {
                entry: entry.name.clone(),
                file: file.to_path_buf(),
                reason: "not an ONNX model (no graph)".into(),
            })?;
        if inputs != [entry.input.name.clone()] {
            return Err(tensor_err(
                "inputs".into(),
                format!("[{:?}]", entry.input.name),
                format!("{inputs:?}"),
            ));
        }
        let expected: Vec<String> = entry.outputs.iter().map(|o| o.name.clone()).collect();
        if outputs != expected {
            return Err(tensor_err(
                "outputs".into(),
                format!("{expected:?}"),
                format!("{outputs:?}"),
            ));
        }
        let mut model = tract::onnx().and_then(|o| o.load_buffer(bytes)).map_err(&load_err)?;
        // Shapes are fixed before optimisation: tract then plans for exactly this input.
        let shape = entry.input.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
        model.set_input_fact(0, format!("{shape},f32").as_str()).map_err(&load_err)?;
        let mut typed = model.into_model().map_err(&load_err)?;
        for (i, spec) in entry.outputs.iter().enumerate() {
            let fact = typed.output_fact(i).map_err(&load_err)?.to_string();
            let dims = spec.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
            let expected = format!("{dims},{}", spec.datum);
            if fact != expected {
                return Err(tensor_err(format!("output `{}` shape", spec.name), expected, fact));
            }
        }
        // Channel-last convolutions (tract 0.23.9's `conv_nhwc` rewrite): depthwise then runs on
        // contiguous channels, which x86 vectorises much better than tract's W-inner kernel.
        // Half the depthwise time, about 20 % of the frame, identical scores (bench/PROFILE.md).
        typed.transform("conv_nhwc").map_err(&load_err)?;
        typed.into_runnable().map_err(&load_err)
    }

    /// The same detector with the thresholds given here instead of the manifest's.
    pub fn with_thresholds(mut self, score: Option<f32>, nms_iou: Option<f32>) -> Self {
        self.thresholds.score = score.unwrap_or(self.thresholds.score);
        self.thresholds.nms_iou = nms_iou.unwrap_or(self.thresholds.nms_iou);
        self
    }

    /// The manifest entry it was loaded from.
    pub fn entry(&self) -> &ModelEntry {
        &self.entry
    }

    /// The thresholds in use.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The people in `frame`, best first, and where the time went.
    pub fn detect(&self, frame: &Frame) -> Result<(Vec<Detection>, Timings), DetectError> {
        let shape = &self.entry.input.shape;
        let (h, w) = (shape[1], shape[2]);
        let t0 = Instant::now();
        let mut input = vec![0f32; h * w * 3];
        preprocess::resize_into(
            frame,
            w,
            h,
            self.entry.input.scale,
            self.entry.input.offset,
            &mut input,
        );
        let tensor = Tensor::from_slice(shape, &input)
            .map_err(|e| DetectError::Inference(format!("{e:#}")))?;
        let t1 = Instant::now();
        let outputs =
            self.plan.run([tensor]).map_err(|e| DetectError::Inference(format!("{e:#}")))?;
        let t2 = Instant::now();
        let boxes = outputs
            .first()
            .and_then(|t| t.as_slice::<f32>().ok())
            .ok_or(DetectError::Output("boxes"))?;
        let scores = outputs
            .get(1)
            .and_then(|t| t.as_slice::<f32>().ok())
            .ok_or(DetectError::Output("scores"))?;
        if boxes.len() != scores.len() * 4 {
            return Err(DetectError::Output("boxes"));
        }
        let people = postprocess::nms(
            postprocess::decode_yxyx(boxes, scores, self.thresholds.score),
            self.thresholds.nms_iou,
        );
        let t3 = Instant::now();
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
        Ok((people, Timings { resize_ms: ms(t0, t1), infer_ms: ms(t1, t2), nms_ms: ms(t2, t3) }))
    }

    /// The highest person score anywhere in `frame`, before thresholding (for harness tests
    /// and `detect`'s diagnostics).
    pub fn top_score(&self, frame: &Frame) -> Result<f32, DetectError> {
        let all = Self { thresholds: Thresholds { score: 0.0, nms_iou: 1.0 }, ..self.clone() };
        Ok(all.detect(frame)?.0.first().map_or(0.0, |d| d.score))
    }
}

/// The repository's `models/` folder, where a build from source finds the shipped models.
pub fn source_models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// Where the models are when `[vision] models_dir` is not set: `$ROOMSENSE_MODELS_DIR`, else the
/// image's `/usr/share/roomsense/models`, else the source tree's `models/`.
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ROOMSENSE_MODELS_DIR") {
        return PathBuf::from(dir);
    }
    let image = Path::new("/usr/share/roomsense/models");
    if image.join(MANIFEST).is_file() { image.to_path_buf() } else { source_models_dir() }
}
