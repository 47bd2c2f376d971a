//! What was last announced for a service, so that only a changed message is sent and an entity
//! that went away is removed from Home Assistant (also across restarts: the last set of
//! components is kept in the state directory).

use std::collections::BTreeMap;

use super::component::Platform;
use super::device::DeviceDiscovery;

/// The last announced components, and what the next announcement must say.
#[derive(Debug, Default)]
pub struct Announcement {
    last_payload: Option<Vec<u8>>,
    last_components: BTreeMap<String, Platform>,
}

impl Announcement {
    /// Starts from the components announced by an earlier run, so that those now gone get
    /// removed.
    pub fn resume(previous: BTreeMap<String, Platform>) -> Self {
        Self { last_payload: None, last_components: previous }
    }

    /// The payload to publish for `discovery`, or `None` if it is what was announced last.
    pub fn update(&mut self, discovery: &DeviceDiscovery) -> Option<Vec<u8>> {
        let current = discovery.platforms();
        let removed: BTreeMap<String, Platform> = self
            .last_components
            .iter()
            .filter(|(id, _)| !current.contains_key(*id))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let payload = discovery.payload(&removed);
        if self.last_payload.as_ref() == Some(&payload) {
            return None;
        }
        self.last_payload = Some(discovery.payload(&BTreeMap::new()));
        self.last_components = current;
        Some(payload)
    }

    /// What to publish again when Home Assistant comes back: the current state, no removals.
    pub fn current(&self) -> Option<&[u8]> {
        self.last_payload.as_deref()
    }

    /// The components last announced (to keep across restarts).
    pub fn components(&self) -> &BTreeMap<String, Platform> {
        &self.last_components
    }
}
