//! `/api/v1/deploys`: record a deploy, update it, read it, and page through the history.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use shiplog_model::{
    ConflictBody, Created, Deploy, DeployEventKind, DeployId, DeployUpdate, ErrorBody,
    HistoryQuery, NewDeploy, Page,
};

use crate::AppState;
use crate::auth::{ReadAccess, WriteAccess};
use crate::error::AppError;
use crate::extract::{JsonBody, QueryPairs};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/deploys", post(create).get(history))
        .route("/api/v1/deploys/{id}", get(one).patch(update))
}

/// Record a deploy. Idempotent on (repo, run.id, run.attempt, run.job, run.step, app,
/// environment, namespace).
#[utoipa::path(
    post, path = "/api/v1/deploys", tag = "deploys",
    request_body = NewDeploy,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = Created),
        (status = 200, description = "Already recorded under the same idempotency key", body = Created),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No token, or an invalid one", body = ErrorBody),
        (status = 403, description = "The token may not write this repository", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 422, description = "Invalid field, e.g. `started_at` or `finished_at` more than 5 minutes in the future, a `deadline` more than 25 hours ahead", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    WriteAccess(writer): WriteAccess,
    JsonBody(new): JsonBody<NewDeploy>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    writer.may_write(&new.repo)?;
    let (status, deploy) = match state.store.create(new, Utc::now()).await? {
        store::Created::New(deploy) => {
            state.metrics.deploy_written("created");
            state.publish(DeployEventKind::Created, &deploy);
            tracing::info!(id = %deploy.id, repo = %deploy.repo, by = %writer, "deploy recorded");
            if let Some(hold) = &deploy.lock_override {
                audit_override(&state, &deploy, hold, &writer.to_string()).await;
            }
            (StatusCode::CREATED, deploy)
        }
        store::Created::Existing(deploy) => (StatusCode::OK, deploy),
    };
    let url = state.deploy_url(deploy.id);
    Ok((status, Json(Created { id: deploy.id, url })))
}

/// Update a deploy's status and results.
#[utoipa::path(
    patch, path = "/api/v1/deploys/{id}", tag = "deploys",
    params(("id" = i64, Path, description = "Deploy id")),
    request_body = DeployUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The deploy as updated", body = Deploy),
        (status = 401, description = "No token, or an invalid one", body = ErrorBody),
        (status = 403, description = "The token may not write this deploy's repository", body = ErrorBody),
        (status = 404, description = "Unknown id", body = ErrorBody),
        (status = 409, description = "Refused, the deploy unchanged: it has already finished (code `finished`; a retry that would change nothing is answered 200), or no writer may make this status change (code `conflict`, e.g. to `abandoned`). The body carries the deploy as stored.", body = ConflictBody),
        (status = 422, description = "Invalid field, e.g. `finished_at` more than 5 minutes in the future", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    WriteAccess(writer): WriteAccess,
    Path(id): Path<String>,
    JsonBody(update): JsonBody<DeployUpdate>,
) -> Result<Json<Deploy>, AppError> {
    let id = parse_id(&id)?;
    // A record's repository never changes, so it is read only for writers with a scope.
    if !writer.is_unscoped() {
        writer.may_write(&state.store.get(id).await?.repo)?;
    }
    let deploy = state.store.update(id, &update, Utc::now()).await?;
    state.metrics.deploy_written("updated");
    state.publish(DeployEventKind::Updated, &deploy);
    tracing::info!(id = %deploy.id, status = deploy.status.as_str(), by = %writer, "deploy updated");
    Ok(Json(deploy))
}

/// One deploy.
#[utoipa::path(
    get, path = "/api/v1/deploys/{id}", tag = "deploys",
    params(("id" = i64, Path, description = "Deploy id")),
    responses(
        (status = 200, description = "The deploy", body = Deploy),
        (status = 404, description = "Unknown id", body = ErrorBody),
    )
)]
pub async fn one(
    State(state): State<AppState>,
    _: ReadAccess,
    Path(id): Path<String>,
) -> Result<Json<Deploy>, AppError> {
    Ok(Json(state.store.get(parse_id(&id)?).await?))
}

/// The history, newest first, filtered, one page at a time.
#[utoipa::path(
    get, path = "/api/v1/deploys", tag = "deploys",
    params(HistoryQuery),
    responses(
        (status = 200, description = "One page", body = Page<Deploy>),
        (status = 400, description = "Query string is not valid UTF-8, or a parameter is longer than its maximum (`HistoryQuery::MAX_LENGTHS`: 1024 bytes for text filters and `q`)", body = ErrorBody),
        (status = 422, description = "Invalid parameter", body = ErrorBody),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    _: ReadAccess,
    pairs: QueryPairs,
) -> Result<Json<Page<Box<serde_json::value::RawValue>>>, AppError> {
    let query = HistoryQuery::from_pairs(pairs.within(&HistoryQuery::MAX_LENGTHS)?)?;
    Ok(Json(state.store.history(&query).await?))
}

/// Ids are positive integers; anything else cannot name a deploy.
pub fn parse_id(text: &str) -> Result<DeployId, AppError> {
    text.parse::<DeployId>()
        .ok()
        .filter(|id| id.0 > 0)
        .ok_or_else(|| AppError::NotFound(format!("no deploy has the id {text:?}")))
}

/// Adds a deploy that went ahead despite a hold to the locks' audit log. The record says so
/// itself (`lock_override`), so a failure here is logged rather than refusing the record.
async fn audit_override(state: &AppState, deploy: &Deploy, hold: &str, via: &str) {
    tracing::warn!(id = %deploy.id, app = %deploy.app, environment = %deploy.environment, %hold, by = %deploy.actor, %via, "deploy overrides a hold");
    if let Err(e) = state
        .store
        .record_override(deploy, hold, via, Utc::now())
        .await
    {
        tracing::error!(id = %deploy.id, error = %e, "the override is not in the audit log");
    }
}
