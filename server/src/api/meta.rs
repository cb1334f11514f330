//! Operational endpoints: `/healthz`, `/metrics` and `/api/v1/openapi.json`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi as _;

use crate::AppState;
use crate::auth::ReadAccess;
use crate::error::AppError;
use crate::openapi::ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi))
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, description = "Healthy")))]
pub async fn healthz(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    state.store.ping().await?;
    Ok((StatusCode::OK, Json(serde_json::json!({"status": "ok"}))))
}

/// Prometheus metrics (behind the read token when one is set).
#[utoipa::path(get, path = "/metrics", tag = "meta", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>, _: ReadAccess) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// This API's OpenAPI 3 description.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
