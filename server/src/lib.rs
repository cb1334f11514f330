//! shiplog's history server.
//!
//! [`app`] builds the whole HTTP application from an [`AppState`], without a socket, so tests
//! drive it with `tower::ServiceExt::oneshot`; [`serve`] runs it on a bound listener until a
//! shutdown signal. Storage is in [`store`], the routes in [`api`].

pub mod api;
pub mod auth;
pub mod config;
pub mod console;
pub mod error;
pub mod extract;
pub mod insights;
pub mod local;
pub mod matrix_cache;
pub mod metrics;
pub mod openapi;
pub mod replicas;
pub mod sign_in;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use shiplog_model::{Deploy, DeployEvent, DeployEventKind, DeployId};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use crate::auth::Auth;
use crate::matrix_cache::MatrixCache;
use crate::metrics::Metrics;
use crate::store::Store;

/// How many events a slow stream client may fall behind before it is told it lagged.
const EVENT_BUFFER: usize = 1024;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Every credential the server accepts ([`auth`]).
    pub auth: Arc<Auth>,
    /// Base of the links handed out, without a trailing slash.
    pub public_url: Arc<str>,
    pub events: broadcast::Sender<DeployEvent>,
    pub metrics: Arc<Metrics>,
    /// The serialised environment matrix between writes.
    pub matrix: Arc<MatrixCache>,
}

impl AppState {
    /// `auth`: the plain [`auth::Tokens`], or an [`Auth`] with scoped tokens and OIDC.
    pub fn new(store: Store, auth: impl Into<Auth>, public_url: &str) -> Self {
        let auth = auth
            .into()
            .with_secure_cookies(public_url.starts_with("https://"));
        AppState {
            store,
            auth: Arc::new(auth),
            public_url: public_url.trim_end_matches('/').into(),
            events: broadcast::channel(EVENT_BUFFER).0,
            metrics: Arc::new(Metrics::default()),
            matrix: Arc::new(MatrixCache::default()),
        }
    }

    /// The console link of a deploy.
    pub fn deploy_url(&self, id: DeployId) -> String {
        format!("{}/deploys/{id}", self.public_url)
    }

    /// Tells caches and stream subscribers about a committed write.
    pub fn publish(&self, kind: DeployEventKind, deploy: &Deploy) {
        self.matrix.invalidate();
        let _ = self.events.send(DeployEvent {
            kind,
            deploy: deploy.clone(),
        });
    }
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(api::router())
        .merge(sign_in::router())
        .route("/deploys/{id}", axum::routing::get(console::deploy_page))
        .fallback(console::fallback)
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .route_layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::record,
        ))
        // gzip when the client asks (the console's wasm and the API's JSON shrink about 3×;
        // event streams and tiny answers are left alone by the default predicate). gzip only:
        // every browser takes it and it needs no C library.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes, then lets open requests finish.
/// Event streams end at shutdown so they do not hold it up. On PostgreSQL the writes of other
/// server processes on the same database are followed ([`replicas::follow`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let follower = replicas::follow(&state)
        .await
        .map_err(|e| std::io::Error::other(format!("listening for other replicas' writes: {e}")))?;
    let events = state.events.clone();
    let application = app(state);
    axum::serve(listener, application)
        .with_graceful_shutdown(async move {
            shutdown.await;
            if let Some(follower) = follower {
                follower.abort();
            }
            drop(events);
        })
        .await
}
