//! roomsense end to end: the real binary and the real core against a real Mosquitto, and a real
//! Home Assistant as the discovery client.

/// `roomsense audio`: a WAV-file microphone → voice ON then OFF on a real broker; `audio vad`.
mod audio;
/// `roomsense audio` on ALSA's `file` plugin as a fake microphone (needs `--features alsa`).
#[cfg(feature = "alsa")]
mod audio_alsa;
/// `roomsense check-config` on every kind of bad file.
mod check_config;
/// `roomsense demo` on a real broker: availability, discovery, the management API, shutdown.
mod demo;
/// Home Assistant Core adopts the demo node, follows its availability, survives its own restart.
mod home_assistant;
/// The MQTT link: availability per service, restored subscriptions, newest-wins state, the
/// outbox across a network partition and across a restart.
mod link;
/// `roomsense node` under a stand-in for systemd: readiness and a watchdog fed by health.
mod node;
