//! The TLS listener's certificate: fetched with a handshake that accepts anything, then judged
//! with rustls' own verifier against the given CA, now and a month from now.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConnection, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use super::{Check, Level};

/// Certificates closer than this to expiry are warned about.
const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks the TLS listener at `host:port`; `ca` is what its certificate should chain to.
pub(crate) fn check(host: &str, port: u16, ca: Option<&Path>, now: SystemTime) -> Check {
    let chain = match handshake(host, port) {
        Ok(chain) => chain,
        Err(Refusal::Closed(why)) => {
            return Check::new("tls", Level::Warn, format!("no TLS listener on {host}:{port} ({why})"))
                .fix("clients elsewhere on the network then send passwords in clear: add a TLS listener (`roomsense broker init` writes one on 8883)");
        }
        Err(Refusal::NotTls(why)) => {
            return Check::new("tls", Level::Unsafe, format!("{host}:{port} answers, but not with TLS ({why})"))
                .fix("give this listener `cafile`, `certfile` and `keyfile`, or move plain MQTT to 127.0.0.1");
        }
    };
    let Some(ca) = ca else {
        return Check::new(
            "tls",
            Level::Skipped,
            format!("TLS offered on {host}:{port}; its certificate chain was not checked"),
        )
        .fix("pass --ca FILE (the CA clients are given) to check the certificate");
    };
    let verifier = match verifier(ca) {
        Ok(v) => v,
        Err(why) => {
            return Check::new(
                "tls",
                Level::Fail,
                format!("cannot use the CA {}: {why}", ca.display()),
            )
            .fix("point --ca or [mqtt] ca_file at the PEM CA certificate");
        }
    };
    let name = match ServerName::try_from(host.to_owned()) {
        Ok(n) => n,
        Err(e) => {
            return Check::new("tls", Level::Fail, format!("`{host}` is not a host name: {e}"));
        }
    };
    let (leaf, intermediates) = chain.split_first().expect("a handshake yields a certificate");
    let at = |t: SystemTime| {
        UnixTime::since_unix_epoch(t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default())
    };
    let judged = verifier.verify_server_cert(leaf, intermediates, &name, &[], at(now));
    let detail = vec![format!("CA: {}", ca.display()), format!("name checked: {host}")];
    match judged {
        Ok(_) => {
            let later = verifier.verify_server_cert(
                leaf,
                intermediates,
                &name,
                &[],
                at(now + EXPIRY_WARNING),
            );
            if later.is_err() {
                Check::new("tls", Level::Warn, format!("TLS on {host}:{port} is valid but expires within 30 days"))
                    .details(detail)
                    .fix("renew the server certificate (remove server.crt, server.key, ca.crt, ca.key and run `roomsense broker init --force`)")
            } else {
                Check::new(
                    "tls",
                    Level::Ok,
                    format!(
                        "TLS on {host}:{port}: certificate valid, chains to the CA, names {host}"
                    ),
                )
                .details(detail)
            }
        }
        Err(e) => {
            let (summary, fix) = explain(&e, host);
            Check::new("tls", Level::Fail, format!("TLS on {host}:{port}: {summary}"))
                .details(detail)
                .fix(fix)
        }
    }
}

/// Plain words for a certificate error, and its fix.
fn explain(e: &rustls::Error, host: &str) -> (String, String) {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => (
            "the certificate has expired, clients refuse it".into(),
            "renew it (`roomsense broker init --force` makes a new CA and certificate), or fix the clock if it is wrong".into(),
        ),
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => (
            "the certificate is not valid yet: this clock is behind".into(),
            "set the clock (enable NTP: `timedatectl set-ntp true`)".into(),
        ),
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => (
            format!("the certificate is not valid for the name `{host}`"),
            "connect with a name the certificate lists, or add it to [broker] hostnames and run `roomsense broker init --force`".into(),
        ),
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => (
            "the certificate was not signed by the given CA".into(),
            "give clients the CA that signed it (the broker's `cafile`)".into(),
        ),
        other => (format!("the certificate is refused: {other}"), "replace the certificate".into()),
    }
}

enum Refusal {
    /// Nothing listens, or it hung up at once.
    Closed(String),
    /// Something answered, but not TLS.
    NotTls(String),
}

/// Connects and completes a TLS handshake, accepting any certificate; returns the chain.
fn handshake(host: &str, port: u16) -> Result<Vec<CertificateDer<'static>>, Refusal> {
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| Refusal::Closed(e.to_string()))?
        .next()
        .ok_or_else(|| Refusal::Closed("no address".into()))?;
    let mut sock = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .map_err(|e| Refusal::Closed(e.to_string()))?;
    let _ = sock.set_read_timeout(Some(IO_TIMEOUT));
    let _ = sock.set_write_timeout(Some(IO_TIMEOUT));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Refusal::NotTls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(
            provider.signature_verification_algorithms,
        )))
        .with_no_client_auth();
    // Any name: the real name check is done afterwards, with the real verifier.
    let name = ServerName::try_from(host.to_owned())
        .unwrap_or_else(|_| ServerName::try_from("localhost").expect("localhost is a name"));
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| Refusal::NotTls(e.to_string()))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| Refusal::NotTls(e.to_string()))?;
    }
    conn.peer_certificates()
        .filter(|c| !c.is_empty())
        .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
        .ok_or_else(|| Refusal::NotTls("no certificate".into()))
}

fn verifier(ca: &Path) -> Result<Arc<WebPkiServerVerifier>, String> {
    let pem = std::fs::read(ca).map_err(|e| e.to_string())?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    if roots.is_empty() {
        return Err("no PEM CERTIFICATE in it".into());
    }
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| e.to_string())
}

/// Accepts every certificate, so its chain can be judged afterwards; still checks the
/// handshake signatures.
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_are_explained_with_a_fix() {
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert!(explain(&expired, "h").0.contains("expired"));
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(explain(&name, "hall.local").0.contains("`hall.local`"));
        let issuer = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(explain(&issuer, "h").1.contains("cafile"));
    }

    #[test]
    fn a_closed_port_is_no_listener_not_a_failure() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = check("127.0.0.1", port, None, SystemTime::now());
        assert_eq!(c.level, Level::Warn, "{c:?}");
    }
}
