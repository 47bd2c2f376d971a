//! Integration tests of roomsense-ble (one binary, `autotests = false`).

// The shared test vectors (`shared/testdata/ble/vectors.jsonl`) as one table-driven test per kind.
mod vectors;
