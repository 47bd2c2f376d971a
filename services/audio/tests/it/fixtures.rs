use std::path::PathBuf;
use std::sync::OnceLock;

use roomsense_audio::{SegmentRules, VadModel, WavReader};

/// The directory `tests/audio/fetch-fixtures` filled. Fails, loudly, without it: these tests
/// must never be skipped by accident. `ROOMSENSE_SKIP_AUDIO_FIXTURES=1` skips them on purpose,
/// and says so.
pub(crate) fn dir() -> Option<PathBuf> {
    if std::env::var_os("ROOMSENSE_SKIP_AUDIO_FIXTURES").is_some() {
        eprintln!("audio recordings: SKIPPED because ROOMSENSE_SKIP_AUDIO_FIXTURES is set");
        return None;
    }
    match std::env::var_os("ROOMSENSE_AUDIO_FIXTURES") {
        Some(d) => {
            let d = PathBuf::from(d);
            assert!(
                d.join("pyannote_sample.wav").is_file(),
                "ROOMSENSE_AUDIO_FIXTURES={} holds no pyannote_sample.wav: run tests/audio/fetch-fixtures",
                d.display()
            );
            Some(d)
        }
        None => panic!(
            "ROOMSENSE_AUDIO_FIXTURES is not set: run tests/run (it fetches the recordings), or \
             ROOMSENSE_AUDIO_FIXTURES=$(tests/audio/fetch-fixtures | tail -n1) cargo test -p roomsense-audio"
        ),
    }
}

/// The shipped model, loaded once per test binary.
pub(crate) fn model() -> &'static VadModel {
    static MODEL: OnceLock<VadModel> = OnceLock::new();
    MODEL.get_or_init(|| VadModel::builtin().expect("the shipped model should load"))
}

pub(crate) fn rules() -> SegmentRules {
    SegmentRules::silero()
}

/// A WAV file's samples (mono) and rate.
pub(crate) fn read_wav(path: &std::path::Path) -> (Vec<f32>, u32) {
    let mut r = WavReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while r.read_frames(4096, &mut out).unwrap() > 0 {}
    (out, r.format().rate_hz)
}

/// 16-bit mono PCM WAV bytes.
pub(crate) fn wav_bytes(samples: &[f32], rate: u32) -> Vec<u8> {
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
        .collect();
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 2).to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&data);
    v
}

/// White noise and pink noise (Paul Kellet's filter), seeded: the same every run.
pub(crate) fn noise(n: usize, pink: bool, amplitude: f32) -> Vec<f32> {
    let mut state = 0x9E37_79B9u32;
    let mut white = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32 * 2.0 - 1.0
    };
    let mut b = [0.0f32; 7];
    (0..n)
        .map(|_| {
            let w = white();
            if !pink {
                return w * amplitude;
            }
            b[0] = 0.99886 * b[0] + w * 0.0555179;
            b[1] = 0.99332 * b[1] + w * 0.0750759;
            b[2] = 0.96900 * b[2] + w * 0.153_852;
            b[3] = 0.86650 * b[3] + w * 0.3104856;
            b[4] = 0.55000 * b[4] + w * 0.5329522;
            b[5] = -0.7616 * b[5] - w * 0.0168980;
            let p = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
            b[6] = w * 0.115926;
            p * 0.11 * amplitude
        })
        .collect()
}
