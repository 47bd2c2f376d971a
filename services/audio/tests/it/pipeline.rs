use roomsense_audio::{Analysis, AudioBlock, Pipeline, Resampler, SpeechEvent};

use crate::fixtures::{dir, model, read_wav, rules};

/// Speech events of `samples` fed in `block`-sized blocks at `rate`.
fn events(samples: &[f32], rate: u32, block: usize) -> Vec<SpeechEvent> {
    let mut p = Pipeline::new(model(), rules(), 16_000).unwrap();
    let mut a = Analysis::default();
    for (i, chunk) in samples.chunks(block).enumerate() {
        p.process(
            &AudioBlock { samples: chunk.to_vec(), rate_hz: rate, gap_before: i == 0 },
            &mut a,
        );
    }
    p.finish(&mut a);
    a.speech
}

fn upsample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    let mut r = Resampler::new(from, to);
    let mut out = Vec::new();
    r.process(samples, &mut out);
    out
}

#[test]
fn speech_at_48_and_44_1_khz_is_found_as_at_16_khz() {
    let Some(d) = dir() else { return };
    let (speech, rate) = read_wav(&d.join("arctic_a0007.wav"));
    assert_eq!(rate, 16_000);
    let reference = events(&speech, 16_000, 1600);
    assert_eq!(reference.len(), 2, "{reference:?}");
    for to in [48_000, 44_100] {
        let resampled = upsample(&speech, 16_000, to);
        let got = events(&resampled, to, to as usize / 10);
        assert_eq!(got.len(), reference.len(), "{to} Hz: {got:?}");
        for (a, b) in got.iter().zip(&reference) {
            let (SpeechEvent::Ended(a), SpeechEvent::Ended(b)) = (a, b) else { continue };
            // Within two chunks (64 ms) of the 16 kHz answer.
            assert!(
                a.start.abs_diff(b.start) <= 1024 && a.end.abs_diff(b.end) <= 1024,
                "{to} Hz: {a:?} vs {b:?}"
            );
        }
    }
}

#[test]
fn block_size_does_not_change_what_is_found() {
    let Some(d) = dir() else { return };
    let (speech, _) = read_wav(&d.join("arctic_a0007.wav"));
    assert_eq!(events(&speech, 16_000, 160), events(&speech, 16_000, 7777));
}

#[test]
fn a_gap_ends_the_open_segment_and_starts_a_fresh_stream() {
    let Some(d) = dir() else { return };
    let (speech, _) = read_wav(&d.join("arctic_a0007.wav"));
    let mut p = Pipeline::new(model(), rules(), 16_000).unwrap();
    let mut a = Analysis::default();
    // Half the sentence, then the stream breaks, then the whole sentence again.
    let half = &speech[..speech.len() / 2];
    p.process(&AudioBlock { samples: half.to_vec(), rate_hz: 16_000, gap_before: true }, &mut a);
    assert!(p.is_speaking());
    p.process(&AudioBlock { samples: speech.clone(), rate_hz: 16_000, gap_before: true }, &mut a);
    p.finish(&mut a);
    let ended: Vec<_> = a.speech.iter().filter(|e| matches!(e, SpeechEvent::Ended(_))).collect();
    // The first half's speech ended at the break, at the end of the half.
    let SpeechEvent::Ended(first) = ended[0] else { unreachable!() };
    assert_eq!(first.end, half.len() as u64);
    // After the break, positions restart: the second pass finds what a fresh stream finds.
    let fresh = events(&speech, 16_000, 1600);
    assert_eq!(&a.speech[a.speech.len() - fresh.len()..], &fresh[..]);
}
