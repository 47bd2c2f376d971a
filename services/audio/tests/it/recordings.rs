use roomsense_audio::analyze_file;

use crate::fixtures::{dir, model, rules};

/// Speech intervals of an RTTM file (union over speakers), in seconds.
fn rttm(text: &str) -> Vec<(f64, f64)> {
    text.lines()
        .filter(|l| l.starts_with("SPEAKER"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let start: f64 = f[3].parse().unwrap();
            let duration: f64 = f[4].parse().unwrap();
            (start, start + duration)
        })
        .collect()
}

fn inside(intervals: &[(f64, f64)], t: f64) -> bool {
    intervals.iter().any(|(a, b)| t >= *a && t < *b)
}

#[test]
fn the_two_speaker_sample_agrees_with_its_ground_truth_on_97_percent_of_frames() {
    let Some(d) = dir() else { return };
    let report = analyze_file(&d.join("pyannote_sample.wav"), model(), rules()).unwrap();
    let truth = rttm(&std::fs::read_to_string(d.join("pyannote_sample.rttm")).unwrap());
    let ours: Vec<(f64, f64)> = report.segments.iter().map(|s| (s.start_s, s.end_s)).collect();
    // 10 ms frames over the whole file, judged at their centres.
    let frames = (report.duration_s * 100.0) as usize;
    let (mut agree, mut speech, mut hit, mut false_alarm) = (0, 0, 0, 0);
    for i in 0..frames {
        let t = (i as f64 + 0.5) / 100.0;
        let (a, b) = (inside(&truth, t), inside(&ours, t));
        agree += usize::from(a == b);
        speech += usize::from(a);
        hit += usize::from(a && b);
        false_alarm += usize::from(b && !a);
    }
    let accuracy = agree as f64 / frames as f64;
    let recall = hit as f64 / speech as f64;
    eprintln!(
        "pyannote sample: accuracy {accuracy:.4}, recall {recall:.4}, false alarms {false_alarm} of {} frames, \
         {} segments, rtf {:.4}",
        frames - speech,
        ours.len(),
        report.rtf
    );
    assert_eq!(frames, 3000);
    assert!(accuracy >= 0.97, "frame accuracy {accuracy:.4} < 0.97; segments {ours:?}");
    // Nobody speaks before 6.69 s: nothing may be found there.
    assert!(ours.iter().all(|(a, _)| *a > 6.0), "{ours:?}");
}

#[test]
fn the_arctic_sentence_is_one_stretch_of_speech() {
    let Some(d) = dir() else { return };
    let report = analyze_file(&d.join("arctic_a0007.wav"), model(), rules()).unwrap();
    let speech: f64 = report.segments.iter().map(|s| s.end_s - s.start_s).sum();
    let mean = report.probabilities.iter().sum::<f32>() / report.probabilities.len() as f32;
    eprintln!("arctic_a0007: {:?}, mean p {mean:.3}", report.segments);
    assert!(!report.segments.is_empty());
    // 4 s with short silences at both ends: most of it is speech.
    assert!(speech > 2.5, "only {speech:.2} s of speech: {:?}", report.segments);
    assert!(mean > 0.6, "mean probability {mean}");
}

#[test]
fn music_and_sound_effects_are_not_speech() {
    let Some(d) = dir() else { return };
    for name in ["house_lo", "boom", "car_door", "punch", "whiff"] {
        let report = analyze_file(&d.join(format!("pygame_{name}.wav")), model(), rules()).unwrap();
        let max = report.probabilities.iter().copied().fold(0.0f32, f32::max);
        eprintln!("{name}: max p {max:.3}");
        assert!(report.segments.is_empty(), "{name}: {:?}", report.segments);
        assert!(max < 0.2, "{name}: speech probability reached {max}");
    }
}

#[test]
fn noise_and_silence_keep_the_speech_probability_low() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("white noise", crate::fixtures::noise(16_000 * 10, false, 0.3)),
        ("pink noise", crate::fixtures::noise(16_000 * 10, true, 0.5)),
        ("quiet white noise", crate::fixtures::noise(16_000 * 10, false, 0.003)),
        ("digital silence", vec![0.0; 16_000 * 10]),
    ];
    for (name, samples) in cases {
        let path = dir.path().join("x.wav");
        std::fs::write(&path, crate::fixtures::wav_bytes(&samples, 16_000)).unwrap();
        let report = analyze_file(&path, model(), rules()).unwrap();
        let max = report.probabilities.iter().copied().fold(0.0f32, f32::max);
        eprintln!("{name}: max p {max:.3}");
        assert!(report.segments.is_empty(), "{name}: {:?}", report.segments);
        assert!(max < 0.2, "{name}: speech probability reached {max}");
    }
}
