use roomsense_audio::{Read, SourceSpec, analyze_file};

use crate::fixtures::{dir, model, rules, wav_bytes};

#[test]
fn a_compressed_wav_is_refused_with_its_name_and_encoding() {
    let Some(d) = dir() else { return };
    let path = d.join("pygame_secosmic_lo.wav");
    let err = analyze_file(&path, model(), rules()).unwrap_err().to_string();
    assert!(err.contains("pygame_secosmic_lo.wav"), "{err}");
    assert!(err.contains("format tag 2 (MS ADPCM)"), "{err}");
}

#[test]
fn a_truncated_file_says_so_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.wav");
    let mut bytes = wav_bytes(&vec![0.1; 16_000], 16_000);
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&path, bytes).unwrap();
    let err = analyze_file(&path, model(), rules()).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: truncated", path.display())), "{err}");
    assert!(err.contains("declares 32000 bytes"), "{err}");
}

#[test]
fn a_missing_or_foreign_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.wav");
    let err = analyze_file(&missing, model(), rules()).unwrap_err().to_string();
    assert!(err.contains("nope.wav") && err.contains("No such file"), "{err}");
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "hello").unwrap();
    let err = analyze_file(&text, model(), rules()).unwrap_err().to_string();
    assert!(err.ends_with("notes.wav: not a WAV file (no RIFF/WAVE header)"), "{err}");
}

#[test]
fn a_file_microphone_loops_and_a_bad_one_fails_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.wav");
    std::fs::write(&path, wav_bytes(&[0.5; 800], 16_000)).unwrap();
    let spec = SourceSpec::WavFile { path: path.clone() };
    let mut source = spec.open().unwrap();
    let mut total = 0;
    // Paced: 2400 samples are 150 ms of audio, so this takes that long.
    while total < 2400 {
        match source.read().unwrap() {
            Read::Audio(b) => total += b.samples.len(),
            other => panic!("a looped file should not give {other:?}"),
        }
    }
    std::fs::write(&path, b"garbage").unwrap();
    let err = spec.open().err().unwrap().to_string();
    assert!(err.contains("not a WAV file"), "{err}");
}
