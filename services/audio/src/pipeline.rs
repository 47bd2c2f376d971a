//! One microphone's analysis: blocks at any rate → 16 kHz → Silero VAD (state and context
//! carried across chunks, reset after a gap) → speech events; and the sound level beside it.
//! Synchronous and clock-free: the service runs it on the microphone's worker thread, the
//! `vad` command on a file.

use crate::domain::level::{LevelMeter, LevelReading};
use crate::domain::resample::Resampler;
use crate::domain::vad::{Framer, SegmentRules, Segmenter, SpeechEvent};
use crate::error::ModelError;
use crate::model::{VadModel, VadSession};
use crate::sources::AudioBlock;

/// What the pipeline found in the audio fed so far.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Analysis {
    /// Speech confirmed and ended, in order.
    pub speech: Vec<SpeechEvent>,
    /// Finished level windows.
    pub levels: Vec<LevelReading>,
    /// Each chunk's speech probability, when asked for with [`Pipeline::record_probabilities`].
    pub probabilities: Vec<f32>,
    /// Chunks whose inference failed (counted as silence).
    pub failed: u64,
}

impl Analysis {
    /// Empties the lists, keeping their memory.
    pub fn clear(&mut self) {
        self.speech.clear();
        self.levels.clear();
        self.probabilities.clear();
        self.failed = 0;
    }
}

/// A microphone's pipeline.
#[derive(Debug)]
pub struct Pipeline {
    resampler: Option<Resampler>,
    framer: Framer,
    session: VadSession,
    segmenter: Segmenter,
    meter: LevelMeter,
    rate_hz: u32,
    /// 16 kHz samples since the stream (re)started.
    position: u64,
    record: bool,
    scratch: Vec<f32>,
}

impl Pipeline {
    /// A pipeline on `model` with Silero's `rules`, measuring the level over `level_window`
    /// samples at 16 kHz.
    pub fn new(
        model: &VadModel,
        rules: SegmentRules,
        level_window: usize,
    ) -> Result<Self, ModelError> {
        let audio = &model.manifest().audio;
        Ok(Self {
            resampler: None,
            framer: Framer::new(audio.chunk_samples, audio.context_samples),
            session: model.session()?,
            segmenter: Segmenter::new(rules, audio.chunk_samples),
            meter: LevelMeter::new(level_window),
            rate_hz: audio.sample_rate_hz,
            position: 0,
            record: false,
            scratch: Vec::new(),
        })
    }

    /// Keeps every chunk's probability in [`Analysis::probabilities`] (tests, the `vad` command).
    pub fn record_probabilities(&mut self) {
        self.record = true;
    }

    /// The rules in force.
    pub fn rules(&self) -> &SegmentRules {
        self.segmenter.rules()
    }

    /// 16 kHz samples since the stream (re)started.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Whether someone is talking (a confirmed segment is open).
    pub fn is_speaking(&self) -> bool {
        self.segmenter.is_speaking()
    }

    /// Feeds a block; a block after a gap, or at another rate, starts a new stream.
    pub fn process(&mut self, block: &AudioBlock, out: &mut Analysis) {
        let rate_changed = self.resampler.as_ref().is_some_and(|r| r.from_hz() != block.rate_hz);
        if block.gap_before || rate_changed {
            self.break_stream(out);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let samples: &[f32] = if block.rate_hz == self.rate_hz {
            &block.samples
        } else {
            let to = self.rate_hz;
            self.resampler
                .get_or_insert_with(|| Resampler::new(block.rate_hz, to))
                .process(&block.samples, &mut scratch);
            &scratch
        };
        self.meter.process(samples, &mut out.levels);
        self.position += samples.len() as u64;
        let (session, segmenter, record) = (&mut self.session, &mut self.segmenter, self.record);
        self.framer.process(samples, |index, input| {
            infer_chunk(session, segmenter, record, index, input, out);
        });
        self.scratch = scratch;
    }

    /// The stream ended (end of file): the last partial chunk is padded and run, an open
    /// segment ends at the last sample.
    pub fn finish(&mut self, out: &mut Analysis) {
        let (session, segmenter, record) = (&mut self.session, &mut self.segmenter, self.record);
        self.framer.flush(|index, input| {
            infer_chunk(session, segmenter, record, index, input, out);
        });
        if let Some(e) = self.segmenter.finish(self.position) {
            out.speech.push(e);
        }
    }

    /// Audio was lost: what was open ends here, and the model's state, its context, the
    /// resampler and the level window start over.
    pub fn break_stream(&mut self, out: &mut Analysis) {
        if let Some(e) = self.segmenter.finish(self.position) {
            out.speech.push(e);
        }
        self.session.reset();
        self.framer.reset();
        self.meter.reset();
        self.resampler = None;
        self.position = 0;
    }
}

fn infer_chunk(
    session: &mut VadSession,
    segmenter: &mut Segmenter,
    record: bool,
    index: u64,
    input: &[f32],
    out: &mut Analysis,
) {
    let p = match session.infer(input) {
        Ok(p) => p,
        Err(e) => {
            out.failed += 1;
            tracing::trace!(error = %e, "inference failed");
            0.0
        }
    };
    if record {
        out.probabilities.push(p);
    }
    if let Some(e) = segmenter.handle(index, p) {
        out.speech.push(e);
    }
}
