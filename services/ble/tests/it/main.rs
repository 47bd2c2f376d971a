//! Integration tests of roomsense-ble (one binary, `autotests = false`).

// The shared test vectors (`shared/testdata/ble/vectors.jsonl`) as one table-driven test per kind.
mod vectors;
// Property tests: the parsers, the tracker and the settings never panic on any input.
mod props;
// A real-world-shaped trace through the writer, the replay and the tracker.
mod replay;
