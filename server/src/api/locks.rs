//! `/api/v1/locks`: lock and unlock environments (or one app in one), list the locks, the
//! freeze windows and the audit log, and answer a deploy step's question "is this deploy held?".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::Utc;
use shiplog_model::locks::{validate_by, validate_target};
use shiplog_model::{ErrorBody, FieldError, Lock, LockCheck, LockRequest, Locks};

use crate::AppState;
use crate::auth::ReadAccess;
use crate::auth::lock_access::{CheckAccess, LockAccess};
use crate::error::AppError;
use crate::extract::{JsonBody, QueryPairs};
use crate::store::Actor;

/// The longest value of each query parameter, in bytes.
const MAX_LENGTHS: [(&str, usize); 4] = [
    ("environment", 253),
    ("namespace", 253),
    ("app", 253),
    ("by", shiplog_model::locks::MAX_BY_BYTES),
];

/// The value of query parameter `name`.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/locks", get(list))
        // The check's path is also that of an environment named `check`: its lock and unlock.
        .route(
            "/api/v1/locks/check",
            get(check)
                .put(lock_environment_named_check)
                .delete(unlock_environment_named_check),
        )
        .route(
            "/api/v1/locks/{environment}",
            put(lock_environment).delete(unlock_environment),
        )
        .route(
            "/api/v1/locks/{environment}/{app}",
            put(lock_app).delete(unlock_app),
        )
}

/// The locks in force, the freeze windows (open or not) and the newest audit events.
#[utoipa::path(
    get, path = "/api/v1/locks", tag = "locks",
    responses((status = 200, description = "Locks, freeze windows and audit log", body = Locks))
)]
pub async fn list(State(state): State<AppState>, _: ReadAccess) -> Result<Json<Locks>, AppError> {
    let (locks, events) = tokio::try_join!(state.store.locks(), state.store.lock_events())?;
    let now = Utc::now();
    Ok(Json(Locks {
        locks,
        freezes: state.freezes.iter().map(|w| w.at(now)).collect(),
        events,
    }))
}

/// What holds a deploy of `app` to `environment` in `namespace` now, if anything: a lock on the
/// app or on the environment (named by environment or namespace), or an open freeze window.
#[utoipa::path(
    get, path = "/api/v1/locks/check", tag = "locks",
    params(
        ("environment" = String, Query, description = "The deploy's environment"),
        ("namespace" = Option<String>, Query, description = "The deploy's namespace (default: the environment)"),
        ("app" = String, Query, description = "The deploy's app"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "`held` is absent when nothing holds the deploy", body = LockCheck),
        (status = 422, description = "A parameter is missing", body = ErrorBody),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    _: CheckAccess,
    pairs: QueryPairs,
) -> Result<Json<LockCheck>, AppError> {
    let pairs = pairs.within(&MAX_LENGTHS)?;
    let get = |name: &str| param(&pairs, name);
    let environment =
        get("environment").ok_or_else(|| FieldError::new("environment", "is required"))?;
    let namespace = get("namespace").unwrap_or(environment);
    let app = get("app").ok_or_else(|| FieldError::new("app", "is required"))?;
    validate_target(environment, Some(app))?;
    let now = Utc::now();
    let known = Locks {
        locks: state.store.locks_on(environment, namespace).await?,
        freezes: state.freezes.iter().map(|w| w.at(now)).collect(),
        events: Vec::new(),
    };
    Ok(Json(LockCheck {
        held: known.hold_for(environment, namespace, app),
    }))
}

/// Lock an environment: every deploy to it (by environment or namespace name) is held.
#[utoipa::path(
    put, path = "/api/v1/locks/{environment}", tag = "locks",
    params(("environment" = String, Path, description = "Environment or namespace name")),
    request_body = LockRequest,
    security(("bearer" = []), ("console" = [])),
    responses(
        (status = 200, description = "Locked (locking again replaces the reason and who)", body = Lock),
        (status = 401, description = "No credential, or an invalid one", body = ErrorBody),
        (status = 403, description = "The console may not lock on this server", body = ErrorBody),
        (status = 422, description = "Invalid field, or 1,000 locks already in force", body = ErrorBody),
    )
)]
pub async fn lock_environment(
    state: State<AppState>,
    access: LockAccess,
    Path(environment): Path<String>,
    body: JsonBody<LockRequest>,
) -> Result<Json<Lock>, AppError> {
    lock(state, access, environment, None, body).await
}

/// The environment whose name is the check's path segment.
const CHECK: &str = "check";

/// [`lock_environment`] for the environment named `check`, whose path the check route takes.
async fn lock_environment_named_check(
    state: State<AppState>,
    access: LockAccess,
    body: JsonBody<LockRequest>,
) -> Result<Json<Lock>, AppError> {
    lock(state, access, CHECK.to_owned(), None, body).await
}

/// Lock one app in an environment.
#[utoipa::path(
    put, path = "/api/v1/locks/{environment}/{app}", tag = "locks",
    params(
        ("environment" = String, Path, description = "Environment or namespace name"),
        ("app" = String, Path, description = "App name"),
    ),
    request_body = LockRequest,
    security(("bearer" = []), ("console" = [])),
    responses(
        (status = 200, description = "Locked", body = Lock),
        (status = 401, description = "No credential, or an invalid one", body = ErrorBody),
        (status = 403, description = "The console may not lock on this server", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    )
)]
pub async fn lock_app(
    state: State<AppState>,
    access: LockAccess,
    Path((environment, app)): Path<(String, String)>,
    body: JsonBody<LockRequest>,
) -> Result<Json<Lock>, AppError> {
    lock(state, access, environment, Some(app), body).await
}

async fn lock(
    State(state): State<AppState>,
    LockAccess(via): LockAccess,
    environment: String,
    app: Option<String>,
    JsonBody(request): JsonBody<LockRequest>,
) -> Result<Json<Lock>, AppError> {
    validate_target(&environment, app.as_deref())?;
    request.validate()?;
    let actor = Actor {
        by: &request.by,
        via: &via,
    };
    let lock = state
        .store
        .lock(
            &environment,
            app.as_deref(),
            &request.reason,
            &actor,
            Utc::now(),
        )
        .await?;
    tracing::info!(target = %lock.target(), by = %lock.by, via = %via, reason = %lock.reason, "locked");
    Ok(Json(lock))
}

/// Unlock an environment (its lock on the whole environment; app locks stay).
#[utoipa::path(
    delete, path = "/api/v1/locks/{environment}", tag = "locks",
    params(
        ("environment" = String, Path, description = "Environment or namespace name"),
        ("by" = Option<String>, Query, description = "Who unlocks, for the audit log"),
    ),
    security(("bearer" = []), ("console" = [])),
    responses(
        (status = 204, description = "Unlocked"),
        (status = 401, description = "No credential, or an invalid one", body = ErrorBody),
        (status = 403, description = "The console may not unlock on this server", body = ErrorBody),
        (status = 404, description = "Not locked", body = ErrorBody),
    )
)]
pub async fn unlock_environment(
    state: State<AppState>,
    access: LockAccess,
    Path(environment): Path<String>,
    pairs: QueryPairs,
) -> Result<StatusCode, AppError> {
    unlock(state, access, environment, None, pairs).await
}

/// [`unlock_environment`] for the environment named `check`.
async fn unlock_environment_named_check(
    state: State<AppState>,
    access: LockAccess,
    pairs: QueryPairs,
) -> Result<StatusCode, AppError> {
    unlock(state, access, CHECK.to_owned(), None, pairs).await
}

/// Unlock one app in an environment.
#[utoipa::path(
    delete, path = "/api/v1/locks/{environment}/{app}", tag = "locks",
    params(
        ("environment" = String, Path, description = "Environment or namespace name"),
        ("app" = String, Path, description = "App name"),
        ("by" = Option<String>, Query, description = "Who unlocks, for the audit log"),
    ),
    security(("bearer" = []), ("console" = [])),
    responses(
        (status = 204, description = "Unlocked"),
        (status = 404, description = "Not locked", body = ErrorBody),
    )
)]
pub async fn unlock_app(
    state: State<AppState>,
    access: LockAccess,
    Path((environment, app)): Path<(String, String)>,
    pairs: QueryPairs,
) -> Result<StatusCode, AppError> {
    unlock(state, access, environment, Some(app), pairs).await
}

async fn unlock(
    State(state): State<AppState>,
    LockAccess(via): LockAccess,
    environment: String,
    app: Option<String>,
    pairs: QueryPairs,
) -> Result<StatusCode, AppError> {
    validate_target(&environment, app.as_deref())?;
    let pairs = pairs.within(&MAX_LENGTHS)?;
    let by = param(&pairs, "by")
        .filter(|by| !by.trim().is_empty())
        .unwrap_or("unnamed");
    validate_by(by)?;
    let actor = Actor { by, via: &via };
    let target = match &app {
        Some(app) => format!("{app} in {environment}"),
        None => environment.clone(),
    };
    match state
        .store
        .unlock(&environment, app.as_deref(), &actor, Utc::now())
        .await?
    {
        Some(_) => {
            tracing::info!(%target, %by, %via, "unlocked");
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(AppError::NotFound(format!("{target} is not locked"))),
    }
}
