//! Inputs of the locator. The real one is the MQTT subscription, owned by the service shell;
//! here is the simulated one ([`sim`]) that tests, benches and the demo use.

pub(crate) mod sim;
