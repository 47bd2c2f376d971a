//! BlueZ through bluer (feature `bluez`): LE-only discovery with duplicate data and RSSI −127,
//! adverts decoded from property-change signals (no per-advert D-Bus calls), and a supervisor
//! that re-arms discovery when bluetoothd restarts (`NameOwnerChanged`), when the adapter goes
//! away or comes back, and when no advertisement has arrived for a while.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bluer::{
    AdapterEvent, DeviceEvent, DeviceProperty, DiscoveryFilter, DiscoveryTransport, SessionEvent,
};
use dbus::message::MatchRule;
use dbus::nonblock::{MsgMatch, SyncConnection};
use dbus_tokio::connection::IOResource;
use futures_util::stream::{AbortHandle, BoxStream, SelectAll, abortable};
use futures_util::{FutureExt, StreamExt};
use tokio::time::{Instant, sleep_until};

use super::{AdvertisementSource, SourceEvent};
use crate::domain::address::{Address, AddressType};
use crate::domain::advert::Advertisement;
use crate::domain::uuid::BleUuid;
use crate::error::Error;

/// Options of the BlueZ source.
#[derive(Debug, Clone)]
pub struct BluezOptions {
    /// Adapter name (`hci0`); `None` = BlueZ's default adapter.
    pub adapter: Option<String>,
    /// Re-arm discovery when no advertisement arrived for this long.
    pub no_advert_timeout: Duration,
    /// Forget a device's cached properties when unheard for this long.
    pub device_ttl: Duration,
    /// At most this many devices' properties are cached.
    pub max_devices: usize,
    /// Wait this long before retrying a failed (re-)arm.
    pub retry_after: Duration,
}

impl Default for BluezOptions {
    fn default() -> Self {
        BluezOptions {
            adapter: None,
            no_advert_timeout: Duration::from_secs(60),
            device_ttl: Duration::from_secs(300),
            max_devices: 10_000,
            retry_after: Duration::from_secs(5),
        }
    }
}

/// Counters of the supervisor, for the node's health entities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BluezStats {
    /// Times discovery was (re-)armed.
    pub arms: u64,
    /// bluetoothd restarts seen (`NameOwnerChanged` for `org.bluez`).
    pub daemon_restarts: u64,
    /// Adapter removals and additions seen.
    pub adapter_changes: u64,
    /// Re-arms by the no-advert watchdog.
    pub watchdog_rearms: u64,
}

/// The last known advertising properties of one device: BlueZ signals only what changed.
#[derive(Debug)]
struct Cached {
    addr_type: AddressType,
    name: Option<String>,
    tx_power: Option<i8>,
    uuids: Vec<BleUuid>,
    mfg: Vec<(u16, Vec<u8>)>,
    svc: Vec<(BleUuid, Vec<u8>)>,
    rssi: Option<i16>,
    last_heard: Instant,
    abort: AbortHandle,
}

/// `NameOwnerChanged(name, old_owner, new_owner)` signals from the bus daemon.
type NameOwnerStream =
    Pin<Box<dyn futures_util::Stream<Item = (dbus::Message, (String, String, String))> + Send>>;

/// The BlueZ advertisement source. Spawns nothing: every stream it owns (bluer's discovery and
/// device signals, the bus connection that watches bluetoothd) is polled in [`Self::next_event`].
pub struct BluezSource {
    opts: BluezOptions,
    session: bluer::Session,
    adapter_name: Option<String>,
    discovery: Option<BoxStream<'static, AdapterEvent>>,
    devices: SelectAll<BoxStream<'static, (bluer::Address, DeviceEvent)>>,
    cache: HashMap<bluer::Address, Cached>,
    session_events: BoxStream<'static, SessionEvent>,
    name_owner: NameOwnerStream,
    _name_owner_match: MsgMatch,
    bus_io: Pin<Box<IOResource<SyncConnection>>>,
    _bus: Arc<SyncConnection>,
    queue: VecDeque<SourceEvent>,
    last_advert: Instant,
    retry_at: Option<Instant>,
    next_sweep: Instant,
    stats: BluezStats,
}

impl std::fmt::Debug for BluezSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BluezSource")
            .field("adapter", &self.adapter_name)
            .field("armed", &self.discovery.is_some())
            .field("devices", &self.cache.len())
            .field("stats", &self.stats)
            .finish()
    }
}

fn bus_error(e: dbus::Error) -> Error {
    Error::Dbus(e.to_string())
}

impl BluezSource {
    /// Connects to the system bus (honours `DBUS_SYSTEM_BUS_ADDRESS`) and BlueZ. Discovery is
    /// armed on the first [`AdvertisementSource::next_event`]; a missing adapter or daemon is not
    /// an error here: the supervisor waits for it.
    pub async fn new(opts: BluezOptions) -> Result<BluezSource, Error> {
        let session = bluer::Session::new().await?;
        let session_events = session.events().await?.boxed();
        let (bus_io, bus) = dbus_tokio::connection::new_system_sync().map_err(bus_error)?;
        let mut bus_io = Box::pin(bus_io);
        // The match must be registered while the connection's I/O is driven.
        let rule = MatchRule::new_signal("org.freedesktop.DBus", "NameOwnerChanged")
            .with_sender("org.freedesktop.DBus");
        let add = bus.add_match(rule);
        let matched = tokio::select! {
            m = add => m.map_err(bus_error)?,
            e = &mut bus_io => return Err(Error::Dbus(e.to_string())),
        };
        let (name_owner_match, stream) = matched.stream::<(String, String, String)>();
        let now = Instant::now();
        Ok(BluezSource {
            adapter_name: opts.adapter.clone(),
            opts,
            session,
            discovery: None,
            devices: SelectAll::new(),
            cache: HashMap::new(),
            session_events,
            name_owner: Box::pin(stream),
            _name_owner_match: name_owner_match,
            bus_io,
            _bus: bus,
            queue: VecDeque::new(),
            last_advert: now,
            retry_at: None,
            next_sweep: now,
            stats: BluezStats::default(),
        })
    }

    /// Supervisor counters.
    pub fn stats(&self) -> BluezStats {
        self.stats
    }

    /// When the last advertisement arrived (feed the systemd watchdog only while this is recent).
    pub fn last_advert(&self) -> Instant {
        self.last_advert
    }

    /// The adapter's own address (the node beacon is numbered from it). The future holds no
    /// borrow of the source, so it is `Send` although the source is not `Sync`.
    pub fn adapter_address(&self) -> impl Future<Output = Result<Address, Error>> + Send + 'static {
        let (session, name) = (self.session.clone(), self.adapter_name.clone());
        async move {
            let adapter = match &name {
                Some(name) => session.adapter(name)?,
                None => session.default_adapter().await?,
            };
            Ok(Address(adapter.address().await?.0))
        }
    }

    /// Advertises the node's ESPresense iBeacon (non-connectable broadcast) on the adapter;
    /// advertising stops when the handle is dropped. Re-call after a bluetoothd restart.
    pub fn advertise_node_beacon(
        &self,
        beacon: &crate::domain::beacon::NodeBeacon,
    ) -> impl Future<Output = Result<bluer::adv::AdvertisementHandle, Error>> + Send + 'static {
        let (session, name) = (self.session.clone(), self.adapter_name.clone());
        let data = beacon.manufacturer_data();
        async move {
            let adapter = match &name {
                Some(name) => session.adapter(name)?,
                None => session.default_adapter().await?,
            };
            let adv = bluer::adv::Advertisement {
                advertisement_type: bluer::adv::Type::Broadcast,
                manufacturer_data: [(0x004c, data)].into_iter().collect(),
                ..bluer::adv::Advertisement::default()
            };
            Ok(adapter.advertise(adv).await?)
        }
    }

    async fn arm(&mut self) -> Result<(), Error> {
        let adapter = match &self.opts.adapter {
            Some(name) => self.session.adapter(name)?,
            None => self.session.default_adapter().await?,
        };
        if let Err(e) = adapter.set_powered(true).await {
            tracing::warn!(error = %e, "cannot power the adapter on");
        }
        let filter = DiscoveryFilter {
            transport: DiscoveryTransport::Le,
            duplicate_data: true,
            // BlueZ after 5.86 sends every RSSI change only to clients with an RSSI or pathloss
            // filter (bluez e004414a1); -127 is the documented minimum, so nothing is filtered.
            rssi: Some(-127),
            ..DiscoveryFilter::default()
        };
        adapter.set_discovery_filter(filter).await?;
        let discovery = adapter.discover_devices().await?;
        self.adapter_name = Some(adapter.name().to_string());
        self.discovery = Some(discovery.boxed());
        self.last_advert = Instant::now();
        self.stats.arms += 1;
        tracing::info!(count = self.stats.arms, "discovery armed");
        Ok(())
    }

    /// Drops discovery and every device stream; the next `next_event` re-arms.
    fn disarm(&mut self, retry_in: Duration) {
        self.discovery = None;
        for c in self.cache.values() {
            c.abort.abort();
        }
        self.cache.clear();
        self.devices = SelectAll::new();
        self.retry_at = Some(Instant::now() + retry_in);
    }

    async fn add_device(&mut self, addr: bluer::Address) {
        if self.cache.contains_key(&addr) {
            return;
        }
        let Some(name) = self.adapter_name.clone() else { return };
        let Ok(adapter) = self.session.adapter(&name) else { return };
        let Ok(device) = adapter.device(addr) else { return };
        // Subscribe first so no change is lost, then read the advertising properties once (a
        // handful of Gets per new device object); every later advert comes from the signals.
        let events = match device.events().await {
            Ok(ev) => ev,
            Err(_) => return,
        };
        let mut props = Vec::with_capacity(7);
        match device.address_type().await {
            Ok(t) => props.push(DeviceProperty::AddressType(t)),
            Err(e) => {
                tracing::trace!(error = %e, "device vanished before its properties were read");
                return;
            }
        }
        if let Ok(Some(v)) = device.rssi().await {
            props.push(DeviceProperty::Rssi(v));
        }
        if let Ok(Some(v)) = device.name().await {
            props.push(DeviceProperty::Name(v));
        }
        if let Ok(Some(v)) = device.tx_power().await {
            props.push(DeviceProperty::TxPower(v));
        }
        if let Ok(Some(v)) = device.uuids().await {
            props.push(DeviceProperty::Uuids(v));
        }
        if let Ok(Some(v)) = device.manufacturer_data().await {
            props.push(DeviceProperty::ManufacturerData(v));
        }
        if let Ok(Some(v)) = device.service_data().await {
            props.push(DeviceProperty::ServiceData(v));
        }
        if self.cache.len() >= self.opts.max_devices {
            self.evict_oldest();
        }
        let (events, abort) = abortable(events);
        self.devices.push(events.map(move |e| (addr, e)).boxed());
        let mut c = Cached {
            addr_type: AddressType::Random,
            name: None,
            tx_power: None,
            uuids: Vec::new(),
            mfg: Vec::new(),
            svc: Vec::new(),
            rssi: None,
            last_heard: Instant::now(),
            abort,
        };
        for p in props {
            apply(&mut c, p);
        }
        let has_rssi = c.rssi.is_some();
        self.cache.insert(addr, c);
        if has_rssi {
            self.emit(addr);
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((&addr, _)) = self.cache.iter().min_by_key(|(_, c)| c.last_heard)
            && let Some(c) = self.cache.remove(&addr)
        {
            c.abort.abort();
        }
    }

    fn sweep(&mut self, now: Instant) {
        let ttl = self.opts.device_ttl;
        self.cache.retain(|_, c| {
            let keep = now.duration_since(c.last_heard) <= ttl;
            if !keep {
                c.abort.abort();
            }
            keep
        });
        self.next_sweep = now + Duration::from_secs(30);
    }

    /// Queues the current view of `addr` as one advertisement.
    fn emit(&mut self, addr: bluer::Address) {
        let Some(c) = self.cache.get_mut(&addr) else { return };
        let Some(rssi) = c.rssi else { return };
        c.last_heard = Instant::now();
        let ts_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let mut adv =
            Advertisement::new(ts_ms, Address(addr.0), c.addr_type, rssi.clamp(-128, 127) as i8);
        adv.tx_power = c.tx_power;
        adv.name = c.name.clone();
        adv.mfg = c.mfg.clone();
        adv.svc_data = c.svc.clone();
        adv.uuids = c.uuids.clone();
        self.last_advert = Instant::now();
        self.queue.push_back(SourceEvent::Advert(adv));
    }

    /// Applies one device event and everything already queued behind it (bluer splits one
    /// `PropertiesChanged` signal into one event per property), then emits one advert per device.
    fn on_device_event(&mut self, first: (bluer::Address, DeviceEvent)) {
        let mut touched: Vec<bluer::Address> = Vec::new();
        let mut next = Some(first);
        let mut budget = 256;
        while let Some((addr, DeviceEvent::PropertyChanged(prop))) = next {
            let advert_like = matches!(
                prop,
                DeviceProperty::Rssi(_)
                    | DeviceProperty::ManufacturerData(_)
                    | DeviceProperty::ServiceData(_)
            );
            if let Some(c) = self.cache.get_mut(&addr) {
                apply(c, prop);
                if advert_like && !touched.contains(&addr) {
                    touched.push(addr);
                }
            }
            budget -= 1;
            next = if budget == 0 { None } else { self.devices.next().now_or_never().flatten() };
        }
        for addr in touched {
            self.emit(addr);
        }
    }

    fn on_name_owner(&mut self, name: &str, new_owner: &str) {
        if name != "org.bluez" {
            return;
        }
        self.stats.daemon_restarts += !new_owner.is_empty() as u64;
        tracing::warn!(
            error = if new_owner.is_empty() { "bluetoothd stopped" } else { "bluetoothd started" },
            "re-arming discovery"
        );
        self.disarm(if new_owner.is_empty() { self.opts.retry_after } else { Duration::ZERO });
    }

    fn on_session_event(&mut self, ev: SessionEvent) {
        match ev {
            SessionEvent::AdapterAdded(name) => {
                let ours = self.opts.adapter.as_deref().is_none_or(|n| n == name);
                if ours && self.discovery.is_none() {
                    self.stats.adapter_changes += 1;
                    tracing::info!("adapter appeared, arming discovery");
                    self.retry_at = None;
                }
            }
            SessionEvent::AdapterRemoved(name) => {
                if self.adapter_name.as_deref() == Some(name.as_str()) {
                    self.stats.adapter_changes += 1;
                    tracing::warn!("adapter removed, waiting for it");
                    self.disarm(self.opts.retry_after);
                }
            }
        }
    }
}

fn apply(c: &mut Cached, p: DeviceProperty) {
    match p {
        DeviceProperty::AddressType(t) => {
            c.addr_type = match t {
                bluer::AddressType::LePublic | bluer::AddressType::BrEdr => AddressType::Public,
                bluer::AddressType::LeRandom => AddressType::Random,
            }
        }
        DeviceProperty::Name(n) => c.name = Some(n),
        DeviceProperty::TxPower(t) => c.tx_power = Some(t.clamp(-128, 127) as i8),
        DeviceProperty::Rssi(r) => c.rssi = Some(r),
        DeviceProperty::Uuids(u) => {
            // BlueZ reports every UUID as 128-bit and in a set: shorten and sort for stable ids.
            let mut v: Vec<BleUuid> =
                u.iter().map(|u| BleUuid::from_u128_be(*u.as_bytes())).collect();
            v.sort();
            c.uuids = v;
        }
        DeviceProperty::ManufacturerData(m) => {
            let mut v: Vec<(u16, Vec<u8>)> = m.into_iter().collect();
            v.sort_by_key(|(k, _)| *k);
            c.mfg = v;
        }
        DeviceProperty::ServiceData(s) => {
            let mut v: Vec<(BleUuid, Vec<u8>)> =
                s.into_iter().map(|(u, d)| (BleUuid::from_u128_be(*u.as_bytes()), d)).collect();
            v.sort_by_key(|a| a.0);
            c.svc = v;
        }
        _ => {}
    }
}

async fn next_or_pending<S: futures_util::Stream + Unpin>(s: &mut Option<S>) -> Option<S::Item> {
    match s {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

impl AdvertisementSource for BluezSource {
    async fn next_event(&mut self) -> Result<Option<SourceEvent>, Error> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Ok(Some(ev));
            }
            let now = Instant::now();
            if self.discovery.is_none() && self.retry_at.is_none_or(|t| now >= t) {
                if let Err(e) = self.arm().await {
                    tracing::warn!(error = %e, "cannot arm discovery, retrying");
                    self.retry_at = Some(now + self.opts.retry_after);
                }
                continue;
            }
            let watchdog = self.last_advert + self.opts.no_advert_timeout;
            let retry = self.retry_at.unwrap_or(now + Duration::from_secs(3600));
            tokio::select! {
                ev = next_or_pending(&mut self.discovery) => match ev {
                    Some(AdapterEvent::DeviceAdded(addr)) => self.add_device(addr).await,
                    Some(AdapterEvent::DeviceRemoved(addr)) => {
                        if let Some(c) = self.cache.remove(&addr) {
                            c.abort.abort();
                        }
                    }
                    Some(AdapterEvent::PropertyChanged(_)) => {}
                    None => {
                        tracing::warn!("discovery stream ended, re-arming");
                        self.disarm(self.opts.retry_after);
                    }
                },
                Some(ev) = self.devices.next(), if !self.devices.is_empty() => self.on_device_event(ev),
                Some(ev) = self.session_events.next() => self.on_session_event(ev),
                Some((_, (name, _old, new))) = self.name_owner.next() => self.on_name_owner(&name, &new),
                e = &mut self.bus_io => return Err(Error::Dbus(e.to_string())),
                _ = sleep_until(watchdog), if self.discovery.is_some() => {
                    self.stats.watchdog_rearms += 1;
                    tracing::warn!(elapsed_ms = self.opts.no_advert_timeout.as_millis() as u64, "no advertisement, re-arming discovery");
                    self.disarm(Duration::ZERO);
                }
                _ = sleep_until(retry), if self.discovery.is_none() => {}
                _ = sleep_until(self.next_sweep) => self.sweep(Instant::now()),
            }
        }
    }
}
