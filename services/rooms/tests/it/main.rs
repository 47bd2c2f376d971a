//! roomsense-rooms integration tests: the pure fusion and automations driven through the public
//! API with plain numbers for time (the same script `tests/e2e/rooms.rs` plays through a broker).

/// The scripted walk replayed through topic parsing, payload decoding and the fusion.
mod scenario;
