//! The Silero VAD model through tract: the manifest in `models/`, the sha256 check, loading once,
//! and one [`VadSession`] per stream carrying the recurrent state. tract's errors are wrapped
//! here, at the boundary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use crate::domain::vad::SegmentRules;
use crate::error::{InferError, ModelError};

/// The manifest shipped in `models/`, compiled in so the binary works from anywhere.
const BUILTIN_MANIFEST: &str = include_str!("../../../models/silero_vad_openvino_16k.toml");
/// The model it describes.
const BUILTIN_MODEL: &[u8] = include_bytes!("../../../models/silero_vad_openvino_16k.onnx");
/// What errors call the built-in files.
const BUILTIN_PATH: &str = "models/silero_vad_openvino_16k.toml (built in)";

/// A model manifest (`models/<model>.toml`), as far as the VAD needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The file and its checksum.
    pub model: ManifestModel,
    /// Input tensors, in model order.
    pub inputs: Vec<TensorSpec>,
    /// Output tensors, in model order.
    pub outputs: Vec<TensorSpec>,
    /// How audio is fed.
    pub audio: AudioSpec,
    /// Silero's post-processing defaults.
    pub postprocess: PostprocessSpec,
}

/// `[model]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestModel {
    /// The model file, relative to the manifest.
    pub file: PathBuf,
    /// Its sha256, lowercase hex.
    pub sha256: String,
}

/// One tensor of `[[inputs]]` / `[[outputs]]`.
#[derive(Debug, Clone, Deserialize)]
pub struct TensorSpec {
    /// Its name in the graph.
    pub name: String,
    /// Element type (`f32`).
    pub dtype: String,
    /// Fixed shape.
    pub shape: Vec<usize>,
}

/// `[audio]`.
#[derive(Debug, Clone, Deserialize)]
pub struct AudioSpec {
    /// The rate the model expects.
    pub sample_rate_hz: u32,
    /// New samples per call.
    pub chunk_samples: usize,
    /// Samples of the previous chunk fed before the new ones.
    pub context_samples: usize,
}

/// `[postprocess]`.
#[derive(Debug, Clone, Deserialize)]
pub struct PostprocessSpec {
    /// Speech starts at or above this probability.
    pub threshold: f32,
    /// Speech may end below this probability.
    pub neg_threshold: f32,
    /// Shorter segments are dropped.
    pub min_speech_ms: u64,
    /// Speech ends after this much silence.
    pub min_silence_ms: u64,
    /// Padding on each side of a finished segment.
    pub speech_pad_ms: u64,
}

impl Manifest {
    /// Silero's post-processing defaults from the manifest, in samples.
    pub fn segment_rules(&self) -> SegmentRules {
        let per_ms = u64::from(self.audio.sample_rate_hz) / 1000;
        let p = &self.postprocess;
        SegmentRules {
            threshold: p.threshold,
            neg_threshold: p.neg_threshold,
            min_speech: p.min_speech_ms * per_ms,
            min_silence: p.min_silence_ms * per_ms,
            speech_pad: p.speech_pad_ms * per_ms,
        }
    }
}

/// The loaded model: one per process, shared by every microphone.
#[derive(Debug, Clone)]
pub struct VadModel {
    plan: Arc<TypedRunnableModel>,
    manifest: Arc<Manifest>,
    origin: PathBuf,
}

impl VadModel {
    /// The model compiled into the binary (`models/silero_vad_openvino_16k.*`).
    pub fn builtin() -> Result<Self, ModelError> {
        let path = PathBuf::from(BUILTIN_PATH);
        let manifest = parse_manifest(&path, BUILTIN_MANIFEST)?;
        Self::from_bytes(manifest, &path, &path, BUILTIN_MODEL)
    }

    /// The model a manifest file names (the model file lies beside it).
    pub fn load(manifest_path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(manifest_path).map_err(|source| {
            ModelError::ReadManifest { path: manifest_path.to_path_buf(), source }
        })?;
        let manifest = parse_manifest(manifest_path, &text)?;
        let model_path =
            manifest_path.parent().unwrap_or(Path::new(".")).join(&manifest.model.file);
        let bytes = std::fs::read(&model_path).map_err(|source| ModelError::ReadModel {
            path: model_path.clone(),
            manifest: manifest_path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(manifest, manifest_path, &model_path, &bytes)
    }

    fn from_bytes(
        manifest: Manifest,
        manifest_path: &Path,
        model_path: &Path,
        bytes: &[u8],
    ) -> Result<Self, ModelError> {
        let actual = hex(&Sha256::digest(bytes));
        if !actual.eq_ignore_ascii_case(manifest.model.sha256.trim()) {
            return Err(ModelError::Checksum {
                path: model_path.to_path_buf(),
                manifest: manifest_path.to_path_buf(),
                expected: manifest.model.sha256.clone(),
                actual,
            });
        }
        let load_error = |message: String| ModelError::Load {
            path: model_path.to_path_buf(),
            manifest: manifest_path.to_path_buf(),
            message,
        };
        check_spec(&manifest).map_err(load_error)?;
        let plan = (|| -> TractResult<Arc<TypedRunnableModel>> {
            let mut model = tract_onnx::onnx().model_for_read(&mut &bytes[..])?;
            for (i, input) in manifest.inputs.iter().enumerate() {
                model.set_input_fact(i, f32::fact(&input.shape).into())?;
            }
            model.into_optimized()?.into_runnable()
        })()
        .map_err(|e| load_error(format!("{e:#}")))?;
        // The graph's tensors must be the manifest's, in its order.
        let graph = plan.model();
        for (what, specs, outlets) in [
            (
                "input",
                &manifest.inputs,
                graph.input_outlets().map_err(|e| load_error(e.to_string()))?,
            ),
            (
                "output",
                &manifest.outputs,
                graph.output_outlets().map_err(|e| load_error(e.to_string()))?,
            ),
        ] {
            let names: Vec<&str> =
                outlets.iter().map(|o| graph.node(o.node).name.as_str()).collect();
            let expected: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            if what == "input" && names != expected {
                return Err(load_error(format!(
                    "the model's inputs are {names:?}, the manifest says {expected:?}"
                )));
            }
            if outlets.len() != specs.len() {
                return Err(load_error(format!(
                    "the model has {} {what}s, the manifest lists {}",
                    outlets.len(),
                    specs.len()
                )));
            }
        }
        Ok(Self { plan, manifest: Arc::new(manifest), origin: model_path.to_path_buf() })
    }

    /// The manifest the model was loaded with.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Where the model came from (for logs).
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// A new stream: zero state.
    pub fn session(&self) -> Result<VadSession, ModelError> {
        let state = self.plan.spawn().map_err(|e| ModelError::Load {
            path: self.origin.clone(),
            manifest: self.origin.clone(),
            message: format!("{e:#}"),
        })?;
        let shape = self.manifest.inputs[1].shape.clone();
        let len = shape.iter().product();
        Ok(VadSession {
            state,
            input_shape: self.manifest.inputs[0].shape.clone(),
            rnn_shape: shape,
            rnn: vec![0.0; len],
        })
    }
}

/// One stream's inference: the plan's state and Silero's recurrent state.
#[derive(Debug)]
pub struct VadSession {
    state: TypedSimpleState,
    input_shape: Vec<usize>,
    rnn_shape: Vec<usize>,
    rnn: Vec<f32>,
}

impl VadSession {
    /// The speech probability of one model input (`context + chunk` samples); carries the
    /// recurrent state to the next call.
    pub fn infer(&mut self, input: &[f32]) -> Result<f32, InferError> {
        let mut run = || -> TractResult<f32> {
            let x = Tensor::from_shape(&self.input_shape, input)?;
            let s = Tensor::from_shape(&self.rnn_shape, &self.rnn)?;
            let out = self.state.run(tvec!(x.into(), s.into()))?;
            let p = *out[0].try_as_plain_ram()?.as_slice::<f32>()?.first().unwrap_or(&0.0);
            self.rnn.copy_from_slice(out[1].try_as_plain_ram()?.as_slice::<f32>()?);
            Ok(p)
        };
        run().map_err(|e| InferError(format!("{e:#}")))
    }

    /// Back to the start of a stream (after a gap).
    pub fn reset(&mut self) {
        self.rnn.iter_mut().for_each(|v| *v = 0.0);
    }
}

fn parse_manifest(path: &Path, text: &str) -> Result<Manifest, ModelError> {
    toml::from_str(text)
        .map_err(|e| ModelError::Manifest { path: path.to_path_buf(), message: e.to_string() })
}

/// What the VAD code assumes about the tensors, checked against the manifest before loading.
fn check_spec(m: &Manifest) -> Result<(), String> {
    let a = &m.audio;
    let ok = m.inputs.len() == 2
        && m.outputs.len() == 2
        && m.inputs.iter().chain(&m.outputs).all(|t| t.dtype == "f32")
        && m.inputs[0].shape == [1, a.context_samples + a.chunk_samples]
        && m.inputs[1].shape == m.outputs[1].shape
        && m.outputs[0].shape.iter().product::<usize>() == 1
        && a.sample_rate_hz == 16_000
        && a.chunk_samples > 0;
    if ok {
        Ok(())
    } else {
        Err("expected inputs [audio 1×(context+chunk), state] and outputs [probability, state], \
             all f32, at 16000 Hz"
            .into())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_loads_and_answers_silence_with_a_low_probability() {
        let model = VadModel::builtin().unwrap();
        let mut s = model.session().unwrap();
        for _ in 0..5 {
            let p = s.infer(&[0.0; 576]).unwrap();
            assert!((0.0..0.1).contains(&p), "{p}");
        }
    }

    #[test]
    fn a_model_that_does_not_match_its_checksum_is_refused_with_both_names() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("vad.toml");
        std::fs::write(&manifest, BUILTIN_MANIFEST).unwrap();
        std::fs::write(dir.path().join("silero_vad_openvino_16k.onnx"), b"not a model").unwrap();
        let err = VadModel::load(&manifest).unwrap_err().to_string();
        assert!(err.contains("does not match its manifest"), "{err}");
        assert!(err.contains("vad.toml"), "{err}");
        assert!(err.contains("silero_vad_openvino_16k.onnx"), "{err}");
    }

    #[test]
    fn a_missing_model_file_names_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("vad.toml");
        std::fs::write(&manifest, BUILTIN_MANIFEST).unwrap();
        let err = VadModel::load(&manifest).unwrap_err().to_string();
        assert!(err.starts_with("cannot read model"), "{err}");
        assert!(err.contains("named by"), "{err}");
    }

    #[test]
    fn a_manifest_with_other_tensors_is_refused_before_loading() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("vad.toml");
        std::fs::write(&manifest, BUILTIN_MANIFEST.replace("shape = [1, 576]", "shape = [1, 512]"))
            .unwrap();
        std::fs::write(dir.path().join("silero_vad_openvino_16k.onnx"), BUILTIN_MODEL).unwrap();
        let err = VadModel::load(&manifest).unwrap_err().to_string();
        assert!(err.contains("expected inputs"), "{err}");
    }
}
