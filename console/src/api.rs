//! Every request the console makes to the server's JSON API.

use gloo_net::http::Request;
use serde::de::DeserializeOwned;
use shiplog_model::{
    Cursor, Deliveries, Deploy, DeployId, EnvironmentMatrix, ErrorBody, HistoryQuery, Insights,
    Lock, LockRequest, Locks, ManifestsDiff, Page,
};

use crate::url_state::{encode_pairs, encode_segment};

/// A request that failed, explained for a person.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure(pub String);

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ApiFailure> {
    let response = Request::get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| ApiFailure(format!("The server could not be reached ({e}).")))?;
    read_answer(response).await
}

/// The header the server requires of the console's lock requests (a cross-site form cannot
/// send it).
const CONSOLE_HEADER: &str = "X-Shiplog-Console";

/// The locks in force, the freeze windows and the latest lock events.
pub async fn locks() -> Result<Locks, ApiFailure> {
    get_json("/api/v1/locks").await
}

/// The lock path of `environment` (and `app`).
fn lock_path(environment: &str, app: Option<&str>) -> String {
    let mut path = format!("/api/v1/locks/{}", encode_segment(environment));
    if let Some(app) = app {
        path = format!("{path}/{}", encode_segment(app));
    }
    path
}

fn unreachable(e: gloo_net::Error) -> ApiFailure {
    ApiFailure(format!("The server could not be reached ({e})."))
}

/// Locks `environment` (or one app in it) as `request` says.
pub async fn lock(
    environment: &str,
    app: Option<&str>,
    request: &LockRequest,
) -> Result<Lock, ApiFailure> {
    let response = Request::put(&lock_path(environment, app))
        .header(CONSOLE_HEADER, "lock")
        .header("Accept", "application/json")
        .json(request)
        .map_err(unreachable)?
        .send()
        .await
        .map_err(unreachable)?;
    read_answer(response).await
}

/// Lifts the lock on `environment` (or on one app in it), as `by`.
pub async fn unlock(environment: &str, app: Option<&str>, by: &str) -> Result<(), ApiFailure> {
    let url = format!(
        "{}?{}",
        lock_path(environment, app),
        encode_pairs(&[("by", by)])
    );
    let response = Request::delete(&url)
        .header(CONSOLE_HEADER, "unlock")
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    if response.ok() {
        return Ok(());
    }
    read_answer::<serde_json::Value>(response).await.map(|_| ())
}

/// `response` as `T`, or what went wrong said for a person (a 401 sends the browser to sign in).
async fn read_answer<T: DeserializeOwned>(
    response: gloo_net::http::Response,
) -> Result<T, ApiFailure> {
    if response.status() == 401 {
        go_to_sign_in();
        return Err(ApiFailure(
            "This server's history needs its read token: taking you to the sign-in page.".into(),
        ));
    }
    if !response.ok() {
        let status = response.status();
        let message = match response.json::<ErrorBody>().await {
            Ok(body) => body.error.message,
            Err(_) => response.status_text(),
        };
        return Err(ApiFailure(format!(
            "The server answered {status}: {message}"
        )));
    }
    response
        .json::<T>()
        .await
        .map_err(|e| ApiFailure(format!("The server's answer could not be read ({e}).")))
}

/// Sends the browser to the server's sign-in page, which brings it back here afterwards.
fn go_to_sign_in() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let _ = location.set_href(&format!("/sign-in?{}", encode_pairs(&[("next", here)])));
}

/// One page of the history.
pub async fn history(query: &HistoryQuery) -> Result<Page<Deploy>, ApiFailure> {
    get_json(&format!(
        "/api/v1/deploys?{}",
        encode_pairs(&query.to_pairs())
    ))
    .await
}

/// One deploy.
pub async fn deploy(id: DeployId) -> Result<Deploy, ApiFailure> {
    get_json(&format!("/api/v1/deploys/{id}")).await
}

/// The deploy of the same app and namespace just before `deploy`, if any.
pub async fn previous(deploy: &Deploy) -> Result<Option<Deploy>, ApiFailure> {
    let query = HistoryQuery {
        app: Some(deploy.app.clone()),
        namespace: Some(deploy.namespace.clone()),
        limit: Some(1),
        cursor: Some(Cursor {
            started_at_ms: deploy.started_at.timestamp_millis(),
            id: deploy.id,
        }),
        ..Default::default()
    };
    Ok(history(&query).await?.items.into_iter().next())
}

/// The latest deploys of `deploy`'s app to its namespace (at most `limit`), newest first.
pub async fn same_environment(deploy: &Deploy, limit: u32) -> Result<Vec<Deploy>, ApiFailure> {
    let query = HistoryQuery {
        app: Some(deploy.app.clone()),
        namespace: Some(deploy.namespace.clone()),
        limit: Some(limit),
        ..Default::default()
    };
    Ok(history(&query).await?.items)
}

/// How what deploy `to` applied differs from what deploy `from` applied.
pub async fn compare(from: DeployId, to: DeployId) -> Result<ManifestsDiff, ApiFailure> {
    get_json(&format!("/api/v1/deploys/{from}/diff/{to}")).await
}

/// The webhook deliveries of deploy `id`.
pub async fn deliveries(id: DeployId) -> Result<Deliveries, ApiFailure> {
    get_json(&format!("/api/v1/deliveries?deploy={id}")).await
}

/// The environment matrix.
pub async fn environments() -> Result<EnvironmentMatrix, ApiFailure> {
    get_json("/api/v1/environments").await
}

/// Insights over the last `days` days.
pub async fn insights(days: u32) -> Result<Insights, ApiFailure> {
    let since = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    let pairs = [(
        "since",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )];
    get_json(&format!("/api/v1/insights?{}", encode_pairs(&pairs))).await
}
