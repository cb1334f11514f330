//! The JSON API under `/api/v1`, one module per resource, merged by [`router`].

pub mod deliveries;
pub mod deploys;
pub mod environments;
pub mod insights;
pub mod locks;
pub mod manifests;
pub mod meta;
pub mod stream;

use axum::Router;

use crate::AppState;

/// Every API route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(deploys::router())
        .merge(deliveries::router())
        .merge(environments::router())
        .merge(insights::router())
        .merge(locks::router())
        .merge(manifests::router())
        .merge(stream::router())
        .merge(meta::router())
}
