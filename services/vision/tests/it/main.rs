//! roomsense-vision's integration tests.

/// GStreamer sources: videotestsrc and a photo as a stream, a missing element, a camera
/// that goes away and comes back, end to end through Mosquitto.
#[cfg(feature = "gstreamer")]
mod gstreamer;
/// The shipped person detector on real photographs: the known answers of MODELS.md, and
/// corrupt or mismatched model files refused with their file and manifest entry named.
mod harness;
/// The service through a real Mosquitto: counts, zones, discovery, rejected frames, a refused
/// model that is retried, snapshots only when on.
mod service;
