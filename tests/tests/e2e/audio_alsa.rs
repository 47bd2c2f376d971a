use std::time::Duration;

use roomsense_tests::mosquitto::Mosquitto;
use roomsense_tests::process::terminate;

use crate::audio::{arctic_pcm, audio};

/// The sentence at 48 kHz (linear interpolation: its images lie above 8 kHz, where the
/// service's own low-pass removes them anyway).
fn at_48_khz(pcm: &[i16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pcm.len() * 6);
    for w in pcm.windows(2) {
        let (a, b) = (f32::from(w[0]), f32::from(w[1]));
        for k in 0..3 {
            let v = a + (b - a) * k as f32 / 3.0;
            out.extend((v as i16).to_le_bytes());
        }
    }
    out
}

#[test]
fn a_fake_alsa_microphone_at_48_khz_turns_voice_on_then_off() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("mic.raw");
    std::fs::write(&raw, at_48_khz(&arctic_pcm())).unwrap();
    // ALSA's user-space `file` plugin reading raw samples over the `null` PCM: a microphone
    // without sound hardware (after the file it gives silence, and it is not paced).
    let asound = dir.path().join("asound.conf");
    std::fs::write(
        &asound,
        format!(
            "pcm.fakemic {{\n  type file\n  slave.pcm {{ type null }}\n  file \"/dev/null\"\n  \
             infile \"{}\"\n  format \"raw\"\n}}\n",
            raw.display()
        ),
    )
    .unwrap();
    let broker = Mosquitto::start();
    let sub = broker.subscribe(&["roomsense/#"]);
    let child = audio(
        &broker,
        dir.path(),
        "al1",
        "[audio.mics.fake]\ndevice = \"fakemic\"\nrate_hz = 48000\n\
         [audio.mics.gone]\ndevice = \"nosuchmic\"\n",
        // ALSA reads its configuration from here instead of the system's.
        &[("ALSA_CONFIG_PATH", &asound)],
    );
    sub.wait_for("voice ON", Duration::from_secs(30), |t, p| {
        t == "roomsense/al1/audio/fake/voice" && p == "ON"
    });
    let on =
        sub.messages().iter().position(|(t, p)| t.ends_with("fake/voice") && p == "ON").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let m = sub.messages();
        if m[on..].iter().any(|(t, p)| t == "roomsense/al1/audio/fake/voice" && p == "OFF") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no voice OFF after ON: {m:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    terminate(child, Duration::from_secs(10));
    let log = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert!(log.contains("microphone open") && log.contains("48000"), "{log}");
    // The absent microphone is reported by name, and retried; the service ran on regardless.
    assert!(log.contains("microphone nosuchmic") && log.contains("retrying every"), "{log}");
}
