//! From the `[mqtt]` section to rumqttc's options: persistent session, last will, login, TLS.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{LastWill, MqttOptions, QoS, TlsConfiguration, Transport};

use super::LinkError;
use crate::config::MqttConfig;
use crate::identity::Identity;

/// Largest packet either way; Mosquitto's `message_size_limit` in our broker config matches.
const MAX_PACKET_BYTES: usize = 256 * 1024;

pub(crate) fn mqtt_options(
    identity: &Identity,
    mqtt: &MqttConfig,
) -> Result<MqttOptions, LinkError> {
    let mut options = MqttOptions::new(identity.client_id(), mqtt.host.clone(), mqtt.port());
    // A persistent session: the broker keeps our subscriptions and rumqttc resends what was in
    // flight when the link dropped (with clean sessions 110 of 300 QoS 1 messages were lost
    // across one drop: reference/crates.md §4.3).
    options.set_clean_session(false);
    options.set_keep_alive(Duration::from_secs(mqtt.keep_alive_s));
    options.set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
    options.set_last_will(LastWill::new(
        identity.availability_topic().as_str(),
        "offline",
        QoS::AtLeastOnce,
        true,
    ));
    if let Some((user, password)) =
        mqtt.login(&identity.client_id(), identity.service()).map_err(LinkError::Password)?
    {
        options.set_credentials(user, password);
    }
    if mqtt.tls {
        let ca_file = mqtt.ca_file.as_ref().ok_or_else(|| LinkError::Tls {
            reason: "`tls = true` needs `ca_file`, the CA that signed the broker's certificate"
                .into(),
        })?;
        options.set_transport(Transport::Tls(TlsConfiguration::Rustls(Arc::new(tls_config(
            ca_file,
        )?))));
    }
    Ok(options)
}

pub(crate) fn tls_config(ca_file: &std::path::Path) -> Result<rustls::ClientConfig, LinkError> {
    let tls = |reason: String| LinkError::Tls { reason };
    let pem = std::fs::read(ca_file)
        .map_err(|e| tls(format!("cannot read {}: {e}", ca_file.display())))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| tls(format!("{} is not valid PEM: {e}", ca_file.display())))?;
        roots
            .add(cert)
            .map_err(|e| tls(format!("{}: unusable certificate: {e}", ca_file.display())))?;
    }
    if roots.is_empty() {
        return Err(tls(format!("{} holds no PEM CERTIFICATE", ca_file.display())));
    }
    // ring, not aws-lc: it cross-compiles for the boards without a C toolchain dance.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeConfig;
    use crate::topic::Topic;

    #[test]
    fn the_last_will_goes_to_the_identitys_availability_topic() {
        let node = NodeConfig::new("hall", "hallway", "/tmp");
        let mqtt = MqttConfig::default();
        let ble = Identity::new(&node, &mqtt, "ble")
            .with_availability_topic(Topic::new("espresense/rooms/hallway/status").unwrap());
        let will = mqtt_options(&ble, &mqtt).unwrap().last_will().unwrap();
        assert_eq!(will.topic, "espresense/rooms/hallway/status");
        assert_eq!(&will.message[..], b"offline");
        assert!(will.retain);
        let node_will =
            mqtt_options(&Identity::new(&node, &mqtt, "node"), &mqtt).unwrap().last_will().unwrap();
        assert_eq!(node_will.topic, "roomsense/hall/status");
    }
}
