//! Client certificate authentication, as the API server's x509 authenticator does it: the TLS
//! handshake *requests* a client certificate but never requires one, and only checks that the
//! client holds the certificate's key; whether the certificate chains to kubesim's CA (with
//! the `clientAuth` usage) is decided per connection after the handshake ([`ClientCert`]), so
//! an unknown certificate gets a `401` answer rather than a failed handshake.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::tls::TlsListener;

/// What a connection's client certificate proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCert {
    /// The client sent none.
    Absent,
    /// Signed by kubesim's CA for client authentication: the request is authenticated.
    Verified,
    /// Sent but not trusted (another CA, expired, wrong usage): worth nothing.
    Rejected,
}

/// Who is at the other end of a TLS connection (axum's connect info).
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    pub addr: SocketAddr,
    pub client_cert: ClientCert,
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        *stream.remote_addr()
    }
}

/// Requests client certificates in the handshake and judges them after it.
#[derive(Debug)]
pub struct ClientCertificates {
    /// Verifies chains to kubesim's CA (and handshake signatures for any certificate).
    ca: Arc<dyn ClientCertVerifier>,
}

impl ClientCertificates {
    /// Trusts client certificates issued by `ca`.
    pub fn new(
        ca: CertificateDer<'static>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca)?;
        let ca = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
        Ok(Self { ca })
    }

    /// Judges the certificate chain a client presented (`None`: it sent none).
    pub fn check(&self, chain: Option<&[CertificateDer<'_>]>) -> ClientCert {
        match chain {
            Some([end_entity, intermediates @ ..]) => {
                match self
                    .ca
                    .verify_client_cert(end_entity, intermediates, UnixTime::now())
                {
                    Ok(_) => ClientCert::Verified,
                    Err(e) => {
                        tracing::debug!("client certificate rejected: {e}");
                        ClientCert::Rejected
                    }
                }
            }
            _ => ClientCert::Absent,
        }
    }
}

impl ClientCertVerifier for ClientCertificates {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.ca.root_hint_subjects()
    }

    /// Any certificate completes the handshake; [`ClientCertificates::check`] judges it.
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    /// The client proves it holds the certificate's key, whoever issued it.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.ca.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.ca.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.ca.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::Authority;

    #[test]
    fn only_certificates_of_our_ca_for_client_auth_are_verified() {
        let ours = Authority::new().unwrap();
        let theirs = Authority::new().unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let clients = ClientCertificates::new(ours.der(), provider).unwrap();
        let pem_der =
            |pem: &str| rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap();
        let (good, _) = ours.client_certificate("alice", "devs").unwrap();
        let (foreign, _) = theirs.client_certificate("alice", "devs").unwrap();
        let good: CertificateDer = pem_der(&good);
        let foreign: CertificateDer = pem_der(&foreign);
        assert_eq!(clients.check(Some(&[good])), ClientCert::Verified);
        assert_eq!(clients.check(Some(&[foreign])), ClientCert::Rejected);
        assert_eq!(clients.check(None), ClientCert::Absent);
        assert!(!clients.client_auth_mandatory());
    }
}
