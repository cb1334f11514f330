//! `/api/v1/environments`: the environment matrix (one small summary per app × namespace), served
//! from [`crate::matrix_cache`] between writes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shiplog_model::{EnvironmentMatrix, ErrorBody};

use crate::AppState;
use crate::auth::ReadAccess;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/environments", get(environments))
}

/// For every app in every namespace: summaries of the latest deploy and of the latest success.
/// A cell takes at most `MAX_CELL_BYTES` whatever its deploys carry.
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
) -> Result<Response, AppError> {
    let body = match state.matrix.get() {
        Some(body) => body,
        None => {
            let generation = state.matrix.begin();
            let matrix: EnvironmentMatrix = state.store.environments().await?;
            let body =
                Bytes::from(serde_json::to_vec(&matrix).map_err(|e| AppError::Internal(e.into()))?);
            state.matrix.store(generation, body.clone());
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
