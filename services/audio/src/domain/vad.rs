//! Silero VAD's pre- and post-processing, pure: cutting the 16 kHz stream into the model's
//! input (a chunk with the previous chunk's tail as context) and turning per-chunk speech
//! probabilities into segments with Silero's thresholds and minimum durations.
//!
//! The segment rules are those of `get_speech_timestamps` in silero-vad's `utils_vad.py`
//! (6.2.3), run as a stream: speech starts at the first chunk with `p ≥ threshold`; a silence
//! starts at the first chunk with `p < neg_threshold` and is forgotten when `p ≥ threshold`
//! again; speech ends where the silence began once the silence is `min_silence` samples old;
//! segments not longer than `min_speech` are dropped; finished segments are padded by
//! `speech_pad` samples on each side, halving gaps too short for both pads.

/// What the model is fed per call: `context + chunk` samples.
#[derive(Debug, Clone)]
pub struct Framer {
    chunk: usize,
    context: usize,
    /// The last `context` samples of the previous chunk, then samples waiting for a full chunk.
    buf: Vec<f32>,
    /// Chunks cut since the last reset.
    chunks: u64,
}

impl Framer {
    /// A framer for chunks of `chunk` new samples preceded by `context` old ones.
    pub fn new(chunk: usize, context: usize) -> Self {
        Self { chunk: chunk.max(1), context, buf: vec![0.0; context], chunks: 0 }
    }

    /// New samples per chunk.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// Feeds samples; calls `each` with every full model input (`context + chunk` samples) and
    /// the index of the chunk since the last reset.
    pub fn process(&mut self, samples: &[f32], mut each: impl FnMut(u64, &[f32])) {
        let full = self.context + self.chunk;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (full - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == full {
                each(self.chunks, &self.buf);
                self.chunks += 1;
                // The tail of this chunk is the next one's context.
                self.buf.drain(..self.chunk);
            }
        }
    }

    /// Samples waiting for a full chunk.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.context
    }

    /// Calls `each` with the waiting samples padded with zeros to a full input (Silero pads the
    /// last chunk of a file so); does nothing when nothing waits.
    pub fn flush(&mut self, mut each: impl FnMut(u64, &[f32])) {
        if self.pending() == 0 {
            return;
        }
        self.buf.resize(self.context + self.chunk, 0.0);
        each(self.chunks, &self.buf);
        self.chunks += 1;
        self.buf.drain(..self.chunk);
        self.buf.truncate(self.context);
    }

    /// Forgets the context and anything waiting (after a gap: the model's state is reset too).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.resize(self.context, 0.0);
        self.chunks = 0;
    }
}

/// Silero's post-processing parameters, in samples at 16 kHz where they are durations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentRules {
    /// Speech starts at `p ≥ threshold` (Silero: 0.5).
    pub threshold: f32,
    /// Speech may end below this (Silero: `threshold − 0.15`).
    pub neg_threshold: f32,
    /// Shorter segments are dropped (Silero: 250 ms).
    pub min_speech: u64,
    /// Speech ends after this much silence (Silero: 100 ms).
    pub min_silence: u64,
    /// Padding added on each side of a finished segment (Silero: 30 ms).
    pub speech_pad: u64,
}

impl SegmentRules {
    /// Silero's defaults for 16 kHz.
    pub fn silero() -> Self {
        Self {
            threshold: 0.5,
            neg_threshold: 0.35,
            min_speech: 4000,
            min_silence: 1600,
            speech_pad: 480,
        }
    }
}

/// A stretch of speech, in samples from the start of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// First sample.
    pub start: u64,
    /// One past the last sample.
    pub end: u64,
}

/// What one probability changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeechEvent {
    /// A segment has lasted longer than `min_speech`: someone is talking.
    Confirmed {
        /// Where the segment began.
        start: u64,
    },
    /// A confirmed segment ended (unpadded).
    Ended(Segment),
}

/// Turns chunk probabilities into speech events. One per stream; reset after a gap.
#[derive(Debug, Clone)]
pub struct Segmenter {
    rules: SegmentRules,
    chunk: u64,
    /// Start of the current segment, while triggered.
    start: Option<u64>,
    /// Where the current silence began, while triggered and below `neg_threshold`.
    temp_end: Option<u64>,
    confirmed: bool,
}

impl Segmenter {
    /// A segmenter for chunks of `chunk` samples.
    pub fn new(rules: SegmentRules, chunk: usize) -> Self {
        Self { rules, chunk: chunk as u64, start: None, temp_end: None, confirmed: false }
    }

    /// The rules in force.
    pub fn rules(&self) -> &SegmentRules {
        &self.rules
    }

    /// Whether a confirmed segment is open.
    pub fn is_speaking(&self) -> bool {
        self.confirmed
    }

    /// The probability of chunk `index` (counted from the start of the stream).
    pub fn handle(&mut self, index: u64, p: f32) -> Option<SpeechEvent> {
        let pos = index * self.chunk;
        if p >= self.rules.threshold {
            self.temp_end = None;
        }
        let Some(start) = self.start else {
            if p >= self.rules.threshold {
                self.start = Some(pos);
            }
            return None;
        };
        if p < self.rules.neg_threshold {
            let temp_end = *self.temp_end.get_or_insert(pos);
            if pos - temp_end >= self.rules.min_silence {
                return self.close(Segment { start, end: temp_end });
            }
        }
        // Speech so far: up to the silence that began, or through this chunk.
        let end = self.temp_end.unwrap_or(pos + self.chunk);
        if !self.confirmed && end.saturating_sub(start) > self.rules.min_speech {
            self.confirmed = true;
            return Some(SpeechEvent::Confirmed { start });
        }
        None
    }

    /// The stream ended (or broke off) after `total` samples: closes an open segment there.
    pub fn finish(&mut self, total: u64) -> Option<SpeechEvent> {
        let start = self.start?;
        // Silero ends a segment still open at the end of the audio there, pending silence or not.
        self.close(Segment { start, end: total.max(start) })
    }

    fn close(&mut self, segment: Segment) -> Option<SpeechEvent> {
        let long_enough = segment.end - segment.start > self.rules.min_speech;
        self.start = None;
        self.temp_end = None;
        let was_confirmed = std::mem::take(&mut self.confirmed);
        (long_enough || was_confirmed).then_some(SpeechEvent::Ended(segment))
    }
}

/// Silero's padding of finished segments: `pad` on each side, but a gap shorter than two pads
/// is split in the middle; nothing goes below 0 or past `total`.
pub fn pad_segments(segments: &[Segment], pad: u64, total: u64) -> Vec<Segment> {
    let mut out: Vec<Segment> = segments.to_vec();
    let n = out.len();
    for i in 0..n {
        if i == 0 {
            out[i].start = out[i].start.saturating_sub(pad);
        }
        if i + 1 < n {
            let silence = out[i + 1].start.saturating_sub(out[i].end);
            if silence < 2 * pad {
                out[i].end += silence / 2;
                out[i + 1].start = out[i + 1].start.saturating_sub(silence / 2);
            } else {
                out[i].end = (out[i].end + pad).min(total);
                out[i + 1].start = out[i + 1].start.saturating_sub(pad);
            }
        } else {
            out[i].end = (out[i].end + pad).min(total);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK: usize = 512;

    /// Segments as Silero's offline function would give them for `probs`.
    fn segments(probs: &[f32]) -> Vec<Segment> {
        let mut s = Segmenter::new(SegmentRules::silero(), CHUNK);
        let mut out = Vec::new();
        for (i, p) in probs.iter().enumerate() {
            if let Some(SpeechEvent::Ended(seg)) = s.handle(i as u64, *p) {
                out.push(seg);
            }
        }
        let total = (probs.len() * CHUNK) as u64;
        if let Some(SpeechEvent::Ended(seg)) = s.finish(total) {
            out.push(seg);
        }
        out
    }

    #[test]
    fn the_framer_carries_the_last_64_samples_as_context() {
        let mut f = Framer::new(4, 2);
        let mut got = Vec::new();
        f.process(&[1.0, 2.0, 3.0], |i, x| got.push((i, x.to_vec())));
        f.process(&[4.0, 5.0, 6.0, 7.0, 8.0], |i, x| got.push((i, x.to_vec())));
        assert_eq!(
            got,
            vec![(0, vec![0.0, 0.0, 1.0, 2.0, 3.0, 4.0]), (1, vec![3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),]
        );
        assert_eq!(f.pending(), 0);
        f.reset();
        f.process(&[9.0, 9.0, 9.0, 9.0], |i, x| got.push((i, x.to_vec())));
        assert_eq!(got[2], (0, vec![0.0, 0.0, 9.0, 9.0, 9.0, 9.0]));
    }

    #[test]
    fn the_last_partial_chunk_is_padded_with_zeros() {
        let mut f = Framer::new(4, 2);
        let mut got = Vec::new();
        f.process(&[1.0, 2.0, 3.0, 4.0, 5.0], |_, _| {});
        f.flush(|i, x| got.push((i, x.to_vec())));
        assert_eq!(got, vec![(1, vec![3.0, 4.0, 5.0, 0.0, 0.0, 0.0])]);
        f.flush(|_, _| panic!("nothing should be left"));
    }

    #[test]
    fn speech_longer_than_the_minimum_is_one_segment() {
        // 10 chunks of speech (320 ms) between silences.
        let mut probs = vec![0.0; 5];
        probs.extend([0.9; 10]);
        probs.extend([0.0; 10]);
        assert_eq!(segments(&probs), vec![Segment { start: 5 * 512, end: 15 * 512 }]);
    }

    #[test]
    fn a_blip_shorter_than_250_ms_is_dropped() {
        let mut probs = vec![0.0; 5];
        probs.extend([0.9; 7]); // 224 ms
        probs.extend([0.0; 10]);
        assert!(segments(&probs).is_empty());
    }

    #[test]
    fn a_pause_shorter_than_100_ms_does_not_split_speech() {
        let mut probs = vec![0.9; 10];
        probs.extend([0.1; 3]); // 96 ms
        probs.extend([0.9; 10]);
        probs.extend([0.0; 10]);
        assert_eq!(segments(&probs), vec![Segment { start: 0, end: 23 * 512 }]);
    }

    #[test]
    fn a_probability_between_the_thresholds_neither_starts_nor_ends_speech() {
        let mut probs = vec![0.4; 5];
        probs.extend([0.9; 10]);
        probs.extend([0.4; 20]); // above neg_threshold: still speech
        probs.extend([0.0; 10]);
        assert_eq!(segments(&probs), vec![Segment { start: 5 * 512, end: 35 * 512 }]);
    }

    #[test]
    fn speech_is_confirmed_once_it_is_longer_than_the_minimum() {
        let mut s = Segmenter::new(SegmentRules::silero(), CHUNK);
        let mut events = Vec::new();
        for i in 0..12 {
            if let Some(e) = s.handle(i, 0.9) {
                events.push((i, e));
            }
        }
        // 8 chunks = 256 ms > 250 ms: confirmed at the 8th chunk (index 7).
        assert_eq!(events, vec![(7, SpeechEvent::Confirmed { start: 0 })]);
        assert!(s.is_speaking());
        for i in 12..20 {
            if let Some(e) = s.handle(i, 0.0) {
                events.push((i, e));
            }
        }
        assert_eq!(events[1], (16, SpeechEvent::Ended(Segment { start: 0, end: 12 * 512 })));
        assert!(!s.is_speaking());
    }

    #[test]
    fn speech_still_open_at_the_end_is_closed_there() {
        let probs = vec![0.9; 20];
        assert_eq!(segments(&probs), vec![Segment { start: 0, end: 20 * 512 }]);
    }

    #[test]
    fn padding_splits_short_gaps_and_stays_inside_the_stream() {
        let segs = [Segment { start: 100, end: 1000 }, Segment { start: 1400, end: 3000 }];
        assert_eq!(
            pad_segments(&segs, 480, 3200),
            vec![Segment { start: 0, end: 1200 }, Segment { start: 1200, end: 3200 }]
        );
        let far = [Segment { start: 1000, end: 2000 }, Segment { start: 5000, end: 6000 }];
        assert_eq!(
            pad_segments(&far, 480, 10_000),
            vec![Segment { start: 520, end: 2480 }, Segment { start: 4520, end: 6480 }]
        );
    }
}
