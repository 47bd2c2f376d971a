//! A self-signed CA and a server certificate signed by it (rcgen, ring: pure Rust), for the
//! TLS listener when the user brings none.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::error::Error;

/// PEM texts of a fresh CA and server certificate.
#[derive(Debug, Clone)]
pub(crate) struct Generated {
    pub(crate) ca_cert: String,
    pub(crate) ca_key: String,
    pub(crate) server_cert: String,
    pub(crate) server_key: String,
}

/// The earliest `not_before`: the board may boot with no real-time clock and a clock still at
/// its build date; a certificate valid from a fixed past date works on both sides of NTP.
fn valid_from() -> OffsetDateTime {
    rcgen::date_time_ymd(2025, 1, 1)
}

/// A CA (20 years) and a server certificate for `names` (10 years), from `now`.
/// `serial` seeds the serial numbers (random, from the caller).
pub(crate) fn generate(
    names: &[String],
    now: OffsetDateTime,
    serial: [u8; 16],
) -> Result<Generated, Error> {
    let cert = |e: rcgen::Error| Error::Certificate(e.to_string());
    let start = valid_from().max(now);
    let ca_key = KeyPair::generate().map_err(cert)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(cert)?;
    ca.distinguished_name.push(DnType::CommonName, "roomsense broker CA");
    ca.distinguished_name.push(DnType::OrganizationName, "roomsense");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = valid_from();
    ca.not_after = start + Duration::days(20 * 365);
    ca.serial_number = Some(SerialNumber::from_slice(&positive(serial)));
    let ca_cert = ca.self_signed(&ca_key).map_err(cert)?;

    let server_key = KeyPair::generate().map_err(cert)?;
    let mut server = CertificateParams::new(names.to_vec()).map_err(cert)?;
    server
        .distinguished_name
        .push(DnType::CommonName, names.first().map_or("roomsense", String::as_str));
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.not_before = valid_from();
    server.not_after = start + Duration::days(10 * 365);
    let mut server_serial = positive(serial);
    server_serial[15] ^= 1;
    server.serial_number = Some(SerialNumber::from_slice(&server_serial));
    let issuer = Issuer::new(ca, &ca_key);
    let server_cert = server.signed_by(&server_key, &issuer).map_err(cert)?;
    Ok(Generated {
        ca_cert: ca_cert.pem(),
        ca_key: ca_key.serialize_pem(),
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
    })
}

/// A serial number must be positive: clear the top bit, and never all zero.
fn positive(mut serial: [u8; 16]) -> [u8; 16] {
    serial[0] = (serial[0] & 0x7f) | 0x01;
    serial
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    use super::*;

    fn der(pem: &str) -> CertificateDer<'static> {
        rustls_pemfile::certs(&mut pem.as_bytes()).next().unwrap().unwrap()
    }

    #[test]
    fn the_server_certificate_chains_to_the_ca_for_each_name_and_not_others() {
        let now = OffsetDateTime::now_utc();
        let g = generate(&["hall.local".into(), "127.0.0.1".into()], now, [9; 16]).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der(&g.ca_cert)).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            provider,
        )
        .build()
        .unwrap();
        let at =
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.unix_timestamp() as u64));
        use rustls::client::danger::ServerCertVerifier;
        let leaf = der(&g.server_cert);
        for name in ["hall.local", "127.0.0.1"] {
            let name = ServerName::try_from(name).unwrap();
            verifier.verify_server_cert(&leaf, &[], &name, &[], at).unwrap();
        }
        let other = ServerName::try_from("kitchen.local").unwrap();
        assert!(verifier.verify_server_cert(&leaf, &[], &other, &[], at).is_err());
        assert!(g.server_key.contains("PRIVATE KEY"));
    }
}
