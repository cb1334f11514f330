//! A local OIDC issuer for tests (feature `test-issuer`): its own RSA key pair, a discovery
//! document at `{url}/.well-known/openid-configuration` and its keys at `{url}/jwks`, and tokens
//! shaped like GitHub Actions' (claims `repository`, `workflow_ref`, `run_id`, …). It can be
//! served on its own port ([`TestIssuer::serve`]) or mounted in another test server
//! ([`TestIssuer::routes`], as the Action's GitHub stand-in does). It counts how often its keys
//! were fetched, so tests can prove the server does not hammer the issuer. Never for production.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};

/// Two key pairs for the whole test process (RSA key generation is slow): the issuer's, and
/// another one that no issuer publishes, for forged signatures.
static KEYS: LazyLock<[rsa::RsaPrivateKey; 2]> = LazyLock::new(|| {
    let mut rng = rsa::rand_core::OsRng;
    let mut generate = || rsa::RsaPrivateKey::new(&mut rng, 2048).expect("generating an RSA key");
    [generate(), generate()]
});

/// The issuer's key id.
pub const KID: &str = "shiplog-test-key-1";

/// A local OIDC issuer.
pub struct TestIssuer {
    url: String,
    key_fetches: AtomicUsize,
}

impl TestIssuer {
    /// An issuer whose URL is `url` (where its [`routes`](Self::routes) are served).
    pub fn new(url: &str) -> Arc<TestIssuer> {
        Arc::new(TestIssuer {
            url: url.trim_end_matches('/').to_owned(),
            key_fetches: AtomicUsize::new(0),
        })
    }

    /// Serves the issuer on a loopback port until the returned task is aborted.
    pub async fn serve() -> (Arc<TestIssuer>, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the test issuer");
        let issuer = TestIssuer::new(&format!("http://{}", listener.local_addr().unwrap()));
        let routes = issuer.routes();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, routes).await;
        });
        (issuer, task)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many times the key set was fetched.
    pub fn key_fetches(&self) -> usize {
        self.key_fetches.load(Ordering::SeqCst)
    }

    /// The discovery document and the key set.
    pub fn routes(self: &Arc<Self>) -> Router {
        let discovery = json!({
            "issuer": self.url,
            "jwks_uri": format!("{}/jwks", self.url),
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "repository"],
        });
        let issuer = self.clone();
        Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || std::future::ready(axum::Json(discovery.clone()))),
            )
            .route(
                "/jwks",
                get(move || {
                    issuer.key_fetches.fetch_add(1, Ordering::SeqCst);
                    std::future::ready(axum::Json(json!({"keys": [public_jwk(&KEYS[0], KID)]})))
                }),
            )
    }

    /// Claims as GitHub issues them to a workflow of `repository`, valid for five minutes.
    pub fn github_claims(&self, audience: &str, repository: &str) -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        let owner = repository.split('/').next().unwrap_or_default();
        json!({
            "iss": self.url,
            "aud": audience,
            "sub": format!("repo:{repository}:ref:refs/heads/main"),
            "repository": repository,
            "repository_owner": owner,
            "ref": "refs/heads/main",
            "workflow_ref": format!("{repository}/.github/workflows/deploy.yml@refs/heads/main"),
            "run_id": "4242",
            "run_attempt": "1",
            "actor": "alice",
            "jti": format!("jti-{now}"),
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
        })
    }

    /// `claims` signed with the issuer's key (RS256, its key id).
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.to_owned());
        sign(&header, claims, &KEYS[0])
    }

    /// `claims` signed with a key the issuer does not publish, under `kid`.
    pub fn forge(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        sign(&header, claims, &KEYS[1])
    }

    /// An unsigned token (`alg: none`) with the issuer's key id.
    pub fn unsigned(&self, claims: &Value) -> String {
        let header = json!({"alg": "none", "typ": "JWT", "kid": KID});
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }
}

fn sign(header: &Header, claims: &Value, key: &rsa::RsaPrivateKey) -> String {
    let der = key.to_pkcs1_der().expect("encoding the RSA key");
    jsonwebtoken::encode(header, claims, &EncodingKey::from_rsa_der(der.as_bytes()))
        .expect("signing a test token")
}

fn public_jwk(key: &rsa::RsaPrivateKey, kid: &str) -> Value {
    json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    })
}
