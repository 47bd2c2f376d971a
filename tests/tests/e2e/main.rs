//! roomsense end to end: the real binary and the real core against a real Mosquitto, and a real
//! Home Assistant as the discovery client.

/// `roomsense audio`: a WAV-file microphone → voice ON then OFF on a real broker; `audio vad`.
mod audio;
/// `roomsense audio` on ALSA's `file` plugin as a fake microphone (needs `--features alsa`).
#[cfg(feature = "alsa")]
mod audio_alsa;
/// `roomsense ble`: BlueZ (python-dbusmock on a private bus) and trace replay → Mosquitto, as an
/// ESPresense node: ids, distances, gating, `/set`, the node beacon, a bluetoothd restart, and
/// the watchdog fed only while adverts arrive.
mod ble;
/// The bundled broker as `roomsense broker init` writes it, on the real Mosquitto: logins,
/// ACLs, TLS, persistence, the bridge; `roomsense doctor` and nmap against it.
mod broker;
/// `roomsense check-config` on every kind of bad file.
mod check_config;
/// `roomsense demo` on a real broker: availability, discovery, the management API, shutdown.
mod demo;
/// The GPIO service in the demo: a relay switched over MQTT, a bad command refused, the
/// simulated PIR tripping on its own.
mod gpio;
/// Home Assistant Core adopts the demo node, follows its availability, survives its own restart.
mod home_assistant;
/// The MQTT link: availability per service, restored subscriptions, newest-wins state, the
/// outbox across a network partition and across a restart.
mod link;
/// `roomsense locate` on a real capture: rooms and attributes, Home Assistant discovery, bad
/// reports counted, the lease between two locators, calibration applied only on request;
/// `locate replay` and `import-companion`.
mod locate;
/// `roomsense node` under a stand-in for systemd: readiness and a watchdog fed by health.
mod node;
/// `roomsense rooms`: the scripted walk's occupancy timeline, automations without Home
/// Assistant, config errors.
mod rooms;
/// The vision service: `vision detect` on photos, the demo's camera, `[vision]` config errors.
mod vision;
