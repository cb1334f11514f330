//! shiplog's history server.
//!
//! [`app`] builds the whole HTTP application from an [`AppState`], without a socket, so tests
//! drive it with `tower::ServiceExt::oneshot`; [`serve`] runs it on a bound listener until a
//! shutdown signal. Storage is in [`store`], the routes in [`api`].

pub mod api;
pub mod auth;
pub mod backup;
pub mod compare;
pub mod config;
pub mod console;
pub mod error;
pub mod events;
pub mod extract;
pub mod freeze;
pub mod insights;
pub mod limits;
pub mod local;
pub mod logging;
pub mod matrix_cache;
pub mod metrics;
pub mod openapi;
pub mod periodic;
pub mod reaper;
pub mod replicas;
pub mod retention;
pub mod sign_in;
pub mod store;
pub mod transport;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use shiplog_model::{Deploy, DeployEventKind, DeployId};
use tokio::net::TcpListener;

use crate::auth::Auth;
use crate::events::EventHub;
use crate::limits::Limits;
use crate::matrix_cache::MatrixCache;
use crate::metrics::Metrics;
use crate::store::Store;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Every credential the server accepts ([`auth`]).
    pub auth: Arc<Auth>,
    /// Base of the links handed out, without a trailing slash.
    pub public_url: Arc<str>,
    pub events: Arc<EventHub>,
    pub metrics: Arc<Metrics>,
    /// The serialised environment matrix between writes.
    pub matrix: Arc<MatrixCache>,
    /// Timeouts and limits of connections and event streams.
    pub limits: Arc<Limits>,
    /// How often [`serve`] abandons deploys open past their deadline ([`reaper`]).
    pub reap_period: Duration,
    /// How long [`serve`] keeps finished deploys ([`retention`]); `None` keeps them all.
    pub retain: Option<Duration>,
    /// The configured freeze windows (`--freeze`).
    pub freezes: Arc<[freeze::FreezeWindow]>,
    /// Who may lock and unlock from the console (`--console-locks`).
    pub console_locks: auth::lock_access::ConsoleLocks,
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
            events: Arc::new(EventHub::default()),
            metrics: Arc::new(Metrics::default()),
            matrix: Arc::new(MatrixCache::default()),
            limits: Arc::new(Limits::default()),
            reap_period: reaper::DEFAULT_PERIOD,
            retain: None,
            freezes: Arc::new([]),
            console_locks: auth::lock_access::ConsoleLocks::default(),
        }
    }

    /// The same state holding deploys in `freezes`.
    pub fn with_freezes(mut self, freezes: Vec<freeze::FreezeWindow>) -> Self {
        self.freezes = freezes.into();
        self
    }

    /// The same state letting the console lock as `policy` says.
    pub fn with_console_locks(mut self, policy: auth::lock_access::ConsoleLocks) -> Self {
        self.console_locks = policy;
        self
    }

    /// The same state deleting finished deploys older than `retain` ([`retention`]), or none.
    pub fn with_retention(mut self, retain: Option<Duration>) -> Self {
        self.retain = retain;
        self
    }

    /// The same state reaping every `period` instead of [`reaper::DEFAULT_PERIOD`].
    pub fn with_reap_period(mut self, period: Duration) -> Self {
        self.reap_period = period;
        self
    }

    /// The same state with other timeouts and limits than [`Limits::default`].
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Arc::new(limits);
        self
    }

    /// The same state sending `webhooks` ([`webhooks`]): its store enqueues their deliveries
    /// in its writes, and [`serve`] sends them. No webhooks: nothing changes.
    pub fn with_webhooks(mut self, webhooks: webhooks::Webhooks) -> Self {
        if webhooks.hooks.is_empty() {
            return self;
        }
        let outbox = webhooks::Outbox {
            webhooks,
            public_url: self.public_url.clone(),
            wake: tokio::sync::Notify::new(),
            dropped: self.metrics.webhook_dropped(),
        };
        self.store = self.store.with_outbox(Arc::new(outbox));
        self
    }

    /// The console link of a deploy.
    pub fn deploy_url(&self, id: DeployId) -> String {
        format!("{}/deploys/{id}", self.public_url)
    }

    /// Tells caches and stream subscribers about a committed write.
    pub fn publish(&self, kind: DeployEventKind, deploy: &Deploy) {
        self.matrix.invalidate();
        self.events.publish(kind, deploy);
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
        // Counts every request, the fallback's as `unmatched` (see `metrics`).
        .layer(axum::middleware::from_fn_with_state(
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

/// Serves `state` on `listener` within `state.limits` ([`transport`]) until `shutdown`
/// completes; then stops accepting, ends the event streams, lets the requests under way finish,
/// and returns. On PostgreSQL the writes of other server processes on the same database are
/// followed ([`replicas::follow`]). Deploys open past their deadline are abandoned every
/// [`AppState::reap_period`] ([`reaper`]); with [`AppState::retain`], old finished deploys are
/// deleted every [`retention::PERIOD`]. With webhooks, their deliveries are sent
/// ([`webhooks::worker`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let follower = replicas::follow(&state)
        .await
        .map_err(|e| std::io::Error::other(format!("listening for other replicas' writes: {e}")))?;
    let reaper = reaper::spawn(state.clone(), state.reap_period);
    let deliverer = webhooks::worker::spawn(state.store.clone(), state.metrics.clone());
    let stale_deliveries = webhooks::stale::spawn(state.store.clone());
    let pruner = state
        .retain
        .map(|retain| retention::spawn(state.clone(), retain));
    let events = state.events.clone();
    let limits = state.limits.clone();
    transport::run(listener, app(state), limits, async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections; finishing the requests under way");
        reaper.abort();
        stale_deliveries.abort();
        if let Some(deliverer) = deliverer {
            deliverer.abort();
        }
        if let Some(pruner) = pruner {
            pruner.abort();
        }
        if let Some(follower) = follower {
            follower.abort();
        }
        events.close();
    })
    .await
}
