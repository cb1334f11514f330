//! Shared test fixtures: a fresh database per test (SQLite, or PostgreSQL when
//! `SHIPLOG_TEST_POSTGRES` names a server), the app wired to it, and request helpers.

use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use shiplog_server::auth::Tokens;
use shiplog_server::store::Store;
use shiplog_server::{AppState, app};
use sqlx::Connection as _;
use tower::ServiceExt as _;

pub const WRITER: &str = "writer-token";

/// A database that lives as long as the test: a SQLite file in a temporary directory, or a new
/// database on the PostgreSQL server named by `SHIPLOG_TEST_POSTGRES`.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("SHIPLOG_TEST_POSTGRES") {
            Ok(server) => {
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let name = format!(
                    "shiplog_test_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                let mut admin = sqlx::PgConnection::connect(&server)
                    .await
                    .expect("connect to test PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let base = server.rsplit_once('/').expect("URL has a database").0;
                TestDb {
                    url: format!("{base}/{name}"),
                    _dir: None,
                }
            }
            Err(_) => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("history.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                }
            }
        }
    }

    #[allow(dead_code)]
    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.url).await.expect("open store")
    }
}

/// The tokens of a server with one writer ([`WRITER`]) and an open read side.
pub fn writer_only() -> Tokens {
    Tokens {
        write: vec![WRITER.into()],
        read: None,
    }
}

/// The app on a fresh database, plus the database (keep it alive for the test).
pub async fn fixture() -> (AppState, TestDb) {
    fixture_with(writer_only()).await
}

pub async fn fixture_with(tokens: Tokens) -> (AppState, TestDb) {
    let db = TestDb::new().await;
    let state = AppState::new(db.store().await, tokens, "https://shiplog.test");
    (state, db)
}

/// Sends one request to the app without a socket; returns the status and the JSON body
/// (`Value::Null` when the body is not JSON).
pub async fn send(
    state: &AppState,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Body>,
) -> (StatusCode, Value) {
    let (status, bytes) = send_raw(state, method, uri, token, body).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// [`send`], returning the body's bytes as they are.
pub async fn send_raw(
    state: &AppState,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Body>,
) -> (StatusCode, axum::body::Bytes) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let has_body = body.is_some();
    if has_body {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(body.unwrap_or_else(Body::empty)).unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

pub async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    send(state, Method::GET, uri, None, None).await
}

pub async fn post(state: &AppState, body: &Value) -> (StatusCode, Value) {
    send(
        state,
        Method::POST,
        "/api/v1/deploys",
        Some(WRITER),
        Some(Body::from(body.to_string())),
    )
    .await
}

pub async fn patch(state: &AppState, id: i64, body: &Value) -> (StatusCode, Value) {
    let uri = format!("/api/v1/deploys/{id}");
    send(
        state,
        Method::PATCH,
        &uri,
        Some(WRITER),
        Some(Body::from(body.to_string())),
    )
    .await
}

/// A valid new deploy; `run_id` makes it distinct.
pub fn new_deploy(app: &str, namespace: &str, run_id: i64) -> Value {
    json!({
        "repo": "acme/shop",
        "app": app,
        "namespace": namespace,
        "version": format!("v1.{run_id}"),
        "images": [format!("ghcr.io/acme/{app}:v1.{run_id}")],
        "workloads": [{"kind": "Deployment", "name": format!("{app}-server")}],
        "commit": {"sha": format!("{run_id:040x}"), "message": "Ship it"},
        "actor": "alice",
        "run": {"id": run_id, "attempt": 1, "job": "deploy"},
    })
}

/// Creates a deploy and returns its id.
pub async fn create(state: &AppState, body: &Value) -> i64 {
    let (status, created) = post(state, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().unwrap()
}

/// Creates a deploy that started at `started_at` and finishes it with `status`.
pub async fn record(state: &AppState, mut body: Value, started_at: &str, status: &str) -> i64 {
    body["started_at"] = started_at.into();
    let id = create(state, &body).await;
    let (code, answer) = patch(state, id, &json!({"status": status})).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    id
}
