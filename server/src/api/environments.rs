//! `/api/v1/environments`: the environment matrix.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shiplog_model::{EnvironmentMatrix, ErrorBody};

use crate::AppState;
use crate::auth::ReadAccess;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/environments", get(environments))
}

/// For every app and workload in every namespace: the latest deploy and the latest success.
#[utoipa::path(
    get, path = "/api/v1/environments", tag = "environments",
    responses(
        (status = 200, description = "The matrix", body = EnvironmentMatrix),
        (status = 401, description = "A read token is configured and missing", body = ErrorBody),
    )
)]
pub async fn environments(
    State(state): State<AppState>,
    _: ReadAccess,
) -> Result<Json<EnvironmentMatrix>, AppError> {
    Ok(Json(state.store.environments().await?))
}
