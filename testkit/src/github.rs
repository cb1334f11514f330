//! A local stand-in for GitHub's REST endpoint "list jobs for a workflow run attempt", on
//! `127.0.0.1:0`, that holds the client to GitHub's rules: a request without a `User-Agent`
//! is forbidden (403, plain text, as GitHub's edge answers), a request without the right token
//! (`Authorization: Bearer <token>` or `token <token>`) is refused (401 `Bad credentials`),
//! and only the runs it was told about exist (404 `Not Found`). It pages the jobs as GitHub
//! does (`per_page`, at most 100, default 30; `page`, from 1) and records every request.
//!
//! It also stands in for the runner's OIDC token service (`ACTIONS_ID_TOKEN_REQUEST_URL`) once
//! told which repository's job it serves ([`GithubStandin::issue_id_tokens`]): a GET of
//! `/_apis/idtoken?api-version=2.0[&audience=…]` needs `Authorization: Bearer <request token>`
//! (401 otherwise), and answers `{"count", "value"}` with a JWT whose `aud` is the requested
//! audience (GitHub's default, `https://github.com/<owner>`, without one), signed by a local
//! issuer whose discovery document and keys the stand-in serves at its own base URL
//! (`shiplog_server::auth::test_issuer`), so a history server can be pointed at it.
//!
//! And it stands in for a pull request's comments (list, create, update) with GitHub's rules:
//! a `body` is required and holds at most 65,536 characters (422 `Validation Failed`
//! otherwise), an unknown comment is 404, and a token without `pull-requests: write` is 403
//! `Resource not accessible by integration` ([`GithubStandin::deny_comments`]).
//!
//! And it stands in for a repository's deployments and their statuses ([`deployments`]).
//!
//! Unlike GitHub, which answers 404 to an anonymous request for a private repository's run,
//! it answers every request without credentials 401: the tests need one clear refusal.
//!
//! It lives with the tests rather than in the library: no production code needs axum, and
//! unit tests never open a socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use serde_json::{Value, json};
use shiplog_server::auth::test_issuer::TestIssuer;

pub mod deployments;
pub use deployments::Deployment;

/// Where GitHub's error answers point.
const DOCUMENTATION_URL: &str = "https://docs.github.com/rest";

/// GitHub's answer to a request without a `User-Agent`.
pub const NO_USER_AGENT: &str = "Request forbidden by administrative rules. Please make sure \
     your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). \
     Check https://developer.github.com for other possible causes.";

/// A request as the stand-in received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Path and query string.
    pub path: String,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
}

/// A run attempt: `owner/name`, run id, attempt.
type Attempt = (String, u64, u32);

/// The job the token service issues ID tokens for.
struct IdTokens {
    request_token: String,
    repository: String,
}

struct Inner {
    token: String,
    runs: HashMap<Attempt, Vec<Value>>,
    seen: Vec<Seen>,
    id_tokens: Option<IdTokens>,
    issuer: Arc<TestIssuer>,
    /// Every ID token issued.
    issued: Vec<String>,
    comments: Vec<Comment>,
    comments_denied: bool,
    deployments: deployments::Book,
}

/// A comment on a pull request, as the stand-in keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    /// `owner/name` and the pull request's number.
    pub repo: String,
    pub number: u64,
    pub body: String,
    /// How many times it was updated.
    pub edits: u32,
}

/// GitHub's limit for a comment's body, in characters.
pub const MAX_COMMENT_CHARS: usize = 65_536;

type Shared = Arc<Mutex<Inner>>;

fn lock(state: &Shared) -> MutexGuard<'_, Inner> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running stand-in; stopped when dropped.
pub struct GithubStandin {
    /// The API's base URL, as `GITHUB_API_URL` would be.
    pub base: String,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GithubStandin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GithubStandin {
    /// Starts a stand-in that accepts the token `token`.
    pub async fn start(token: &str) -> GithubStandin {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = TestIssuer::new(&base);
        let state: Shared = Arc::new(Mutex::new(Inner {
            token: token.to_owned(),
            runs: HashMap::new(),
            seen: Vec::new(),
            id_tokens: None,
            issuer: issuer.clone(),
            issued: Vec::new(),
            comments: Vec::new(),
            comments_denied: false,
            deployments: deployments::Book::default(),
        }));
        let app = Router::new()
            .route(
                "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt}/jobs",
                get(list_jobs),
            )
            .route("/_apis/idtoken", get(id_token))
            .route(
                "/repos/{owner}/{repo}/issues/{number}/comments",
                get(list_comments).post(create_comment),
            )
            .route(
                "/repos/{owner}/{repo}/issues/comments/{id}",
                patch(update_comment),
            )
            .merge(deployments::routes())
            .fallback(unknown)
            .with_state(state.clone())
            .merge(issuer.routes());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        GithubStandin { base, state, task }
    }

    /// Serves `jobs` (GitHub's job objects) for attempt `attempt` of run `run_id` of `repo`.
    pub fn serve_jobs(&self, repo: &str, run_id: u64, attempt: u32, jobs: Vec<Value>) {
        lock(&self.state)
            .runs
            .insert((repo.to_owned(), run_id, attempt), jobs);
    }

    /// Refuses every comment request as GitHub refuses a token without `pull-requests: write`.
    pub fn deny_comments(&self) {
        lock(&self.state).comments_denied = true;
    }

    /// The comments on pull requests, in the order they were made.
    pub fn comments(&self) -> Vec<Comment> {
        lock(&self.state).comments.clone()
    }

    /// Issues ID tokens for a job of `repository` to requests bearing `request_token`.
    pub fn issue_id_tokens(&self, repository: &str, request_token: &str) {
        lock(&self.state).id_tokens = Some(IdTokens {
            request_token: request_token.to_owned(),
            repository: repository.to_owned(),
        });
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` as the runner sets it.
    pub fn id_token_request_url(&self) -> String {
        format!("{}/_apis/idtoken?api-version=2.0", self.base)
    }

    /// Every ID token issued, in order.
    pub fn issued_id_tokens(&self) -> Vec<String> {
        lock(&self.state).issued.clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.state).seen.clone()
    }
}

/// A job object shaped as GitHub returns it (with fields the client ignores), on `runner`,
/// with `steps` as `(name, status, conclusion)` numbered from 1.
pub fn job(
    id: u64,
    name: &str,
    status: &str,
    runner: Option<&str>,
    steps: &[(&str, &str, Option<&str>)],
) -> Value {
    let steps: Vec<Value> = steps
        .iter()
        .zip(1..)
        .map(|((name, status, conclusion), number)| {
            json!({"name": name, "status": status, "conclusion": conclusion, "number": number,
                   "started_at": "2026-01-01T12:00:00Z", "completed_at": null})
        })
        .collect();
    json!({
        "id": id,
        "run_id": 7,
        "run_url": "https://api.github.com/repos/acme/shop/actions/runs/7",
        "node_id": "CR_kwDOA",
        "head_sha": "0123456789abcdef",
        "url": format!("https://api.github.com/repos/acme/shop/actions/jobs/{id}"),
        "html_url": format!("https://github.com/acme/shop/actions/runs/7/job/{id}"),
        "status": status,
        "conclusion": null,
        "started_at": "2026-01-01T12:00:00Z",
        "completed_at": null,
        "name": name,
        "steps": steps,
        "labels": ["ubuntu-latest"],
        "runner_id": runner.map(|_| 1),
        "runner_name": runner,
        "runner_group_name": runner.map(|_| "GitHub Actions"),
        "workflow_name": "deploy",
        "head_branch": "main"
    })
}

fn message(status: StatusCode, text: &str) -> Response {
    let body = json!({
        "message": text,
        "documentation_url": DOCUMENTATION_URL,
        "status": status.as_u16().to_string(),
    });
    (status, axum::Json(body)).into_response()
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    Some(headers.get(name)?.to_str().ok()?.to_owned())
}

/// Records the request and applies GitHub's rules for every request, a `User-Agent`, then
/// the token: the refusal, if the request breaks one.
fn refusal(state: &Shared, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let seen = Seen {
        path: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        authorization: header_text(headers, header::AUTHORIZATION),
        user_agent: header_text(headers, header::USER_AGENT),
    };
    let mut inner = lock(state);
    inner.seen.push(seen.clone());
    if seen.user_agent.is_none_or(|ua| ua.trim().is_empty()) {
        return Some((StatusCode::FORBIDDEN, NO_USER_AGENT).into_response());
    }
    let token = seen.authorization.as_deref().and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        ["bearer", "token"]
            .contains(&scheme.to_ascii_lowercase().as_str())
            .then(|| token.trim())
    });
    (token != Some(inner.token.as_str()))
        .then(|| message(StatusCode::UNAUTHORIZED, "Bad credentials"))
}

/// `per_page` (1 to 100, default 30) and `page` (from 1), read leniently as GitHub does.
fn paging(query: &HashMap<String, String>) -> (usize, usize) {
    let number = |name: &str, default: usize| {
        query
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        number("per_page", 30).clamp(1, 100),
        number("page", 1).max(1),
    )
}

async fn list_jobs(
    State(state): State<Shared>,
    Path((owner, repo, run_id, attempt)): Path<(String, String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refusal(&state, &uri, &headers) {
        return refusal;
    }
    let key = match (run_id.parse(), attempt.parse()) {
        (Ok(run_id), Ok(attempt)) => (format!("{owner}/{repo}"), run_id, attempt),
        _ => return message(StatusCode::NOT_FOUND, "Not Found"),
    };
    let inner = lock(&state);
    let Some(jobs) = inner.runs.get(&key) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let (per_page, page) = paging(&query);
    let shown: Vec<&Value> = jobs
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    axum::Json(json!({"total_count": jobs.len(), "jobs": shown})).into_response()
}

/// The runner's token service: `Bearer <request token>` required, the audience passed through.
async fn id_token(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let authorization = header_text(&headers, header::AUTHORIZATION);
    let mut inner = lock(&state);
    inner.seen.push(Seen {
        path: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        authorization: authorization.clone(),
        user_agent: header_text(&headers, header::USER_AGENT),
    });
    let Some(service) = &inner.id_tokens else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let bearer = authorization.as_deref().and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    if bearer != Some(service.request_token.as_str()) {
        return message(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    if query.get("api-version").map(String::as_str) != Some("2.0") {
        return message(StatusCode::BAD_REQUEST, "api-version 2.0 is required");
    }
    let owner = service.repository.split('/').next().unwrap_or_default();
    let audience = query
        .get("audience")
        .cloned()
        .unwrap_or_else(|| format!("https://github.com/{owner}"));
    let claims = inner.issuer.github_claims(&audience, &service.repository);
    let token = inner.issuer.sign(&claims);
    inner.issued.push(token.clone());
    axum::Json(json!({"count": 1, "value": token})).into_response()
}

/// A comment as GitHub's API shows it.
fn comment_json(comment: &Comment) -> Value {
    json!({
        "id": comment.id,
        "body": comment.body,
        "user": {"login": "github-actions[bot]", "type": "Bot"},
        "html_url": format!("https://github.com/{}/pull/{}#issuecomment-{}", comment.repo, comment.number, comment.id),
    })
}

/// The rules every comment request is held to, after the token's: the permission, then a body
/// of at most [`MAX_COMMENT_CHARS`] characters.
fn comment_refusal(inner: &Inner, body: Option<&Value>) -> Option<Response> {
    if inner.comments_denied {
        return Some(message(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        ));
    }
    let body = body?;
    let Some(text) = body["body"].as_str() else {
        return Some(message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.\n\n\"body\" wasn't supplied.",
        ));
    };
    (text.chars().count() > MAX_COMMENT_CHARS).then(|| {
        let answer = json!({
            "message": "Validation Failed",
            "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                "message": "body is too long (maximum is 65536 characters)"}],
            "documentation_url": DOCUMENTATION_URL,
            "status": "422",
        });
        (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(answer)).into_response()
    })
}

/// The stand-in's state for a comment request that passes every rule, or the refusal.
fn admitted<'s>(
    state: &'s Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&Value>,
) -> Result<MutexGuard<'s, Inner>, Box<Response>> {
    if let Some(refusal) = refusal(state, uri, headers) {
        return Err(Box::new(refusal));
    }
    let inner = lock(state);
    match comment_refusal(&inner, body) {
        Some(refusal) => Err(Box::new(refusal)),
        None => Ok(inner),
    }
}

async fn list_comments(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let inner = match admitted(&state, &uri, &headers, None) {
        Ok(inner) => inner,
        Err(refusal) => return *refusal,
    };
    let repo = format!("{owner}/{repo}");
    let (per_page, page) = paging(&query);
    let shown: Vec<Value> = inner
        .comments
        .iter()
        .filter(|c| c.repo == repo && c.number == number)
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(comment_json)
        .collect();
    axum::Json(Value::Array(shown)).into_response()
}

async fn create_comment(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    uri: Uri,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut inner = match admitted(&state, &uri, &headers, Some(&body)) {
        Ok(inner) => inner,
        Err(refusal) => return *refusal,
    };
    let comment = Comment {
        id: 1000 + inner.comments.len() as u64,
        repo: format!("{owner}/{repo}"),
        number,
        body: body["body"].as_str().unwrap_or_default().to_owned(),
        edits: 0,
    };
    let answer = comment_json(&comment);
    inner.comments.push(comment);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn update_comment(
    State(state): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    uri: Uri,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut inner = match admitted(&state, &uri, &headers, Some(&body)) {
        Ok(inner) => inner,
        Err(refusal) => return *refusal,
    };
    let repo = format!("{owner}/{repo}");
    let Some(comment) = inner
        .comments
        .iter_mut()
        .find(|c| c.id == id && c.repo == repo)
    else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    comment.body = body["body"].as_str().unwrap_or_default().to_owned();
    comment.edits += 1;
    let answer = comment_json(comment);
    axum::Json(answer).into_response()
}

async fn unknown(State(state): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(refusal) = refusal(&state, &uri, &headers) {
        return refusal;
    }
    message(StatusCode::NOT_FOUND, "Not Found")
}
