//! HTTPS: a CA generated at start-up (never written anywhere but the kubeconfigs), the server
//! certificate and a client certificate it signs, and a listener that completes TLS
//! handshakes off the accept loop so one slow client never holds up the others, and tells
//! the application what each connection's client certificate proved
//! ([`crate::client_auth`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::client_auth::{ClientCertificates, Peer};

/// The user (certificate common name) of the client certificate kubesim issues.
pub const CLIENT_USER: &str = "kubesim-admin";
/// Its group (certificate organization), the one Kubernetes grants everything.
pub const CLIENT_GROUP: &str = "system:masters";

/// kubesim's certificate authority.
pub struct Authority {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    /// A new CA with a fresh key.
    pub fn new() -> anyhow::Result<Self> {
        let key = KeyPair::generate().context("generating the CA key")?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(
            DnType::CommonName,
            "kubesim CA (simulator, not a real cluster)",
        );
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(params, key).context("signing the CA")?;
        Ok(Self { ca })
    }

    /// The CA certificate, PEM (for `certificate-authority-data`).
    pub fn pem(&self) -> String {
        self.ca.pem()
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// A certificate for `usage` with `names` and the subject `dn`, and its new key.
    fn issue(
        &self,
        names: Vec<String>,
        dn: &[(DnType, &str)],
        usage: ExtendedKeyUsagePurpose,
    ) -> anyhow::Result<(rcgen::Certificate, KeyPair)> {
        let key = KeyPair::generate().context("generating a key")?;
        let mut params = CertificateParams::new(names)?;
        for (ty, value) in dn {
            params.distinguished_name.push(ty.clone(), *value);
        }
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let cert = params
            .signed_by(&key, &self.ca)
            .context("signing a certificate")?;
        Ok((cert, key))
    }

    /// A client certificate for `user` in `group` (common name and organization, as the API
    /// server reads them): the certificate and its key (PKCS #8), PEM.
    pub fn client_certificate(&self, user: &str, group: &str) -> anyhow::Result<(String, String)> {
        let (cert, key) = self.issue(
            Vec::new(),
            &[
                (DnType::OrganizationName, group),
                (DnType::CommonName, user),
            ],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// The generated certificates.
pub struct Certificates {
    /// PEM of the CA, for `certificate-authority-data`.
    pub ca_pem: String,
    pub server: rustls::ServerConfig,
    /// Judges the client certificates the server requests.
    pub clients: Arc<ClientCertificates>,
    /// A client certificate for [`CLIENT_USER`] in [`CLIENT_GROUP`] and its key, PEM.
    pub client_pem: (String, String),
}

/// Generates a CA, a certificate for `localhost`, `127.0.0.1` and `addr`'s IP, and a client
/// certificate.
pub fn generate(addr: SocketAddr) -> anyhow::Result<Certificates> {
    let authority = Authority::new()?;
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !addr.ip().is_unspecified() && !names.contains(&addr.ip().to_string()) {
        names.push(addr.ip().to_string());
    }
    let (server_cert, server_key) = authority.issue(
        names,
        &[(DnType::CommonName, "kubesim")],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let chain: Vec<CertificateDer<'static>> = vec![server_cert.der().clone(), authority.der()];
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let clients = Arc::new(ClientCertificates::new(authority.der(), provider.clone())?);
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_client_cert_verifier(clients.clone())
        .with_single_cert(chain, key)
        .context("TLS server configuration")?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Certificates {
        ca_pem: authority.pem(),
        server,
        clients,
        client_pem: authority.client_certificate(CLIENT_USER, CLIENT_GROUP)?,
    })
}

/// Accepts TCP connections and hands out those whose TLS handshake completed, with what
/// their client certificate proved.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, Peer)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(
        tcp: TcpListener,
        config: rustls::ServerConfig,
        clients: Arc<ClientCertificates>,
    ) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let (acceptor, tx, clients) = (acceptor.clone(), tx.clone(), clients.clone());
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => {
                            let client_cert = clients.check(tls.get_ref().1.peer_certificates());
                            let peer = Peer {
                                addr: peer,
                                client_cert,
                            };
                            // The server is gone when this fails; nothing to do.
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer {
            addr: self.local,
            client_cert: crate::client_auth::ClientCert::Absent,
        })
    }
}
