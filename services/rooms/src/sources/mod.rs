//! The rooms service reads MQTT, not hardware; what lives here is the demo's simulated house,
//! which stands in for the locator, vision, audio and GPIO services.

pub(crate) mod sim;
