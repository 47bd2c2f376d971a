//! The contract every roomsense service keeps, whether it runs as its own process (one systemd
//! unit) or as a task of `roomsense demo`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

use crate::mqtt::Link;

/// A service: built from its validated config and a [`Context`] (its constructor does nothing
/// else), then run until `shutdown` is cancelled.
pub trait Service: Send + 'static {
    /// The service's name: its topic level, client id suffix and subcommand.
    const NAME: &'static str;
    /// Why the service stopped on its own.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Subscribes, announces, publishes until `shutdown`, then returns. The link's driver
    /// publishes `offline` afterwards.
    fn run(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<Stopped, Self::Error>> + Send;
}

/// How a service's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It was told to stop.
    Shutdown,
    /// It asked to be restarted (the restart button, a config change).
    RestartRequested,
}

/// What a service is given: its own MQTT link and its health flag.
#[derive(Debug, Clone)]
pub struct Context {
    /// The service's own link (own client id, own availability).
    pub link: Link,
    /// What the service says about its own health; the systemd watchdog is fed only while
    /// every service of the process says it is healthy.
    pub health: Health,
}

/// A service's own view of whether it is doing its job (BLE: advertisements still arrive).
#[derive(Debug, Clone)]
pub struct Health {
    healthy: Arc<AtomicBool>,
}

impl Default for Health {
    /// Healthy until the service says otherwise.
    fn default() -> Self {
        Self { healthy: Arc::new(AtomicBool::new(true)) }
    }
}

impl Health {
    /// Sets the flag.
    pub fn set(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
    }

    /// Reads the flag.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
}
