//! The `[audio]` config section: microphones, the voice hold, the level window, and Silero's
//! thresholds when the manifest's defaults should not apply.
//!
//! ```toml
//! [audio]
//! voice_hold_s = 30
//! level_window_ms = 5000
//! [audio.mics.living]
//! device = "dsnoop:CARD=Mic"   # an ALSA PCM; dsnoop lets other programs share the mic
//! calibration_db = 94.0        # optional: dBFS + this = dB SPL
//! ```
//!
//! Nothing here changes at runtime: a change needs a restart of `roomsense audio`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use roomsense_core::config::{Problem, Problems};
use serde::Deserialize;

use crate::domain::vad::SegmentRules;
use crate::model::Manifest;
use crate::sources::SourceSpec;

/// `[audio]` as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioConfig {
    /// Model manifest (`models/<model>.toml`, the model file beside it). Default: the Silero VAD
    /// model built into the binary.
    pub model: Option<PathBuf>,
    /// `voice` stays ON this long after the last speech (s). Default 30, 1 to 3600.
    pub voice_hold_s: u64,
    /// The level is measured and published over windows this long (ms). Default 5000,
    /// 100 to 600000.
    pub level_window_ms: u64,
    /// Speech starts at this probability. Default: the manifest's (Silero: 0.5).
    pub threshold: Option<f32>,
    /// Speech may end below this probability. Default: the manifest's (Silero: threshold − 0.15).
    pub neg_threshold: Option<f32>,
    /// Speech shorter than this is ignored (ms). Default: the manifest's (Silero: 250).
    pub min_speech_ms: Option<u64>,
    /// Speech ends after this much silence (ms). Default: the manifest's (Silero: 100).
    pub min_silence_ms: Option<u64>,
    /// The microphones, by name (the `<mic>` topic level). Default none.
    pub mics: BTreeMap<String, MicConfig>,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            model: None,
            voice_hold_s: 30,
            level_window_ms: 5000,
            threshold: None,
            neg_threshold: None,
            min_speech_ms: None,
            min_silence_ms: None,
            mics: BTreeMap::new(),
        }
    }
}

/// `[audio.mics.<name>]`: exactly one of `device` and `file`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MicConfig {
    /// An ALSA capture PCM: `default`, `dsnoop:CARD=Mic`, `plughw:1,0`, ... (needs a build with
    /// the `alsa` feature, as the image has).
    pub device: Option<String>,
    /// A WAV file played in a loop in real time instead of a microphone.
    pub file: Option<PathBuf>,
    /// The rate to ask the device for (Hz); default: the rate nearest 16000 it offers. Any rate
    /// is resampled to 16 kHz.
    pub rate_hz: Option<u32>,
    /// What Home Assistant calls the microphone; default: the name.
    pub name: Option<String>,
    /// Added to dBFS for the level sensor: the microphone's dB SPL at 0 dBFS. Default 0.
    pub calibration_db: f64,
}

/// One microphone, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Mic {
    /// The topic level and entity key.
    pub id: String,
    /// The display name.
    pub name: String,
    /// Where its audio comes from.
    pub source: SourceSpec,
    /// dB added to the level.
    pub calibration_db: f64,
}

/// What the audio service runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioSettings {
    /// The model manifest, or `None` for the built-in model.
    pub model: Option<PathBuf>,
    /// Hold of `voice` after the last speech.
    pub voice_hold: Duration,
    /// Level window in 16 kHz samples.
    pub level_window: usize,
    /// Overrides of Silero's defaults.
    pub overrides: RuleOverrides,
    /// The microphones.
    pub mics: Vec<Mic>,
}

/// Thresholds and durations the config sets instead of the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RuleOverrides {
    /// See [`AudioConfig::threshold`].
    pub threshold: Option<f32>,
    /// See [`AudioConfig::neg_threshold`].
    pub neg_threshold: Option<f32>,
    /// See [`AudioConfig::min_speech_ms`].
    pub min_speech_ms: Option<u64>,
    /// See [`AudioConfig::min_silence_ms`].
    pub min_silence_ms: Option<u64>,
}

impl RuleOverrides {
    /// The manifest's rules with these overrides.
    pub fn apply(&self, manifest: &Manifest) -> SegmentRules {
        let mut r = manifest.segment_rules();
        let per_ms = u64::from(manifest.audio.sample_rate_hz) / 1000;
        if let Some(t) = self.threshold {
            r.threshold = t;
            // Silero derives the lower threshold from the upper one.
            r.neg_threshold = (t - 0.15).max(0.01);
        }
        if let Some(t) = self.neg_threshold {
            r.neg_threshold = t;
        }
        if let Some(ms) = self.min_speech_ms {
            r.min_speech = ms * per_ms;
        }
        if let Some(ms) = self.min_silence_ms {
            r.min_silence = ms * per_ms;
        }
        r
    }
}

impl AudioConfig {
    /// Records every problem under `audio.`.
    pub fn validate(&self, p: &mut Problems) {
        p.in_range("audio.voice_hold_s", self.voice_hold_s, 1, 3600, "seconds");
        p.in_range("audio.level_window_ms", self.level_window_ms, 100, 600_000, "ms");
        if let Some(t) = self.threshold {
            p.in_range("audio.threshold", t, 0.01, 0.99, "");
        }
        if let Some(t) = self.neg_threshold {
            let upper = self.threshold.unwrap_or(0.5);
            p.check(t > 0.0 && t < upper, || {
                Problem::new(
                    "audio.neg_threshold",
                    format!("{t} is not below the threshold {upper}"),
                )
                .allowed(format!("more than 0 and less than {upper}"))
            });
        }
        if let Some(ms) = self.min_speech_ms {
            p.in_range("audio.min_speech_ms", ms, 0, 10_000, "ms");
        }
        if let Some(ms) = self.min_silence_ms {
            p.in_range("audio.min_silence_ms", ms, 0, 10_000, "ms");
        }
        if let Some(model) = &self.model {
            p.check(model.is_file(), || {
                Problem::new("audio.model", format!("cannot read {}", model.display()))
                    .allowed("a model manifest such as models/silero_vad_openvino_16k.toml")
            });
        }
        for (id, mic) in &self.mics {
            let key = |k: &str| format!("audio.mics.{id}.{k}");
            p.slug(&format!("audio.mics.{id}"), id);
            match (&mic.device, &mic.file) {
                (Some(_), Some(_)) | (None, None) => p.push(
                    Problem::new(
                        format!("audio.mics.{id}"),
                        "needs exactly one of `device` and `file`",
                    )
                    .allowed("device = \"dsnoop:CARD=Mic\" or file = \"/path/to/audio.wav\""),
                ),
                (Some(device), None) => {
                    p.check(!device.trim().is_empty(), || {
                        Problem::new(key("device"), "is empty")
                            .allowed("an ALSA PCM name such as `default`")
                    });
                    p.check(cfg!(feature = "alsa"), || {
                        Problem::new(
                            key("device"),
                            "this roomsense was built without ALSA (cargo feature `alsa`)",
                        )
                        .allowed("file = \"...wav\", or a build with --features alsa")
                    });
                }
                (None, Some(file)) => p.check(file.is_file(), || {
                    Problem::new(key("file"), format!("cannot read {}", file.display()))
                        .allowed("a WAV file")
                }),
            }
            if let Some(rate) = mic.rate_hz {
                p.in_range(&key("rate_hz"), rate, 8000, 192_000, "Hz");
            }
            p.check(mic.calibration_db.is_finite() && mic.calibration_db.abs() <= 200.0, || {
                Problem::new(
                    key("calibration_db"),
                    format!("{} is out of range", mic.calibration_db),
                )
                .allowed("-200 to 200 dB")
            });
        }
    }

    /// The settings the service runs on (call after [`AudioConfig::validate`] found nothing).
    pub fn settings(&self) -> AudioSettings {
        AudioSettings {
            model: self.model.clone(),
            voice_hold: Duration::from_secs(self.voice_hold_s),
            level_window: (self.level_window_ms * 16) as usize,
            overrides: RuleOverrides {
                threshold: self.threshold,
                neg_threshold: self.neg_threshold,
                min_speech_ms: self.min_speech_ms,
                min_silence_ms: self.min_silence_ms,
            },
            mics: self
                .mics
                .iter()
                .map(|(id, m)| Mic {
                    id: id.clone(),
                    name: m.name.clone().unwrap_or_else(|| id.clone()),
                    source: match (&m.device, &m.file) {
                        (_, Some(path)) => SourceSpec::WavFile { path: path.clone() },
                        (device, None) => SourceSpec::Alsa {
                            device: device.clone().unwrap_or_else(|| "default".into()),
                            rate_hz: m.rate_hz,
                        },
                    },
                    calibration_db: m.calibration_db,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(c: &AudioConfig) -> Vec<String> {
        let mut p = Problems::default();
        c.validate(&mut p);
        p.into_vec().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_defaults_are_valid_and_have_no_microphone() {
        assert!(problems(&AudioConfig::default()).is_empty());
        assert!(AudioConfig::default().settings().mics.is_empty());
    }

    #[test]
    fn a_mic_needs_exactly_one_source() {
        let mut c = AudioConfig::default();
        c.mics.insert("a".into(), MicConfig::default());
        c.mics.insert(
            "b".into(),
            MicConfig {
                device: Some("x".into()),
                file: Some("y.wav".into()),
                ..MicConfig::default()
            },
        );
        let got = problems(&c);
        assert!(got[0].starts_with("audio.mics.a: needs exactly one"), "{got:?}");
        assert!(got[1].starts_with("audio.mics.b: needs exactly one"), "{got:?}");
    }

    #[test]
    fn every_problem_is_named_by_its_key() {
        let mut c = AudioConfig {
            voice_hold_s: 0,
            level_window_ms: 10,
            threshold: Some(0.5),
            neg_threshold: Some(0.6),
            ..AudioConfig::default()
        };
        c.mics.insert(
            "Kitchen Mic".into(),
            MicConfig {
                file: Some("/nonexistent.wav".into()),
                rate_hz: Some(1),
                ..MicConfig::default()
            },
        );
        let got = problems(&c).join("\n");
        for key in [
            "audio.voice_hold_s: 0 is out of range",
            "audio.level_window_ms: 10 is out of range",
            "audio.neg_threshold: 0.6 is not below the threshold 0.5",
            "audio.mics.Kitchen Mic: `Kitchen Mic` cannot be used",
            "audio.mics.Kitchen Mic.file: cannot read /nonexistent.wav",
            "audio.mics.Kitchen Mic.rate_hz: 1 is out of range",
        ] {
            assert!(got.contains(key), "{key} not in\n{got}");
        }
    }

    #[test]
    fn overrides_replace_the_manifests_defaults() {
        let model = crate::model::VadModel::builtin().unwrap();
        let base = RuleOverrides::default().apply(model.manifest());
        assert_eq!(base, SegmentRules::silero());
        let r = RuleOverrides {
            threshold: Some(0.6),
            min_silence_ms: Some(300),
            ..RuleOverrides::default()
        }
        .apply(model.manifest());
        assert_eq!((r.threshold, r.min_silence), (0.6, 4800));
        assert!((r.neg_threshold - 0.45).abs() < 1e-6);
    }
}
