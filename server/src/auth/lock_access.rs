//! Who may lock and unlock environments, and who may ask whether a deploy is held.
//!
//! Locks coordinate people; they are not a permission: anyone who can deploy can override one
//! (`override-lock`, audited). So any writer may lock or unlock (its credential is audited),
//! and the console may too, as `--console-locks` says:
//! - `signed-in` (the default): a reader signed in with the read token; on a server without a
//!   read token the console cannot lock;
//! - `open`: anyone who can read (everyone, on a server without a read token);
//! - `off`: never.
//!
//! A console request carries the header `X-Shiplog-Console`, which a cross-site form cannot
//! send and a cross-site script cannot without a CORS preflight the server never grants.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::AppError;

/// The header the console sends with its lock requests.
pub const CONSOLE_HEADER: &str = "x-shiplog-console";

/// `--console-locks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ConsoleLocks {
    /// Readers signed in with the read token.
    #[default]
    SignedIn,
    /// Anyone who can read.
    Open,
    /// Nobody: only writers' tokens lock.
    Off,
}

/// A request allowed to lock or unlock: the credential, as the audit log names it.
pub struct LockAccess(pub String);

impl FromRequestParts<AppState> for LockAccess {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if parts.headers.contains_key(AUTHORIZATION) || !parts.headers.contains_key(CONSOLE_HEADER)
        {
            let writer = state.auth.writer(&parts.headers).await?;
            return Ok(LockAccess(writer.to_string()));
        }
        match state.console_locks {
            ConsoleLocks::Off => Err(AppError::OutOfScope(
                "this server does not let the console lock (--console-locks off): use \
                 `shiplog lock` with a write token"
                    .into(),
            )),
            ConsoleLocks::SignedIn if !state.auth.read_protected() => Err(AppError::OutOfScope(
                "this server has no read token, so nobody signs in to lock from the \
                     console (--console-locks signed-in): use `shiplog lock` with a write \
                     token, or start the server with --console-locks open"
                    .into(),
            )),
            ConsoleLocks::SignedIn | ConsoleLocks::Open => {
                state.auth.reader(&parts.headers)?;
                Ok(LockAccess(
                    if state.auth.read_protected() {
                        "console (signed in)"
                    } else {
                        "console"
                    }
                    .into(),
                ))
            }
        }
    }
}

/// A request allowed to ask whether a deploy is held: a reader, or any writer (a deploy step's
/// OIDC token writes but does not read).
pub struct CheckAccess;

impl FromRequestParts<AppState> for CheckAccess {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match state.auth.reader(&parts.headers) {
            Ok(()) => Ok(CheckAccess),
            Err(refused) if parts.headers.contains_key(AUTHORIZATION) => state
                .auth
                .writer(&parts.headers)
                .await
                .map(|_| CheckAccess)
                .map_err(|_| refused),
            Err(refused) => Err(refused),
        }
    }
}
