//! ALSA capture without sound hardware: ALSA's `file` plugin over the `null` PCM reads raw
//! samples from a file, as a microphone would deliver them (crates.md §3.5).
//!
//! One test function: ALSA reads `ALSA_CONFIG_PATH` once per process, before any device opens.

use std::time::{Duration, Instant};

use roomsense_audio::{
    AlsaDevice, Analysis, AudioSource, CaptureSource, Pipeline, Read, SegmentRules, VadModel,
};

fn tone_raw(rate: u32, hz: f64, seconds: f64, amplitude: f64) -> Vec<u8> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .flat_map(|i| {
            let v =
                amplitude * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin();
            ((v * 32767.0) as i16).to_le_bytes()
        })
        .collect()
}

#[test]
fn alsa_capture_through_the_file_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("tone.raw");
    // 2 s of a 1 kHz tone at half scale, at 44.1 kHz: resampled, it must still read −9 dBFS.
    std::fs::write(&raw, tone_raw(44_100, 1000.0, 2.0, 0.5)).unwrap();
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            "pcm.fakemic {{\n type file\n slave.pcm {{ type null }}\n file \"/dev/null\"\n infile \"{}\"\n format \"raw\"\n}}\n",
            raw.display()
        ),
    )
    .unwrap();
    // SAFETY: the only test of this binary sets the variable before any thread reads the
    // environment or opens ALSA.
    unsafe { std::env::set_var("ALSA_CONFIG_PATH", &conf) };

    // A device that is not there: a clear error naming it, and the source keeps trying.
    let mut absent =
        CaptureSource::spawn(AlsaDevice::new("nosuchmic", None), Duration::from_millis(100));
    let err = loop {
        match absent.read() {
            Err(e) => break e.to_string(),
            Ok(Read::Idle) => {}
            Ok(other) => panic!("an absent device gave {other:?}"),
        }
    };
    assert!(err.starts_with("microphone nosuchmic: cannot open ALSA capture device"), "{err}");
    assert!(err.ends_with("(retrying every 100 ms)"), "{err}");
    drop(absent);

    // The fake microphone at the rate its file was written at.
    let mut mic =
        CaptureSource::spawn(AlsaDevice::new("fakemic", Some(44_100)), Duration::from_millis(100));
    let model = VadModel::builtin().unwrap();
    let mut pipeline = Pipeline::new(&model, SegmentRules::silero(), 16_000).unwrap();
    let mut analysis = Analysis::default();
    let mut frames = 0usize;
    let deadline = Instant::now() + Duration::from_secs(30);
    while frames < 44_100 * 2 {
        assert!(Instant::now() < deadline, "only {frames} frames in 30 s");
        match mic.read().unwrap() {
            Read::Audio(block) => {
                assert_eq!(block.rate_hz, 44_100);
                assert_eq!(block.gap_before, frames == 0, "only the first block starts a stream");
                frames += block.samples.len();
                pipeline.process(&block, &mut analysis);
            }
            Read::Idle => {}
            Read::End => panic!("a device does not end"),
        }
    }
    assert_eq!(mic.dropped(), 0);
    // Second 1 of 2 is all tone: RMS of a half-scale sine is −9.03 dBFS; A-weighting is 0 dB at 1 kHz.
    let level = analysis.levels[1];
    assert!((level.rms_dbfs + 9.03).abs() < 0.1, "{level:?}");
    assert!((level.a_weighted_dbfs + 9.03).abs() < 0.2, "{level:?}");
    // A steady tone is not speech.
    assert!(analysis.speech.is_empty(), "{:?}", analysis.speech);
}
