//! The OIDC issuer's signing keys: found through `{issuer}/.well-known/openid-configuration`
//! (`jwks_uri`), fetched when first needed, cached, and fetched again when a token names an
//! unknown key id or the cache is older than [`MAX_AGE`]. Fetches are one at a time and at most
//! one per refresh interval, so a flood of tokens with random key ids costs the issuer one
//! request, not one per token. Not for verifying tokens: see [`super::oidc`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::Deserialize;

/// Keys older than this are fetched again (in the request that finds them old).
pub const MAX_AGE: Duration = Duration::from_secs(3600);
/// The least time between two fetches (also after a failed one).
pub const DEFAULT_MIN_REFRESH: Duration = Duration::from_secs(60);
/// The largest discovery document or key set read.
const BODY_LIMIT: usize = 256 * 1024;

/// A verification key and the algorithms it may verify.
pub struct SigningKey {
    pub key: DecodingKey,
    pub family: AlgorithmFamily,
}

impl SigningKey {
    pub fn accepts(&self, alg: Algorithm) -> bool {
        alg.family() == self.family
    }
}

/// Why no key could be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the token is signed with a key the issuer does not publish (unknown key id)")]
    UnknownKid,
    #[error("the issuer's keys could not be fetched: {0}")]
    Unreachable(String),
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, Arc<SigningKey>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// The issuer's key set, cached.
pub struct Jwks {
    issuer: String,
    client: reqwest::Client,
    min_refresh: Duration,
    cache: RwLock<Cache>,
    /// Held while fetching, so that concurrent misses wait for one fetch.
    fetching: tokio::sync::Mutex<()>,
}

impl Jwks {
    pub fn new(issuer: &str, min_refresh: Duration) -> Result<Jwks, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("shiplog-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the OIDC key client: {e}"))?;
        Ok(Jwks {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client,
            min_refresh,
            cache: RwLock::new(Cache::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The key named `kid`.
    pub async fn key(&self, kid: &str) -> Result<Arc<SigningKey>, KeyError> {
        if let (Some(key), false) = self.cached(kid) {
            return Ok(key);
        }
        let _fetching = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let (cached, stale) = self.cached(kid);
        if let (Some(key), false) = (&cached, stale) {
            return Ok(key.clone());
        }
        let now = Instant::now();
        let recently = self
            .read()
            .last_attempt
            .is_some_and(|at| now.duration_since(at) < self.min_refresh);
        if recently {
            return cached.ok_or(KeyError::UnknownKid);
        }
        self.write().last_attempt = Some(now);
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(issuer = %self.issuer, keys = keys.len(), "fetched the OIDC issuer's keys");
                let mut cache = self.write();
                cache.keys = keys;
                cache.fetched_at = Some(now);
                cache.keys.get(kid).cloned().ok_or(KeyError::UnknownKid)
            }
            Err(e) => {
                tracing::warn!(issuer = %self.issuer, error = %e, "fetching the OIDC issuer's keys failed");
                cached.ok_or(KeyError::Unreachable(e))
            }
        }
    }

    /// The cached key, and whether the cache is stale (or empty).
    fn cached(&self, kid: &str) -> (Option<Arc<SigningKey>>, bool) {
        let cache = self.read();
        let stale = cache.fetched_at.is_none_or(|at| at.elapsed() >= MAX_AGE);
        (cache.keys.get(kid).cloned(), stale)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<SigningKey>>, String> {
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        #[derive(Deserialize)]
        struct KeySet {
            keys: Vec<serde_json::Value>,
        }
        let discovery_url = format!("{}/.well-known/openid-configuration", self.issuer);
        let discovery: Discovery = self.get_json(&discovery_url).await?;
        if discovery.issuer.trim_end_matches('/') != self.issuer {
            return Err(format!(
                "{discovery_url} names the issuer {:?}, not {:?}",
                discovery.issuer, self.issuer
            ));
        }
        let set: KeySet = self.get_json(&discovery.jwks_uri).await?;
        Ok(set.keys.into_iter().filter_map(usable_key).collect())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?
        {
            if body.len() + chunk.len() > BODY_LIMIT {
                return Err(format!("GET {url}: the answer is over {BODY_LIMIT} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not the expected JSON: {e}"))
    }
}

/// A signing key with an id, RSA or EC (an issuer's `oct` or other keys are not for us);
/// keys this crate cannot read are skipped.
fn usable_key(value: serde_json::Value) -> Option<(String, Arc<SigningKey>)> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let kid = jwk.common.key_id.clone()?;
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
        AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
        _ => return None,
    };
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, Arc::new(SigningKey { key, family })))
}
