//! Bearer-token access control. Writers need one of the `--token` values; readers need the
//! `--read-token` (or a write token) only when one is configured. Tokens are compared in
//! constant time and never logged.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::AppError;

/// The tokens the server accepts.
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

impl Tokens {
    fn is_writer(&self, presented: &str) -> bool {
        self.write.iter().any(|token| equal(token, presented))
    }

    fn is_reader(&self, presented: &str) -> bool {
        self.read
            .as_deref()
            .is_some_and(|token| equal(token, presented))
            || self.is_writer(presented)
    }
}

fn equal(expected: &str, presented: &str) -> bool {
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// The bearer token of a request, if it has one.
fn bearer(parts: &Parts) -> Result<Option<&str>, AppError> {
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = header.to_str().map_err(|_| AppError::Unauthorized)?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Err(AppError::Unauthorized),
    }
}

/// Proof that the request may write.
pub struct WriteAccess;

impl FromRequestParts<AppState> for WriteAccess {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match bearer(parts)? {
            None => Err(AppError::Unauthorized),
            Some(token) if state.tokens.is_writer(token) => Ok(WriteAccess),
            Some(_) => Err(AppError::Forbidden),
        }
    }
}

/// Proof that the request may read.
pub struct ReadAccess;

impl FromRequestParts<AppState> for ReadAccess {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if state.tokens.read.is_none() {
            return Ok(ReadAccess);
        }
        match bearer(parts)? {
            None => Err(AppError::Unauthorized),
            Some(token) if state.tokens.is_reader(token) => Ok(ReadAccess),
            Some(_) => Err(AppError::Forbidden),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_in_debug_output() {
        let tokens = Tokens {
            write: vec!["s3cret".into()],
            read: Some("r3ad".into()),
        };
        let debug = format!("{tokens:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("r3ad"),
            "{debug}"
        );
        assert!(tokens.is_writer("s3cret"));
        assert!(!tokens.is_writer("s3cre"));
        assert!(tokens.is_reader("r3ad") && tokens.is_reader("s3cret"));
        assert!(!tokens.is_reader("nope"));
    }
}
