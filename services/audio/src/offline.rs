//! The speech segments of a WAV file, as `roomsense audio vad FILE.wav` prints them.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::domain::vad::{SegmentRules, SpeechEvent, pad_segments};
use crate::error::{ModelError, SourceError};
use crate::model::VadModel;
use crate::pipeline::{Analysis, Pipeline};
use crate::sources::{AudioSource, Read, WavSource};

/// One segment in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SegmentSeconds {
    /// Where speech starts.
    pub start_s: f64,
    /// Where it ends.
    pub end_s: f64,
}

/// The answer for one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The file, as given.
    pub file: String,
    /// Speech, padded as Silero pads it.
    pub segments: Vec<SegmentSeconds>,
    /// Processing time over audio time (decode, resample, VAD, level).
    pub rtf: f64,
    /// Seconds of audio.
    #[serde(skip)]
    pub duration_s: f64,
    /// Each 32 ms chunk's speech probability.
    #[serde(skip)]
    pub probabilities: Vec<f32>,
}

/// Why a file could not be analysed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be read or decoded.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The model could not start a stream.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Runs the whole pipeline over `path` as fast as it goes.
pub fn analyze_file(
    path: &Path,
    model: &VadModel,
    rules: SegmentRules,
) -> Result<FileReport, FileError> {
    let started = Instant::now();
    let mut source = WavSource::open(path)?;
    let mut pipeline = Pipeline::new(model, rules, 16_000)?;
    pipeline.record_probabilities();
    let mut analysis = Analysis::default();
    loop {
        match source.read()? {
            Read::Audio(block) => pipeline.process(&block, &mut analysis),
            Read::Idle => {}
            Read::End => break,
        }
    }
    pipeline.finish(&mut analysis);
    let elapsed = started.elapsed().as_secs_f64();
    let total = pipeline.position();
    let rate = f64::from(model.manifest().audio.sample_rate_hz);
    let segments: Vec<_> = analysis
        .speech
        .iter()
        .filter_map(|e| match e {
            SpeechEvent::Ended(s) => Some(*s),
            SpeechEvent::Confirmed { .. } => None,
        })
        .collect();
    let seconds = |samples: u64| (samples as f64 / rate * 1000.0).round() / 1000.0;
    let duration_s = total as f64 / rate;
    Ok(FileReport {
        file: path.display().to_string(),
        segments: pad_segments(&segments, rules.speech_pad, total)
            .iter()
            .map(|s| SegmentSeconds { start_s: seconds(s.start), end_s: seconds(s.end) })
            .collect(),
        rtf: if duration_s > 0.0 { elapsed / duration_s } else { 0.0 },
        duration_s,
        probabilities: analysis.probabilities,
    })
}
