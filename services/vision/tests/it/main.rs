//! roomsense-vision's integration tests.

/// The shipped person detector on real photographs: the known answers of MODELS.md, and
/// corrupt or mismatched model files refused with their file and manifest entry named.
mod harness;
