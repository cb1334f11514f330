//! Who may write and who may read.
//!
//! Writers present a bearer credential: a GitHub Actions OIDC token ([`oidc`]), which may write
//! only its own repository's records; a static token from `--token-file` ([`token_file`]),
//! which may write the repositories its line names ([`scope`]); or a `--token`, which may
//! write any repository. Readers need nothing unless a read token is configured; then the read
//! token, any static write token, or the console's sign-in cookie ([`session`]). Every static
//! secret is compared as a SHA-256 digest in constant time ([`secret`]); none is logged. A
//! missing or invalid credential is `401`; a valid one used beyond its scope is `403`.

pub mod jwks;
pub mod lock_access;
pub mod oidc;
pub mod scope;
pub mod secret;
pub mod session;
#[cfg(feature = "test-issuer")]
pub mod test_issuer;
pub mod token_file;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use self::oidc::{Oidc, OidcError, OidcIdentity};
use self::scope::RepoScope;
use self::secret::SecretDigest;
use self::session::SessionKey;
use self::token_file::ScopedToken;
use crate::AppState;
use crate::error::AppError;

/// The plain tokens the server accepts: `--token` (write any repository) and `--read-token`.
#[derive(Clone, Default)]
pub struct Tokens {
    pub write: Vec<String>,
    pub read: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("write", &format_args!("[{} redacted]", self.write.len()))
            .field("read", &self.read.as_ref().map(|_| "redacted"))
            .finish()
    }
}

/// A static write token as the server keeps it.
#[derive(Debug)]
struct StaticWriter {
    digest: SecretDigest,
    /// `None`: any repository.
    scope: Option<RepoScope>,
    /// `--token #2`, `tokens.txt:3`.
    origin: String,
}

/// Every credential the server accepts, ready to check.
#[derive(Debug, Default)]
pub struct Auth {
    writers: Vec<StaticWriter>,
    read: Option<SecretDigest>,
    session: Option<SessionKey>,
    oidc: Option<Oidc>,
}

impl From<Tokens> for Auth {
    fn from(tokens: Tokens) -> Auth {
        Auth {
            writers: tokens
                .write
                .iter()
                .enumerate()
                .map(|(index, token)| StaticWriter {
                    digest: SecretDigest::of(token),
                    scope: None,
                    origin: format!("--token #{}", index + 1),
                })
                .collect(),
            read: tokens.read.as_deref().map(SecretDigest::of),
            session: tokens.read.as_deref().map(|t| SessionKey::new(t, false)),
            oidc: None,
        }
    }
}

impl Auth {
    /// Adds the tokens of a `--token-file`.
    pub fn with_scoped_tokens(mut self, tokens: Vec<ScopedToken>) -> Auth {
        self.writers
            .extend(tokens.into_iter().map(|token| StaticWriter {
                digest: token.digest,
                scope: Some(token.scope),
                origin: token.origin,
            }));
        self
    }

    /// Accepts OIDC tokens checked by `oidc`.
    pub fn with_oidc(mut self, oidc: Oidc) -> Auth {
        self.oidc = Some(oidc);
        self
    }

    /// Marks the sign-in cookie `Secure` (the public URL is https).
    pub fn with_secure_cookies(mut self, secure: bool) -> Auth {
        if let Some(session) = self.session.take() {
            self.session = Some(session.secure(secure));
        }
        self
    }

    /// Whether reading needs a credential.
    pub fn read_protected(&self) -> bool {
        self.read.is_some()
    }

    /// The sign-in cookie's key, when a read token is set.
    pub fn session(&self) -> Option<&SessionKey> {
        self.session.as_ref()
    }

    /// Whether `token` is the read token (constant time).
    pub fn is_read_token(&self, token: &str) -> bool {
        self.read
            .is_some_and(|read| read.matches(&SecretDigest::of(token)))
    }

    /// The static writer whose token has `digest`. Every entry is compared, in constant time.
    fn static_writer(&self, digest: &SecretDigest) -> Option<&StaticWriter> {
        self.writers.iter().fold(None, |found, writer| {
            found.or(digest.matches(&writer.digest).then_some(writer))
        })
    }

    /// Who is writing, from the request's bearer token.
    pub async fn writer(&self, headers: &HeaderMap) -> Result<Writer, AppError> {
        let Some(token) = bearer(headers)? else {
            return Err(AppError::Unauthorized);
        };
        let digest = SecretDigest::of(token);
        if let Some(writer) = self.static_writer(&digest) {
            return Ok(Writer {
                who: Who::Token {
                    origin: writer.origin.clone(),
                    fingerprint: digest.fingerprint(),
                },
                scope: match &writer.scope {
                    Some(scope) => WriterScope::Repos(scope.clone()),
                    None => WriterScope::Any,
                },
            });
        }
        if let Some(oidc) = &self.oidc
            && Oidc::looks_like_jwt(token)
        {
            return oidc_writer(oidc, token).await;
        }
        if self.read.is_some_and(|read| read.matches(&digest)) {
            return Err(AppError::OutOfScope(
                "the read token may only read; writing needs a write token or an OIDC token".into(),
            ));
        }
        Err(AppError::InvalidCredentials(
            "the bearer token is not valid".into(),
        ))
    }

    /// Whether the request may read.
    pub fn reader(&self, headers: &HeaderMap) -> Result<(), AppError> {
        let Some(read) = &self.read else {
            return Ok(());
        };
        if let Some(token) = bearer(headers)? {
            let digest = SecretDigest::of(token);
            return if read.matches(&digest) || self.static_writer(&digest).is_some() {
                Ok(())
            } else {
                Err(AppError::InvalidCredentials(
                    "the bearer token is not valid".into(),
                ))
            };
        }
        match (session::from_headers(headers), &self.session) {
            (Some(cookie), Some(key)) if key.verify(cookie, chrono::Utc::now()) => Ok(()),
            (Some(_), _) => Err(AppError::InvalidCredentials(
                "the sign-in has expired or is not valid: sign in again at /sign-in".into(),
            )),
            (None, _) => Err(AppError::InvalidCredentials(
                "reading needs the read token: send `Authorization: Bearer <token>`, or sign \
                 in at /sign-in"
                    .into(),
            )),
        }
    }
}

async fn oidc_writer(oidc: &Oidc, token: &str) -> Result<Writer, AppError> {
    let identity = oidc.verify(token).await.map_err(|e| match e {
        OidcError::Invalid(_) => AppError::InvalidCredentials(e.to_string()),
        OidcError::Unavailable(_) => AppError::Unavailable(e.to_string()),
    })?;
    if !oidc.config.allow.allows(&identity.repository) {
        return Err(AppError::OutOfScope(format!(
            "the OIDC token is from {}, and this server lets only {} write (--allow-repo)",
            identity.repository, oidc.config.allow
        )));
    }
    Ok(Writer {
        scope: WriterScope::Own(identity.repository.clone()),
        who: Who::Oidc(identity),
    })
}

/// The bearer token of a request, if it has one.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(header) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed =
        || AppError::InvalidCredentials("the Authorization header is not `Bearer <token>`".into());
    let text = header.to_str().map_err(|_| malformed())?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Err(malformed()),
    }
}

/// Who wrote, as the logs name them.
#[derive(Debug, Clone)]
pub enum Who {
    /// A static token: where it was configured and the first digits of its SHA-256.
    Token {
        origin: String,
        fingerprint: String,
    },
    Oidc(OidcIdentity),
}

/// The repositories a writer may write.
#[derive(Debug, Clone)]
enum WriterScope {
    Any,
    Repos(RepoScope),
    /// An OIDC token: its own repository only.
    Own(String),
}

/// An authenticated writer.
#[derive(Debug, Clone)]
pub struct Writer {
    pub who: Who,
    scope: WriterScope,
}

impl Writer {
    /// Whether every repository is in scope (then a stored record's repository need not be read).
    pub fn is_unscoped(&self) -> bool {
        matches!(self.scope, WriterScope::Any)
    }

    /// `Ok` when this writer may write `repo`'s records; a `403` saying what it may write.
    pub fn may_write(&self, repo: &str) -> Result<(), AppError> {
        let refuse = |allowed: &dyn std::fmt::Display, kind: &str| {
            Err(AppError::OutOfScope(format!(
                "this {kind} may write {allowed} only, not {repo}"
            )))
        };
        match &self.scope {
            WriterScope::Any => Ok(()),
            WriterScope::Repos(scope) if scope.allows(repo) => Ok(()),
            WriterScope::Repos(scope) => refuse(scope, "token"),
            WriterScope::Own(own) if own.eq_ignore_ascii_case(repo) => Ok(()),
            WriterScope::Own(own) => refuse(own, "OIDC token"),
        }
    }
}

impl std::fmt::Display for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.who {
            Who::Token {
                origin,
                fingerprint,
            } => write!(f, "token {origin} (sha256 {fingerprint}…)"),
            Who::Oidc(id) => {
                write!(f, "oidc {}", id.sub)?;
                if let Some(workflow) = &id.workflow_ref {
                    write!(f, " workflow {workflow}")?;
                }
                if let Some(run) = &id.run_id {
                    write!(f, " run {run}")?;
                }
                Ok(())
            }
        }
    }
}

/// Proof that the request may write, and who is writing.
pub struct WriteAccess(pub Writer);

impl FromRequestParts<AppState> for WriteAccess {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        state.auth.writer(&parts.headers).await.map(WriteAccess)
    }
}

/// Proof that the request may read.
pub struct ReadAccess;

impl FromRequestParts<AppState> for ReadAccess {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        state.auth.reader(&parts.headers).map(|()| ReadAccess)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        headers
    }

    #[test]
    fn tokens_are_redacted_in_debug_output() {
        let tokens = Tokens {
            write: vec!["s3cret".into()],
            read: Some("r3ad".into()),
        };
        let debug = format!("{tokens:?} {:?}", Auth::from(tokens.clone()));
        assert!(
            !debug.contains("s3cret") && !debug.contains("r3ad"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn static_tokens_write_within_their_scope() {
        let file = format!("{} acme/*\n", SecretDigest::of("scoped").to_hex());
        let auth = Auth::from(Tokens {
            write: vec!["any".into()],
            read: Some("reader".into()),
        })
        .with_scoped_tokens(token_file::parse("t.txt", &file).unwrap());

        let any = auth.writer(&headers("any")).await.unwrap();
        assert!(any.is_unscoped() && any.may_write("evil/x").is_ok());
        assert!(any.to_string().starts_with("token --token #1 (sha256 "));

        let scoped = auth.writer(&headers("scoped")).await.unwrap();
        assert!(scoped.may_write("acme/shop").is_ok());
        match scoped.may_write("evil/x") {
            Err(AppError::OutOfScope(m)) => {
                assert_eq!(m, "this token may write acme/* only, not evil/x");
            }
            other => panic!("{other:?}"),
        }
        assert!(scoped.to_string().contains("t.txt:1"), "{scoped}");
        assert!(!scoped.to_string().contains("scoped"), "{scoped}");

        assert!(matches!(
            auth.writer(&headers("reader")).await,
            Err(AppError::OutOfScope(_))
        ));
        assert!(matches!(
            auth.writer(&headers("scope")).await,
            Err(AppError::InvalidCredentials(_))
        ));
        assert!(matches!(
            auth.writer(&HeaderMap::new()).await,
            Err(AppError::Unauthorized)
        ));
        for token in ["reader", "any", "scoped"] {
            assert!(auth.reader(&headers(token)).is_ok(), "{token}");
        }
        assert!(auth.reader(&headers("readerx")).is_err());
    }
}
