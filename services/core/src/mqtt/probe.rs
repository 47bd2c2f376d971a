//! One-shot looks at a broker for diagnostics (`roomsense doctor`): log in once and read the
//! CONNACK, or subscribe for a moment and list what arrives. Clean sessions, no last will.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS,
    SubscribeFilter, SubscribeReasonCode, TlsConfiguration, Transport,
};
use tokio::time::{Instant, timeout_at};

/// Where and as whom a probe connects.
#[derive(Clone)]
pub struct ProbeTarget {
    /// Broker host name or address.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Speak TLS, trusting only this CA (PEM); plain MQTT when `None`.
    pub ca_file: Option<PathBuf>,
    /// User name and password; anonymous when `None`.
    pub login: Option<(String, String)>,
    /// The client id to connect with.
    pub client_id: String,
}

impl std::fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("ProbeTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("ca_file", &self.ca_file)
            .field("user", &self.login.as_ref().map(|(u, _)| u))
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// What the broker answered to CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectOutcome {
    /// CONNACK 0: logged in.
    Accepted,
    /// CONNACK with a refusal code (MQTT 3.1.1: 1 to 5; 4 bad user name or password, 5 not
    /// authorised).
    Refused(u8),
}

impl ConnectOutcome {
    /// MQTT 3.1.1's name for the CONNACK code.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Refused(1) => "unacceptable protocol version",
            Self::Refused(2) => "identifier rejected",
            Self::Refused(3) => "server unavailable",
            Self::Refused(4) => "bad user name or password",
            Self::Refused(5) => "not authorized",
            Self::Refused(_) => "refused",
        }
    }
}

/// A topic heard while listening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The topic.
    pub topic: String,
    /// Whether the broker delivered it as a retained message.
    pub retained: bool,
    /// How many messages arrived on it.
    pub count: u32,
    /// Size of the last payload, bytes.
    pub bytes: usize,
}

/// What a listening probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listened {
    /// The answer to CONNECT; nothing else is filled when refused.
    pub outcome: ConnectOutcome,
    /// Per filter, in order: whether the broker granted the subscription.
    pub granted: Vec<bool>,
    /// Every topic heard, sorted by topic.
    pub heard: Vec<Heard>,
}

/// Why a probe learned nothing from the broker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// No TCP connection, or it was reset before CONNACK.
    #[error("cannot reach {host}:{port}: {reason}")]
    Unreachable {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// What failed.
        reason: String,
    },
    /// The TLS handshake failed (wrong CA, wrong name, expired, not TLS at all).
    #[error("TLS with {host}:{port} failed: {reason}")]
    Tls {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// What failed.
        reason: String,
    },
    /// No CONNACK in time.
    #[error("{host}:{port} did not answer CONNECT within {} ms", .waited.as_millis())]
    Timeout {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// How long it waited.
        waited: Duration,
    },
}

/// Most topics a listening probe records; a broker leaking more is leaking anyway.
const MAX_TOPICS: usize = 10_000;

impl ProbeTarget {
    /// Connects once and returns the broker's answer, waiting at most `wait`.
    pub async fn connect(&self, wait: Duration) -> Result<ConnectOutcome, ProbeError> {
        Ok(self.listen(&[], Duration::ZERO, wait).await?.outcome)
    }

    /// Connects (at most `wait` for CONNACK), subscribes to `filters` at QoS 0, records what
    /// arrives during `listen_for` (retained messages come at once), and disconnects.
    pub async fn listen(
        &self,
        filters: &[&str],
        listen_for: Duration,
        wait: Duration,
    ) -> Result<Listened, ProbeError> {
        let mut options = MqttOptions::new(&self.client_id, &self.host, self.port);
        options.set_clean_session(true);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_max_packet_size(256 * 1024, 256 * 1024);
        if let Some((user, password)) = &self.login {
            options.set_credentials(user, password);
        }
        if let Some(ca_file) = &self.ca_file {
            let tls = super::options::tls_config(ca_file).map_err(|e| self.tls(e.to_string()))?;
            options.set_transport(Transport::Tls(TlsConfiguration::Rustls(Arc::new(tls))));
        }
        let (client, mut eventloop) = AsyncClient::new(options, 16);
        let connect_deadline = Instant::now() + wait;
        loop {
            match timeout_at(connect_deadline, eventloop.poll()).await {
                Err(_) => return Err(self.timeout(wait)),
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
                Ok(Ok(_)) => {}
                Ok(Err(ConnectionError::ConnectionRefused(code))) => {
                    return Ok(Listened {
                        outcome: ConnectOutcome::Refused(refusal_code(code)),
                        granted: Vec::new(),
                        heard: Vec::new(),
                    });
                }
                Ok(Err(ConnectionError::Tls(e))) => return Err(self.tls(e.to_string())),
                Ok(Err(e)) => return Err(self.unreachable(e.to_string())),
            }
        }
        let mut granted = Vec::new();
        let mut heard: BTreeMap<String, Heard> = BTreeMap::new();
        if !filters.is_empty() {
            let subscriptions =
                filters.iter().map(|f| SubscribeFilter::new((*f).to_owned(), QoS::AtMostOnce));
            // The request queue is empty right after CONNACK, so this cannot be refused.
            let _ = client.try_subscribe_many(subscriptions);
            let listen_deadline = Instant::now() + listen_for;
            while let Ok(event) = timeout_at(listen_deadline, eventloop.poll()).await {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(ack))) => {
                        granted = ack
                            .return_codes
                            .iter()
                            .map(|c| matches!(c, SubscribeReasonCode::Success(_)))
                            .collect();
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        record(&mut heard, &p.topic, p.retain, p.payload.len());
                    }
                    Ok(_) => {}
                    // The broker hung up on us (some do on a forbidden subscription).
                    Err(_) => break,
                }
            }
        }
        let _ = client.try_disconnect();
        // Let DISCONNECT go out, so the broker logs a clean goodbye rather than an error.
        let _ = tokio::time::timeout(Duration::from_millis(200), eventloop.poll()).await;
        Ok(Listened {
            outcome: ConnectOutcome::Accepted,
            granted,
            heard: heard.into_values().collect(),
        })
    }

    fn unreachable(&self, reason: String) -> ProbeError {
        ProbeError::Unreachable { host: self.host.clone(), port: self.port, reason }
    }

    fn tls(&self, reason: String) -> ProbeError {
        ProbeError::Tls { host: self.host.clone(), port: self.port, reason }
    }

    fn timeout(&self, waited: Duration) -> ProbeError {
        ProbeError::Timeout { host: self.host.clone(), port: self.port, waited }
    }
}

fn refusal_code(code: ConnectReturnCode) -> u8 {
    code as u8
}

fn record(heard: &mut BTreeMap<String, Heard>, topic: &str, retained: bool, bytes: usize) {
    if let Some(h) = heard.get_mut(topic) {
        h.count = h.count.saturating_add(1);
        h.bytes = bytes;
        h.retained |= retained;
    } else if heard.len() < MAX_TOPICS {
        heard
            .insert(topic.to_owned(), Heard { topic: topic.to_owned(), retained, count: 1, bytes });
    }
}

#[cfg(test)]
mod tests {
    use std::net::{SocketAddr, TcpListener};

    use super::*;

    #[test]
    fn refusal_codes_keep_their_mqtt_numbers_and_names() {
        assert_eq!(refusal_code(ConnectReturnCode::BadUserNamePassword), 4);
        assert_eq!(refusal_code(ConnectReturnCode::NotAuthorized), 5);
        assert_eq!(ConnectOutcome::Refused(5).reason(), "not authorized");
        assert_eq!(ConnectOutcome::Refused(4).reason(), "bad user name or password");
        assert_eq!(ConnectOutcome::Accepted.reason(), "accepted");
    }

    #[test]
    fn repeated_topics_are_counted_once_and_remember_being_retained() {
        let mut heard = BTreeMap::new();
        record(&mut heard, "a/b", true, 3);
        record(&mut heard, "a/b", false, 5);
        record(&mut heard, "$SYS/x", false, 1);
        let heard: Vec<_> = heard.into_values().collect();
        assert_eq!(heard[0].topic, "$SYS/x");
        assert_eq!(heard[1], Heard { topic: "a/b".into(), retained: true, count: 2, bytes: 5 });
    }

    #[test]
    fn the_debug_form_never_shows_the_password() {
        let t = target(1, Some(("u".into(), "hunter2".into())));
        assert!(!format!("{t:?}").contains("hunter2"));
    }

    fn target(port: u16, login: Option<(String, String)>) -> ProbeTarget {
        ProbeTarget {
            host: "127.0.0.1".into(),
            port,
            ca_file: None,
            login,
            client_id: "probe-test".into(),
        }
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_not_refused() {
        let err = target(free_port(), None).connect(Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(err, ProbeError::Unreachable { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let err = target(port, None).connect(Duration::from_millis(300)).await.unwrap_err();
        assert!(matches!(err, ProbeError::Timeout { .. }), "{err}");
        drop(listener);
    }

    /// A broker that answers every CONNECT with `connack` (a CONNACK packet), then sends
    /// `after` (e.g. a PUBLISH), then waits.
    fn fake_broker(connack: Vec<u8>, after: Vec<u8>) -> SocketAddr {
        use std::io::{Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf);
                let _ = s.write_all(&connack);
                let n = s.read(&mut buf).unwrap_or(0);
                // Answer a SUBSCRIBE (0x82) with a SUBACK granting each filter at QoS 0.
                if n > 4 && buf[0] == 0x82 {
                    let _ = s.write_all(&[0x90, 4, buf[2], buf[3], 0x00, 0x80]);
                }
                let _ = s.write_all(&after);
                let _ = s.read(&mut buf);
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_refused_login_returns_the_connack_code() {
        let addr = fake_broker(vec![0x20, 2, 0, 5], Vec::new());
        let outcome = target(addr.port(), None).connect(Duration::from_secs(5)).await.unwrap();
        assert_eq!(outcome, ConnectOutcome::Refused(5));
    }

    #[tokio::test]
    async fn listening_lists_retained_topics_and_which_filters_were_granted() {
        // PUBLISH, retain, topic "t/r", payload "on".
        let publish = vec![0x31, 7, 0, 3, b't', b'/', b'r', b'o', b'n'];
        let addr = fake_broker(vec![0x20, 2, 0, 0], publish);
        let listened = target(addr.port(), None)
            .listen(&["#", "$SYS/#"], Duration::from_millis(500), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(listened.outcome, ConnectOutcome::Accepted);
        assert_eq!(listened.granted, [true, false]);
        assert_eq!(
            listened.heard,
            [Heard { topic: "t/r".into(), retained: true, count: 1, bytes: 2 }]
        );
    }
}
