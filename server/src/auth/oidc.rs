//! GitHub Actions OIDC: a workflow with `permissions: id-token: write` asks the runner for an ID
//! token whose audience is this server, and sends it as its bearer token. The token is verified
//! against the issuer's published keys ([`super::jwks`]) — signature (RS256/384/512, ES256/384;
//! never `none`, never a key the token carries), `iss`, `aud`, `exp` and `nbf` with
//! [`LEEWAY_SECS`] of clock skew — and it may write only records of its own `repository`, and
//! only when that repository is within `--allow-repo`.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde::Deserialize;

use super::jwks::{Jwks, KeyError};
use super::scope::RepoScope;

/// GitHub Actions' issuer.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Allowed clock skew for `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;
/// The algorithms a token may be signed with (GitHub signs with RS256).
const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// How OIDC tokens are checked.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL, e.g. [`GITHUB_ISSUER`].
    pub issuer: String,
    /// The `aud` a token must carry: the server's public URL unless configured.
    pub audience: String,
    /// Repositories whose workflows may write (`--allow-repo`).
    pub allow: RepoScope,
    /// The least time between two fetches of the issuer's keys.
    pub min_refresh: Duration,
}

/// Who an accepted OIDC token speaks for.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcIdentity {
    /// `OWNER/NAME`: the only repository the token may write.
    pub repository: String,
    /// e.g. `repo:acme/shop:ref:refs/heads/main` or `repo:acme/shop:environment:prod`.
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub workflow_ref: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub actor: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The token is not acceptable (401).
    #[error("the OIDC token {0}")]
    Invalid(String),
    /// The issuer's keys could not be had (503).
    #[error("the OIDC token cannot be checked now: {0}")]
    Unavailable(String),
}

/// Verifies OIDC tokens.
pub struct Oidc {
    pub config: OidcConfig,
    keys: Jwks,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("config", &self.config)
            .finish()
    }
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Result<Oidc, String> {
        if config.allow.is_empty() {
            return Err(
                "OIDC needs --allow-repo: without it any repository on GitHub could write".into(),
            );
        }
        let keys = Jwks::new(&config.issuer, config.min_refresh)?;
        Ok(Oidc { config, keys })
    }

    /// Whether `token` looks like a JWT (three dot-separated parts) rather than a static token.
    pub fn looks_like_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && token.starts_with("eyJ")
    }

    /// Checks `token` and says whom it speaks for.
    pub async fn verify(&self, token: &str) -> Result<OidcIdentity, OidcError> {
        let invalid = |what: &str| OidcError::Invalid(what.to_owned());
        let header = decode_header(token).map_err(|_| {
            invalid("is not a JWT this server accepts (its header is malformed or its algorithm is not RS256, RS384, RS512, ES256 or ES384)")
        })?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid(
                "is signed with an algorithm this server does not accept (RS256, RS384, RS512, ES256 or ES384)",
            ));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| invalid("has no key id (kid)"))?;
        let key = self.keys.key(kid).await.map_err(|e| match e {
            KeyError::UnknownKid => invalid(&format!(
                "is signed with a key {} does not publish (unknown key id)",
                self.config.issuer
            )),
            KeyError::Unreachable(e) => OidcError::Unavailable(e),
        })?;
        if !key.accepts(header.alg) {
            return Err(invalid("names an algorithm that does not fit its key"));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let data = decode::<OidcIdentity>(token, &key.key, &validation)
            .map_err(|e| OidcError::Invalid(self.explain(e.kind())))?;
        Ok(data.claims)
    }

    fn explain(&self, kind: &jsonwebtoken::errors::ErrorKind) -> String {
        use jsonwebtoken::errors::ErrorKind as K;
        match kind {
            K::InvalidSignature => {
                "has a signature that does not verify with the issuer's key".to_owned()
            }
            K::ExpiredSignature => "has expired (exp)".to_owned(),
            K::ImmatureSignature => "is not valid yet (nbf)".to_owned(),
            K::InvalidIssuer => format!("was not issued by {} (iss)", self.config.issuer),
            K::InvalidAudience => format!(
                "is for another audience: request it with audience {} (aud)",
                self.config.audience
            ),
            K::MissingRequiredClaim(claim) => format!("has no {claim} claim"),
            K::InvalidClaimFormat(claim) => format!("has a malformed {claim} claim"),
            K::InvalidAlgorithm => "names an algorithm that does not fit its key".to_owned(),
            K::Json(_) => {
                "has claims that are not what GitHub issues (a repository claim is needed)"
                    .to_owned()
            }
            _ => "is malformed".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts_are_told_from_static_tokens() {
        assert!(Oidc::looks_like_jwt("eyJhbGciOi.eyJzdWIi.c2ln"));
        assert!(!Oidc::looks_like_jwt("writer-token"));
        assert!(!Oidc::looks_like_jwt("a.b.c"));
    }

    #[test]
    fn oidc_without_allowed_repositories_is_refused() {
        let error = Oidc::new(OidcConfig {
            issuer: GITHUB_ISSUER.into(),
            audience: "https://shiplog.test".into(),
            allow: RepoScope::new(Vec::new()),
            min_refresh: Duration::from_secs(60),
        })
        .unwrap_err();
        assert!(error.contains("--allow-repo"), "{error}");
    }
}
