use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use roomsense_tests::mosquitto::Mosquitto;
use roomsense_tests::process::{roomsense, terminate};

/// The CMU ARCTIC sentence the demo plays (16 kHz, 16-bit mono, 4 s).
pub(crate) fn arctic() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../services/audio/assets/arctic_a0007.wav")
}

/// The sentence's samples (after its 44-byte header).
pub(crate) fn arctic_pcm() -> Vec<i16> {
    let bytes = std::fs::read(arctic()).unwrap();
    assert_eq!(&bytes[36..40], b"data", "arctic_a0007.wav should have a plain 44-byte header");
    bytes[44..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// A 16 kHz 16-bit mono WAV of `samples`.
fn wav(samples: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut v = b"RIFF".to_vec();
    v.extend((36 + data.len() as u32).to_le_bytes());
    v.extend(b"WAVEfmt ");
    v.extend(16u32.to_le_bytes());
    v.extend([1, 0, 1, 0]);
    v.extend(16_000u32.to_le_bytes());
    v.extend(32_000u32.to_le_bytes());
    v.extend([2, 0, 16, 0]);
    v.extend(b"data");
    v.extend((data.len() as u32).to_le_bytes());
    v.extend(data);
    v
}

/// Starts `roomsense audio` on `broker` with `mics` (TOML lines under `[audio]`) and `env`,
/// logging to `dir/stderr`.
pub(crate) fn audio(
    broker: &Mosquitto,
    dir: &Path,
    node: &str,
    mics: &str,
    env: &[(&str, &Path)],
) -> Child {
    let config = dir.join("roomsense.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nid = \"{node}\"\nroom = \"lab\"\nstate_dir = \"{}\"\n\n[mqtt]\nport = {}\n\n\
             [audio]\nvoice_hold_s = 1\nlevel_window_ms = 1000\n{mics}",
            dir.join("state").display(),
            broker.port()
        ),
    )
    .unwrap();
    roomsense()
        .arg("--config")
        .arg(&config)
        .arg("audio")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
        .spawn()
        .expect("roomsense audio should start")
}

#[test]
fn a_spoken_sentence_turns_voice_on_then_off_and_a_broken_mic_does_not_stop_the_service() {
    let dir = tempfile::tempdir().unwrap();
    // The sentence, then 8 s of silence; the file microphone loops it in real time.
    let mut samples = arctic_pcm();
    samples.extend(std::iter::repeat_n(0i16, 16_000 * 8));
    let speech = dir.path().join("speech.wav");
    std::fs::write(&speech, wav(&samples)).unwrap();
    let broken = dir.path().join("broken.wav");
    std::fs::write(&broken, b"RIFF....WAVEjunk").unwrap();

    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/#", "homeassistant/device/#"]);
    let child = audio(
        &broker,
        dir.path(),
        "a1",
        &format!(
            "[audio.mics.desk]\nfile = \"{}\"\n[audio.mics.broken]\nfile = \"{}\"\n",
            speech.display(),
            broken.display()
        ),
        &[],
    );
    sub.wait_for("online", Duration::from_secs(30), |t, p| {
        t == "roomsense/a1/audio/status" && p == "online"
    });
    let (_, discovery) = sub.wait_for("discovery", Duration::from_secs(10), |t, _| {
        t == "homeassistant/device/a1_audio/config"
    });
    let discovery: serde_json::Value = serde_json::from_str(&discovery).unwrap();
    assert_eq!(discovery["device"]["identifiers"][0], "roomsense_a1");
    let c = &discovery["components"];
    assert_eq!(c["roomsense_a1_audio_desk_voice"]["platform"], "binary_sensor");
    assert_eq!(c["roomsense_a1_audio_desk_voice"]["state_topic"], "roomsense/a1/audio/desk/voice");
    assert_eq!(c["roomsense_a1_audio_desk_level"]["platform"], "sensor");
    assert_eq!(c["roomsense_a1_audio_broken_voice"]["platform"], "binary_sensor");

    sub.wait_for("voice ON", Duration::from_secs(20), |t, p| {
        t == "roomsense/a1/audio/desk/voice" && p == "ON"
    });
    // The sentence ends after ~3.7 s; the hold is 1 s.
    let n_on =
        sub.messages().iter().position(|(t, p)| t.ends_with("desk/voice") && p == "ON").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let m = sub.messages();
        if m[n_on..].iter().any(|(t, p)| t == "roomsense/a1/audio/desk/voice" && p == "OFF") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no voice OFF after ON: {m:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, level) = sub
        .wait_for("a level", Duration::from_secs(5), |t, _| t == "roomsense/a1/audio/desk/level");
    let level: f64 = level.parse().expect("the level should be a plain number");
    assert!((-121.0..0.0).contains(&level), "{level}");
    let (_, attributes) = sub.wait_for("level attributes", Duration::from_secs(5), |t, _| {
        t == "roomsense/a1/audio/desk/level/attributes"
    });
    let attributes: serde_json::Value = serde_json::from_str(&attributes).unwrap();
    assert!(attributes["rms_dbfs"].is_number() && attributes["a_weighted_dbfs"].is_number());
    // The broken microphone never spoke; the service is still up and says why.
    assert!(!sub.messages().iter().any(|(t, p)| t.ends_with("broken/voice") && p == "ON"));
    terminate(child, Duration::from_secs(10));
    let log = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert!(log.contains("microphone failed"), "{log}");
    assert!(log.contains("broken.wav"), "{log}");
    assert_eq!(broker.retained("roomsense/a1/audio/status").as_deref(), Some("offline"));
}

#[test]
fn audio_vad_prints_the_segments_of_a_file_as_json() {
    let out = roomsense().args(["audio", "vad"]).arg(arctic()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["file"].as_str().unwrap().ends_with("arctic_a0007.wav"));
    assert!(report["rtf"].as_f64().unwrap() > 0.0);
    let segments = report["segments"].as_array().unwrap();
    assert!(!segments.is_empty(), "{report}");
    for s in segments {
        let (a, b) = (s["start_s"].as_f64().unwrap(), s["end_s"].as_f64().unwrap());
        assert!(0.0 <= a && a < b && b <= 4.0, "{report}");
    }
    assert_eq!(report.as_object().unwrap().len(), 3, "{report}");
}

#[test]
fn audio_vad_refuses_a_file_that_is_not_a_wav_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("song.mp3");
    std::fs::write(&path, b"ID3\x03\x00 not audio we read").unwrap();
    let out = roomsense().args(["audio", "vad"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("song.mp3: not a WAV file"), "{err}");
}
