//! What wraps every request: the request log (outermost, so it records every answer),
//! authentication (a bearer token or a client certificate), and fault injection (latency,
//! error statuses, dropped connections, watches that end at once with no event).

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use crate::client_auth::{ClientCert, Peer};
use crate::config::{FaultAction, FaultRule};
use crate::error::ApiError;

/// Requires `Authorization: Bearer <token>` or a client certificate signed by kubesim's CA
/// (either is enough, as for the API server's union of authenticators).
pub async fn auth(State(token): State<Arc<String>>, request: Request, next: Next) -> Response {
    let sent = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let certified = request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .is_some_and(|peer| peer.client_cert == ClientCert::Verified);
    if certified || bool::from(sent.as_bytes().ct_eq(token.as_bytes())) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// The faults to inject.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
    pub latency: Duration,
}

/// Marks a response whose connection was dropped on purpose (for the request log).
#[derive(Clone, Copy)]
struct Dropped;

/// Whether `request` asks for a watch: `watch=true` or `watch=1` in the query, or the
/// legacy `/watch/` path.
fn is_watch(request: &Request) -> bool {
    let uri = request.uri();
    uri.query()
        .unwrap_or("")
        .split('&')
        .any(|pair| matches!(pair, "watch=true" | "watch=1"))
        || crate::api::path::parse(uri.path()).is_some_and(|t| t.watch)
}

pub async fn faults(State(faults): State<Arc<Faults>>, request: Request, next: Next) -> Response {
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let watch = is_watch(&request);
    let action = {
        let mut rng = rand::rng();
        faults
            .rules
            .iter()
            .filter(|r| r.method.as_ref().is_none_or(|m| m == request.method()))
            .filter(|r| watch || r.action != FaultAction::EmptyWatch)
            .find(|r| rng.random_bool(r.rate))
            .map(|r| r.action)
    };
    match action {
        None => next.run(request).await,
        Some(FaultAction::Status(code)) => ApiError::fault(code).into_response(),
        Some(FaultAction::EmptyWatch) => (
            axum::http::StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-cache, private"),
            ],
        )
            .into_response(),
        Some(FaultAction::Drop) => {
            // A body that fails before its first byte makes the server abort the connection.
            let failing = futures_util::stream::once(async {
                Err::<axum::body::Bytes, _>(std::io::Error::other(
                    "connection dropped (kubesim fault)",
                ))
            });
            let mut response = Body::from_stream(failing).into_response();
            response.extensions_mut().insert(Dropped);
            response
        }
    }
}

/// `--request-log`: one JSON line per request.
pub struct RequestLog {
    file: Mutex<std::fs::File>,
}

impl RequestLog {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    fn record(&self, line: &serde_json::Value) {
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(&bytes) {
            tracing::warn!("request log: {e}");
        }
    }
}

pub async fn request_log(
    State(log): State<Arc<RequestLog>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let dry_run = query.split('&').any(|pair| pair == "dryRun=All");
    let response = next.run(request).await;
    let dropped = response.extensions().get::<Dropped>().is_some();
    log.record(&json!({
        "time": crate::meta::now(),
        "method": method,
        "path": path,
        "query": query,
        "status": response.status().as_u16(),
        "dryRun": dry_run,
        "dropped": dropped,
        "contentType": content_type,
    }));
    response
}
