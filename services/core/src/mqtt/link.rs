//! The link: one MQTT connection per service, and the task that drives it.
//!
//! [`Link`] is the handle services publish and subscribe through; it never blocks. The
//! [`LinkDriver`] is the one task that polls rumqttc's event loop (library code spawns nothing:
//! the caller runs it). Both share [`State`] behind a std mutex that is never held across an
//! `.await`: handing a message to rumqttc is a non-blocking `try_publish`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, Packet, QoS, SubscribeFilter};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::acks::AckTracker;
use super::latest::LatestValues;
use super::message::{Incoming, Outgoing};
use super::options::mqtt_options;
use super::outbox::Outbox;
use super::outbox_store::OutboxStore;
use super::{LinkError, LinkStats};
use crate::config::MqttConfig;
use crate::discovery::{Announcement, DeviceDiscovery, Platform};
use crate::identity::Identity;
use crate::topic::{Topic, filter_matches};

/// Requests rumqttc queues before `try_publish` refuses; what does not fit waits in [`State`].
const CLIENT_QUEUE: usize = 64;
/// Distinct best-effort topics waiting for the broker.
const MAX_WAITING_TOPICS: usize = 4096;
/// Home Assistant asks for a random delay before re-announcing, so nodes don't all answer at once.
const MAX_REANNOUNCE_JITTER: Duration = Duration::from_secs(5);
/// How long shutdown waits for outstanding acknowledgements before it disconnects.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// What a link needs to connect.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// Who speaks.
    pub identity: Identity,
    /// The broker.
    pub mqtt: MqttConfig,
    /// The node's state directory; the link keeps its outbox and last discovery there.
    pub state_dir: PathBuf,
    /// Seed of the re-announcement jitter (from the OS in the binary, a constant in tests).
    pub jitter_seed: u64,
}

/// The handle a service publishes and subscribes through. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Link {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    client: AsyncClient,
    identity: Identity,
    store: OutboxStore,
    discovery_file: PathBuf,
    /// Held only for non-blocking bookkeeping and `try_*` calls, never across an `.await`.
    state: Mutex<State>,
    dropped_incoming: AtomicU64,
    connects: AtomicU64,
}

#[derive(Debug)]
struct State {
    connected: bool,
    latest: LatestValues,
    outbox: Outbox,
    acks: AckTracker,
    subscriptions: Vec<Subscription>,
    announcement: Announcement,
}

#[derive(Debug)]
struct Subscription {
    filter: String,
    tx: mpsc::Sender<Incoming>,
}

/// The task that drives a link: run it with [`LinkDriver::run`] on its own task.
pub struct LinkDriver {
    eventloop: EventLoop,
    shared: Arc<Shared>,
    rng: StdRng,
}

impl Link {
    /// Prepares a link; nothing connects until the driver runs. Loads the outbox an earlier run
    /// left, so it is sent first.
    pub fn open(options: LinkOptions) -> Result<(Link, LinkDriver), LinkError> {
        let LinkOptions { identity, mqtt, state_dir, jitter_seed } = options;
        let mqtt_options = mqtt_options(&identity, &mqtt)?;
        let outbox_dir = state_dir.join("outbox").join(identity.service());
        let store = OutboxStore::open(&outbox_dir)
            .map_err(|source| LinkError::StateDir { path: outbox_dir.clone(), source })?;
        let loaded = store
            .load()
            .map_err(|source| LinkError::StateDir { path: outbox_dir.clone(), source })?;
        if loaded.corrupt > 0 {
            tracing::warn!(
                count = loaded.corrupt,
                service = identity.service(),
                "corrupt outbox files set aside"
            );
        }
        if !loaded.messages.is_empty() {
            tracing::info!(
                count = loaded.messages.len(),
                service = identity.service(),
                "outbox restored"
            );
        }
        let discovery_file =
            state_dir.join("discovery").join(format!("{}.json", identity.service()));
        let announcement = Announcement::resume(read_announced(&discovery_file));
        let state = State {
            connected: false,
            latest: LatestValues::new(MAX_WAITING_TOPICS),
            outbox: Outbox::restore(mqtt.outbox_max_messages, loaded.messages),
            acks: AckTracker::default(),
            subscriptions: Vec::new(),
            announcement,
        };
        let (client, eventloop) = AsyncClient::new(mqtt_options, CLIENT_QUEUE);
        let shared = Arc::new(Shared {
            client,
            identity,
            store,
            discovery_file,
            state: Mutex::new(state),
            dropped_incoming: AtomicU64::new(0),
            connects: AtomicU64::new(0),
        });
        let driver = LinkDriver {
            eventloop,
            shared: shared.clone(),
            rng: StdRng::seed_from_u64(jitter_seed),
        };
        Ok((Link { shared }, driver))
    }

    /// Who speaks on this link.
    pub fn identity(&self) -> &Identity {
        &self.shared.identity
    }

    /// Publishes best-effort state. Never blocks: while the broker is away the newest value
    /// per topic waits, older ones are replaced.
    pub fn publish_state(&self, topic: &Topic, payload: impl Into<Vec<u8>>, retain: bool) {
        let mut state = self.shared.lock();
        state.latest.set(Outgoing { topic: topic.clone(), payload: payload.into(), retain });
        self.shared.drain(&mut state);
    }

    /// Publishes a must-deliver event: written to the outbox on disk first, and kept there
    /// until the broker acknowledges it, across reconnects and restarts.
    pub fn publish_event(
        &self,
        topic: &Topic,
        payload: impl Into<Vec<u8>>,
        retain: bool,
    ) -> Result<(), LinkError> {
        let message = Outgoing { topic: topic.clone(), payload: payload.into(), retain };
        let mut state = self.shared.lock();
        let id = state.outbox.push(message.clone())?;
        if let Err(source) = self.shared.store.save(id, &message) {
            state.outbox.acknowledged(id);
            return Err(LinkError::StateDir {
                path: self.shared.store.dir().to_path_buf(),
                source,
            });
        }
        self.shared.drain(&mut state);
        Ok(())
    }

    /// Subscribes to `filter`; matching messages arrive on the returned channel (at most
    /// `capacity` waiting; more are dropped and counted, so a slow reader never stalls the link).
    /// The subscription is restored after every reconnect.
    pub fn subscribe(&self, filter: &str, capacity: usize) -> mpsc::Receiver<Incoming> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let mut state = self.shared.lock();
        state.subscriptions.push(Subscription { filter: filter.to_owned(), tx });
        if state.connected && self.shared.client.try_subscribe(filter, QoS::AtLeastOnce).is_err() {
            // The client queue is full: the filter goes out with the others on the next connect.
            tracing::debug!(topic = filter, "subscribe deferred");
        }
        rx
    }

    /// Announces the service's entities to Home Assistant, if they changed since the last
    /// announcement (also of an earlier run: entities that went away are removed).
    pub fn announce(&self, discovery: &DeviceDiscovery) {
        let mut state = self.shared.lock();
        let Some(payload) = state.announcement.update(discovery) else { return };
        state.latest.set(Outgoing { topic: discovery.topic().clone(), payload, retain: true });
        write_announced(&self.shared.discovery_file, state.announcement.components());
        self.shared.drain(&mut state);
    }

    /// Whether the broker accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.shared.lock().connected
    }

    /// Counters for health entities.
    pub fn stats(&self) -> LinkStats {
        let state = self.shared.lock();
        LinkStats {
            connected: state.connected,
            connects: self.shared.connects.load(Ordering::Relaxed),
            outbox_len: state.outbox.len(),
            state_waiting: state.latest.len(),
            state_dropped: state.latest.dropped(),
            incoming_dropped: self.shared.dropped_incoming.load(Ordering::Relaxed),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain bookkeeping behind; keep going with it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands what waits to rumqttc while it takes it: owed outbox messages first, then state.
    fn drain(&self, state: &mut State) {
        if !state.connected {
            return;
        }
        while let Some((id, message)) = state.outbox.next_owed() {
            let sent = self.client.try_publish(
                message.topic.as_str(),
                QoS::AtLeastOnce,
                message.retain,
                message.payload.clone(),
            );
            if sent.is_err() {
                return;
            }
            state.acks.queued(Some(id));
            state.outbox.handed(id);
        }
        while let Some(message) = state.latest.take() {
            let sent = self.client.try_publish(
                message.topic.as_str(),
                QoS::AtLeastOnce,
                message.retain,
                message.payload.clone(),
            );
            if sent.is_err() {
                state.latest.put_back(message);
                return;
            }
            state.acks.queued(None);
        }
    }

    fn on_connected(&self, session_present: bool) {
        self.connects.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        state.connected = true;
        if !session_present {
            // rumqttc dropped whatever it held for the old session; the outbox still has it.
            let lost = state.acks.session_lost();
            state.outbox.owe_again(lost);
        }
        let availability = self.identity.availability_topic();
        if self.client.try_publish(availability.as_str(), QoS::AtLeastOnce, true, "online").is_ok()
        {
            state.acks.queued(None);
        }
        let mut filters: Vec<SubscribeFilter> = vec![SubscribeFilter::new(
            self.identity.ha_status_topic().as_str().to_owned(),
            QoS::AtLeastOnce,
        )];
        filters.extend(
            state
                .subscriptions
                .iter()
                .map(|s| SubscribeFilter::new(s.filter.clone(), QoS::AtLeastOnce)),
        );
        if let Err(e) = self.client.try_subscribe_many(filters) {
            tracing::warn!(error = %e, "subscriptions not restored");
        }
        // A broker that lost its retained store (no persistence) gets the discovery again.
        self.queue_announcement(&mut state);
        self.drain(&mut state);
        tracing::info!(service = self.identity.service(), session_present, "connected to broker");
    }

    fn on_message(&self, topic: &str, payload: &[u8], retain: bool) {
        let mut state = self.lock();
        state.subscriptions.retain(|s| !s.tx.is_closed());
        for sub in state.subscriptions.iter().filter(|s| filter_matches(&s.filter, topic)) {
            let message = Incoming { topic: topic.to_owned(), payload: payload.to_vec(), retain };
            if sub.tx.try_send(message).is_err() {
                self.dropped_incoming.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn on_acknowledged(&self, pkid: u16) {
        let mut state = self.lock();
        if let Some(id) = state.acks.acknowledged(pkid) {
            state.outbox.acknowledged(id);
            if let Err(e) = self.store.remove(id) {
                // Delivered twice after a restart at worst: at-least-once allows it.
                tracing::warn!(error = %e, "outbox file not removed");
            }
        }
    }

    fn reannounce(&self) {
        let mut state = self.lock();
        self.queue_announcement(&mut state);
        self.drain(&mut state);
    }

    /// Queues the current discovery message again, if one was announced.
    fn queue_announcement(&self, state: &mut State) {
        if let Some(payload) = state.announcement.current().map(<[u8]>::to_vec) {
            let topic = self.identity.discovery_topic();
            state.latest.set(Outgoing { topic, payload, retain: true });
        }
    }
}

impl std::fmt::Debug for LinkDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkDriver")
            .field("client_id", &self.shared.identity.client_id())
            .finish_non_exhaustive()
    }
}

impl LinkDriver {
    /// Connects, and keeps the link up until `shutdown`: reconnects with back-off, restores
    /// subscriptions and availability on every connect, re-announces discovery when Home
    /// Assistant comes back. On shutdown it waits briefly for outstanding acknowledgements,
    /// publishes `offline` and disconnects; what is still unacknowledged stays on disk.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Backoff::default();
        let mut reannounce_at: Option<Instant> = None;
        let ha_status = self.shared.identity.ha_status_topic();
        loop {
            let reannounce = async {
                match reannounce_at {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                () = reannounce => {
                    reannounce_at = None;
                    self.shared.reannounce();
                }
                event = self.eventloop.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                        backoff = Backoff::default();
                        self.shared.on_connected(ack.session_present);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if p.topic == ha_status.as_str() && p.payload.as_ref() == b"online" {
                            let jitter = self.rng.random_range(Duration::ZERO..=MAX_REANNOUNCE_JITTER);
                            reannounce_at = Some(Instant::now() + jitter);
                        }
                        self.shared.on_message(&p.topic, &p.payload, p.retain);
                    }
                    Ok(Event::Incoming(Packet::PubAck(ack))) => self.shared.on_acknowledged(ack.pkid),
                    Ok(Event::Outgoing(rumqttc::Outgoing::Publish(pkid))) => self.shared.lock().acks.written(pkid),
                    Ok(Event::Outgoing(rumqttc::Outgoing::AwaitAck(pkid))) => self.shared.lock().acks.collided(pkid),
                    Ok(_) => {}
                    Err(error) => {
                        self.shared.lock().connected = false;
                        let wait = backoff.next();
                        log_connection_error(&self.shared.identity, &error, wait);
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = sleep(wait) => {}
                        }
                    }
                }
            }
            let mut state = self.shared.lock();
            self.shared.drain(&mut state);
        }
        self.close().await;
    }

    async fn close(&mut self) {
        if !self.shared.lock().connected {
            return;
        }
        let deadline = Instant::now() + CLOSE_GRACE;
        // Give acknowledgements in flight a moment, so fewer messages wait on disk.
        while !self.shared.lock().outbox.is_empty() && Instant::now() < deadline {
            match timeout(deadline - Instant::now(), self.eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
                    self.shared.on_acknowledged(ack.pkid)
                }
                Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Publish(pkid)))) => {
                    self.shared.lock().acks.written(pkid)
                }
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => return,
            }
        }
        let availability = self.shared.identity.availability_topic();
        let _ = self.shared.client.try_publish(
            availability.as_str(),
            QoS::AtLeastOnce,
            true,
            "offline",
        );
        let _ = self.shared.client.try_disconnect();
        while Instant::now() < deadline {
            match timeout(deadline - Instant::now(), self.eventloop.poll()).await {
                Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect))) | Ok(Err(_)) | Err(_) => {
                    break;
                }
                Ok(Ok(_)) => {}
            }
        }
        self.shared.lock().connected = false;
        tracing::info!(service = self.shared.identity.service(), "disconnected from broker");
    }
}

fn log_connection_error(identity: &Identity, error: &ConnectionError, retry_in: Duration) {
    let retry_ms = retry_in.as_millis() as u64;
    match error {
        ConnectionError::ConnectionRefused(code) => tracing::error!(
            service = identity.service(),
            error = ?code,
            elapsed_ms = retry_ms,
            "broker refused the login: check [mqtt] username and password"
        ),
        ConnectionError::Tls(e) => tracing::error!(
            service = identity.service(),
            error = %e,
            elapsed_ms = retry_ms,
            "TLS to the broker failed: check [mqtt] ca_file and the broker's certificate"
        ),
        other => tracing::warn!(
            service = identity.service(),
            error = %other,
            elapsed_ms = retry_ms,
            "broker unreachable, retrying"
        ),
    }
}

/// 0.5 s doubling to 30 s between reconnect attempts.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Duration::from_millis(500) }
    }
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Duration::from_secs(30));
        wait
    }
}

fn read_announced(file: &std::path::Path) -> BTreeMap<String, Platform> {
    let Ok(text) = std::fs::read_to_string(file) else { return BTreeMap::new() };
    let Ok(map) = serde_json::from_str::<BTreeMap<String, String>>(&text) else {
        return BTreeMap::new();
    };
    map.into_iter().filter_map(|(id, p)| Some((id, p.parse().ok()?))).collect()
}

fn write_announced(file: &std::path::Path, components: &BTreeMap<String, Platform>) {
    let map: BTreeMap<&str, &str> =
        components.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let result = file
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(file, serde_json::to_vec(&map).unwrap_or_default()));
    if let Err(e) = result {
        // Only costs the removal of entities that go away across a restart.
        tracing::warn!(error = %e, "announced entities not saved");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let mut b = Backoff::default();
        let waits: Vec<_> = (0..9).map(|_| b.next().as_millis()).collect();
        assert_eq!(waits, vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    }
}
