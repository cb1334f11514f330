//! `/api/v1/deploys/{id}/manifests` and `/api/v1/deploys/{a}/diff/{b}`: what a deploy applied,
//! kept beside its record, and how two deploys' sets differ.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use shiplog_model::{AppliedManifests, ErrorBody, ManifestsDiff};

use super::deploys::parse_id;
use crate::AppState;
use crate::auth::{ReadAccess, WriteAccess};
use crate::compare::{Side, compare};
use crate::error::AppError;
use crate::extract::JsonBody;
use crate::store::Kept;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/deploys/{id}/manifests", get(manifests).post(keep))
        .route("/api/v1/deploys/{from}/diff/{to}", get(diff))
}

/// Keep what a deploy applied (once per deploy).
#[utoipa::path(
    post, path = "/api/v1/deploys/{id}/manifests", tag = "deploys",
    params(("id" = i64, Path, description = "Deploy id")),
    request_body = AppliedManifests,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Kept"),
        (status = 200, description = "The same set (same digest) was already kept"),
        (status = 401, description = "No token, or an invalid one", body = ErrorBody),
        (status = 403, description = "The token may not write this deploy's repository", body = ErrorBody),
        (status = 404, description = "Unknown id", body = ErrorBody),
        (status = 409, description = "Another set is kept for this deploy; nothing was changed", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 422, description = "Invalid field, e.g. more than 512 KiB of YAML or 500 objects", body = ErrorBody),
    )
)]
pub async fn keep(
    State(state): State<AppState>,
    WriteAccess(writer): WriteAccess,
    Path(id): Path<String>,
    JsonBody(set): JsonBody<AppliedManifests>,
) -> Result<StatusCode, AppError> {
    let id = parse_id(&id)?;
    // As for an update: a record's repository is read only for writers with a scope.
    if !writer.is_unscoped() {
        writer.may_write(&state.store.get(id).await?.repo)?;
    }
    match state.store.keep_manifests(id, &set).await? {
        Kept::New => {
            tracing::info!(%id, objects = set.objects.len(), by = %writer, "manifests kept");
            Ok(StatusCode::CREATED)
        }
        Kept::Same => Ok(StatusCode::OK),
        Kept::Different(stored) => Err(AppError::Conflict(format!(
            "deploy {id} already keeps another set of manifests (digest {stored})"
        ))),
    }
}

/// What a deploy applied.
#[utoipa::path(
    get, path = "/api/v1/deploys/{id}/manifests", tag = "deploys",
    params(("id" = i64, Path, description = "Deploy id")),
    responses(
        (status = 200, description = "The objects the deploy applied (Secrets as keys and value digests)", body = AppliedManifests),
        (status = 404, description = "Unknown id, or no manifests kept for this deploy", body = ErrorBody),
    )
)]
pub async fn manifests(
    State(state): State<AppState>,
    _: ReadAccess,
    Path(id): Path<String>,
) -> Result<Json<AppliedManifests>, AppError> {
    let id = parse_id(&id)?;
    state.store.manifests(id).await?.map(Json).ok_or_else(|| {
        AppError::NotFound(format!(
            "deploy {id} has no manifests kept (recorded before shiplog kept them, or by a \
             writer that does not send them)"
        ))
    })
}

/// How what deploy `to` applied differs from what deploy `from` applied.
#[utoipa::path(
    get, path = "/api/v1/deploys/{from}/diff/{to}", tag = "deploys",
    params(
        ("from" = i64, Path, description = "The earlier deploy's id"),
        ("to" = i64, Path, description = "The later deploy's id"),
    ),
    responses(
        (status = 200, description = "The objects that differ, each with a unified diff; notes say what could not be compared", body = ManifestsDiff),
        (status = 404, description = "Unknown id", body = ErrorBody),
    )
)]
pub async fn diff(
    State(state): State<AppState>,
    _: ReadAccess,
    Path((from, to)): Path<(String, String)>,
) -> Result<Json<ManifestsDiff>, AppError> {
    let (from, to) = (parse_id(&from)?, parse_id(&to)?);
    let (old, new) = tokio::try_join!(state.store.manifests(from), state.store.manifests(to))?;
    // Diffing is CPU work (bounded by `COMPARE_TIME`): off the async workers.
    let answer = tokio::task::spawn_blocking(move || {
        compare(
            &Side {
                id: from,
                set: old.as_ref(),
            },
            &Side {
                id: to,
                set: new.as_ref(),
            },
        )
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(answer))
}
