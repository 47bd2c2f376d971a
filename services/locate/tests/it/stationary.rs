//! Replay of a real ESPresense capture (v3 payloads from 10 nodes, companion's test data).

use std::path::Path;

use roomsense_locate::{EstimateLine, EstimatorKind, Rejection, replay_files};

fn capture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/espresense-companion-stationary-capture/stationary_7_14.75_1.25.jsonp")
}

#[test]
fn a_real_capture_replays_deterministically_and_unknown_nodes_are_counted() {
    let input = capture();
    if !input.exists() {
        eprintln!("skipped: {} not found", input.display());
        return;
    }
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/companion-stationary.toml");
    let dir = std::env::temp_dir().join(format!("roomsense-locate-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (a, b) = (dir.join("a.jsonl"), dir.join("b.jsonl"));
    let stats =
        replay_files(&config, &input, &a, Some(EstimatorKind::RoomFilter)).expect("replays");
    replay_files(&config, &input, &b, Some(EstimatorKind::RoomFilter)).expect("replays");
    let (out_a, out_b) = (std::fs::read(&a).expect("written"), std::fs::read(&b).expect("written"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out_a, out_b, "same capture, same bytes");
    assert_eq!(stats.bad_lines, 0);
    assert!(stats.counters.rejected(Rejection::UnknownNode) > 0, "office_alt has no coordinates");
    let last: EstimateLine = serde_json::from_slice(
        out_a.split(|&c| c == b'\n').rfind(|l| !l.is_empty()).expect("a line"),
    )
    .expect("json");
    assert_eq!(last.id, "watch:darrell");
    assert_eq!(last.room, "unknown", "the house has no rooms");
    eprintln!("final fix {:?},{:?},{:?} (ground truth 7, 14.75, 1.25)", last.x, last.y, last.z);
}
