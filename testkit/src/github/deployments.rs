//! The GitHub stand-in's deployments: create and list deployments
//! (`/repos/{owner}/{repo}/deployments`) and their statuses
//! (`/repos/{owner}/{repo}/deployments/{id}/statuses`), held to the rules GitHub documents for
//! them, after the stand-in's own (a `User-Agent`, the token):
//!
//! - a token without `deployments: write` is refused 403 `Resource not accessible by
//!   integration` ([`GithubStandin::deny_deployments`]);
//! - a deployment needs a `ref` (422 `Validation Failed` otherwise); `auto_merge` (default
//!   `true`) and `required_contexts` (default: every context) are kept for the tests to check,
//!   `production_environment` defaults to whether the environment is `production`, `payload`
//!   is an object or a JSON text;
//! - a status names an existing deployment of the repository (404 otherwise), a `state` among
//!   GitHub's seven and a `description` of at most 140 characters (422 otherwise);
//! - a `success` with `auto_inactive` (default `true`) adds an `inactive` status to every
//!   earlier non-transient, non-production deployment of the same repository and environment
//!   whose latest status is `success`.
//!
//! [`GithubStandin::lose_created_answers`] stores a deployment and answers 502, as GitHub may.
//!
//! GitHub documents no rule on the order of states (a `success` may follow a `failure`), so
//! the stand-in enforces none.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;

use super::{DOCUMENTATION_URL, GithubStandin, Shared, lock, message, paging, refusal};

/// GitHub's limit for a deployment status's description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// The states GitHub knows.
pub const STATES: [&str; 7] = [
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];

/// A deployment, as the stand-in keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: i64,
    /// `owner/name`.
    pub repo: String,
    pub git_ref: String,
    pub environment: String,
    pub payload: Value,
    pub description: Option<String>,
    pub auto_merge: bool,
    /// `None`: not given (every context must be green).
    pub required_contexts: Option<Vec<String>>,
    pub transient_environment: bool,
    pub production_environment: bool,
    /// In the order they were added.
    pub statuses: Vec<Status>,
}

impl Deployment {
    /// The states of its statuses, in order.
    pub fn states(&self) -> Vec<&str> {
        self.statuses.iter().map(|s| s.state.as_str()).collect()
    }
}

/// A deployment status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: i64,
    pub state: String,
    pub description: String,
    pub log_url: String,
    pub environment_url: String,
    /// Whether GitHub added it (`auto_inactive`) rather than a request.
    pub automatic: bool,
}

/// The deployments of every repository.
#[derive(Default)]
pub(super) struct Book {
    deployments: Vec<Deployment>,
    denied: bool,
    next_status: i64,
    /// Creations still to be answered 502 once stored.
    lost_answers: usize,
}

impl GithubStandin {
    /// Refuses every deployments request as GitHub refuses a token without
    /// `deployments: write`.
    pub fn deny_deployments(&self) {
        lock(&self.state).deployments.denied = true;
    }

    /// Answers the next `count` creations 502 Bad Gateway after storing them, as GitHub may
    /// under load: a client that retries blindly makes the deployment twice.
    pub fn lose_created_answers(&self, count: usize) {
        lock(&self.state).deployments.lost_answers = count;
    }

    /// Every deployment, in the order they were created.
    pub fn deployments(&self) -> Vec<Deployment> {
        lock(&self.state).deployments.deployments.clone()
    }
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/deployments",
            get(list_deployments).post(create_deployment),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}/statuses",
            get(list_statuses).post(create_status),
        )
}

fn validation_failed(field: &str, code: &str, text: Option<&str>) -> Response {
    let mut error = json!({"resource": "Deployment", "code": code, "field": field});
    if let Some(text) = text {
        error["message"] = text.into();
    }
    let answer = json!({
        "message": "Validation Failed",
        "errors": [error],
        "documentation_url": DOCUMENTATION_URL,
        "status": "422",
    });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(answer)).into_response()
}

/// The token's and the permission's refusal, if any.
fn denied(state: &Shared, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    if let Some(refusal) = refusal(state, uri, headers) {
        return Some(refusal);
    }
    lock(state).deployments.denied.then(|| {
        message(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        )
    })
}

fn deployment_json(d: &Deployment) -> Value {
    let url = format!(
        "https://api.github.com/repos/{}/deployments/{}",
        d.repo, d.id
    );
    json!({
        "url": url,
        "id": d.id,
        "node_id": format!("DE_kwDO{}", d.id),
        "sha": if d.git_ref.chars().all(|c| c.is_ascii_hexdigit()) { d.git_ref.clone() }
               else { "0123456789abcdef0123456789abcdef01234567".to_owned() },
        "ref": d.git_ref,
        "task": "deploy",
        "payload": d.payload,
        "original_environment": d.environment,
        "environment": d.environment,
        "description": d.description,
        "creator": {"login": "github-actions[bot]", "type": "Bot"},
        "created_at": "2026-01-01T12:00:00Z",
        "updated_at": "2026-01-01T12:00:00Z",
        "statuses_url": format!("{url}/statuses"),
        "repository_url": format!("https://api.github.com/repos/{}", d.repo),
        "transient_environment": d.transient_environment,
        "production_environment": d.production_environment,
    })
}

fn status_json(d: &Deployment, s: &Status) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/{}/deployments/{}/statuses/{}", d.repo, d.id, s.id),
        "id": s.id,
        "state": s.state,
        "description": s.description,
        "environment": d.environment,
        "target_url": s.log_url,
        "log_url": s.log_url,
        "environment_url": s.environment_url,
        "deployment_url": format!("https://api.github.com/repos/{}/deployments/{}", d.repo, d.id),
        "creator": {"login": "github-actions[bot]", "type": "Bot"},
    })
}

/// An optional field of `body` that must be of the type `check` accepts when present.
fn typed<'b>(
    body: &'b Value,
    field: &str,
    check: fn(&Value) -> bool,
) -> Result<Option<&'b Value>, Box<Response>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) if check(value) => Ok(Some(value)),
        Some(_) => Err(Box::new(validation_failed(field, "invalid", None))),
    }
}

/// The new deployment `body` describes, or GitHub's refusal.
fn new_deployment(repo: String, body: &Value) -> Result<Deployment, Box<Response>> {
    let Some(git_ref) = typed(body, "ref", Value::is_string)?.and_then(Value::as_str) else {
        return Err(Box::new(validation_failed("ref", "missing_field", None)));
    };
    let text = |field: &str| -> Result<Option<String>, Box<Response>> {
        Ok(typed(body, field, Value::is_string)?.map(|v| v.as_str().unwrap_or_default().into()))
    };
    let flag = |field: &str| -> Result<Option<bool>, Box<Response>> {
        Ok(typed(body, field, Value::is_boolean)?.and_then(Value::as_bool))
    };
    let environment = text("environment")?.unwrap_or_else(|| "production".into());
    let required_contexts = typed(body, "required_contexts", |v| {
        v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    })?
    .map(|v| serde_json::from_value(v.clone()).unwrap_or_default());
    let payload = match typed(body, "payload", |v| v.is_object() || v.is_string())? {
        Some(Value::String(text)) => serde_json::from_str(text)
            .map_err(|_| Box::new(validation_failed("payload", "invalid", None)))?,
        Some(object) => object.clone(),
        None => json!({}),
    };
    Ok(Deployment {
        id: 0,
        repo,
        git_ref: git_ref.to_owned(),
        production_environment: flag("production_environment")?
            .unwrap_or(environment == "production"),
        environment,
        payload,
        description: text("description")?,
        auto_merge: flag("auto_merge")?.unwrap_or(true),
        required_contexts,
        transient_environment: flag("transient_environment")?.unwrap_or(false),
        statuses: Vec::new(),
    })
}

async fn create_deployment(
    State(state): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(refusal) = denied(&state, &uri, &headers) {
        return refusal;
    }
    let mut deployment = match new_deployment(format!("{owner}/{repo}"), &body) {
        Ok(deployment) => deployment,
        Err(refusal) => return *refusal,
    };
    let mut inner = lock(&state);
    let book = &mut inner.deployments;
    deployment.id = 1_000_001 + book.deployments.len() as i64;
    let answer = deployment_json(&deployment);
    book.deployments.push(deployment);
    if book.lost_answers > 0 {
        book.lost_answers -= 1;
        return (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response();
    }
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn list_deployments(
    State(state): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = denied(&state, &uri, &headers) {
        return refusal;
    }
    let repo = format!("{owner}/{repo}");
    let (per_page, page) = paging(&query);
    let inner = lock(&state);
    // Newest first, as GitHub lists them.
    let shown: Vec<Value> = inner
        .deployments
        .deployments
        .iter()
        .rev()
        .filter(|d| d.repo == repo)
        .filter(|d| query.get("environment").is_none_or(|e| *e == d.environment))
        .filter(|d| query.get("ref").is_none_or(|r| *r == d.git_ref))
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(deployment_json)
        .collect();
    axum::Json(Value::Array(shown)).into_response()
}

/// The status `body` describes, or GitHub's refusal.
fn new_status(body: &Value) -> Result<Status, Box<Response>> {
    let state = match typed(body, "state", Value::is_string)?.and_then(Value::as_str) {
        None => return Err(Box::new(validation_failed("state", "missing_field", None))),
        Some(state) if !STATES.contains(&state) => {
            return Err(Box::new(validation_failed("state", "invalid", None)));
        }
        Some(state) => state.to_owned(),
    };
    let text = |field: &str| -> Result<String, Box<Response>> {
        Ok(typed(body, field, Value::is_string)?
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    };
    let description = text("description")?;
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Box::new(validation_failed(
            "description",
            "custom",
            Some("description is too long (maximum is 140 characters)"),
        )));
    }
    let log_url = match text("log_url")? {
        url if url.is_empty() => text("target_url")?,
        url => url,
    };
    Ok(Status {
        id: 0,
        state,
        description,
        log_url,
        environment_url: text("environment_url")?,
        automatic: false,
    })
}

async fn create_status(
    State(state): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, i64)>,
    uri: Uri,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(refusal) = denied(&state, &uri, &headers) {
        return refusal;
    }
    let repo = format!("{owner}/{repo}");
    let mut inner = lock(&state);
    let book = &mut inner.deployments;
    let Some(at) = book
        .deployments
        .iter()
        .position(|d| d.id == id && d.repo == repo)
    else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let mut status = match new_status(&body) {
        Ok(status) => status,
        Err(refusal) => return *refusal,
    };
    book.next_status += 1;
    status.id = book.next_status;
    let auto_inactive = body["auto_inactive"].as_bool().unwrap_or(true);
    if status.state == "success" && auto_inactive {
        let environment = book.deployments[at].environment.clone();
        for (i, earlier) in book.deployments.iter_mut().enumerate() {
            let live = earlier
                .statuses
                .last()
                .is_some_and(|s| s.state == "success");
            if i != at
                && live
                && earlier.repo == repo
                && earlier.environment == environment
                && !earlier.transient_environment
                && !earlier.production_environment
            {
                book.next_status += 1;
                earlier.statuses.push(Status {
                    id: book.next_status,
                    state: "inactive".into(),
                    description: String::new(),
                    log_url: String::new(),
                    environment_url: String::new(),
                    automatic: true,
                });
            }
        }
    }
    let deployment = &mut book.deployments[at];
    let answer = status_json(deployment, &status);
    deployment.statuses.push(status);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn list_statuses(
    State(state): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, i64)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = denied(&state, &uri, &headers) {
        return refusal;
    }
    let repo = format!("{owner}/{repo}");
    let inner = lock(&state);
    let Some(deployment) = inner
        .deployments
        .deployments
        .iter()
        .find(|d| d.id == id && d.repo == repo)
    else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let (per_page, page) = paging(&query);
    let shown: Vec<Value> = deployment
        .statuses
        .iter()
        .rev()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|s| status_json(deployment, s))
        .collect();
    axum::Json(Value::Array(shown)).into_response()
}
