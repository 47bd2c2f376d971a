//! A read-only MQTT client for tools (the demo's live view, diagnostics): a clean session, no
//! last will, no availability, just what matches its filters.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS, SubscribeFilter};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::message::Incoming;

/// Watches topics on a broker.
pub struct Observer {
    eventloop: EventLoop,
    client: AsyncClient,
    filters: Vec<String>,
    tx: mpsc::Sender<Incoming>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer").field("filters", &self.filters).finish_non_exhaustive()
    }
}

impl Observer {
    /// An observer of `filters` on `host:port`, logging in with `login` when given; messages
    /// arrive on the returned channel (at most `capacity` waiting, more are dropped).
    pub fn new(
        client_id: &str,
        host: &str,
        port: u16,
        login: Option<(String, String)>,
        filters: &[&str],
        capacity: usize,
    ) -> (Self, mpsc::Receiver<Incoming>) {
        let mut options = MqttOptions::new(client_id, host, port);
        options.set_keep_alive(Duration::from_secs(15));
        options.set_max_packet_size(256 * 1024, 256 * 1024);
        if let Some((user, password)) = login {
            options.set_credentials(user, password);
        }
        let (client, eventloop) = AsyncClient::new(options, 16);
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            Self {
                eventloop,
                client,
                filters: filters.iter().map(|f| (*f).to_owned()).collect(),
                tx,
            },
            rx,
        )
    }

    /// Receives until `shutdown`, resubscribing after every reconnect.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                event = self.eventloop.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let filters = self.filters.iter().map(|f| SubscribeFilter::new(f.clone(), QoS::AtMostOnce));
                        let _ = self.client.try_subscribe_many(filters);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let message = Incoming { topic: p.topic, payload: p.payload.to_vec(), retain: p.retain };
                        let _ = self.tx.try_send(message);
                    }
                    Ok(_) => {}
                    Err(_) => {
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
            }
        }
        let _ = self.client.try_disconnect();
    }
}
