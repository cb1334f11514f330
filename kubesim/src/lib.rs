//! kubesim: a Kubernetes API **simulator** for development and tests — not a real cluster.
//!
//! It serves the subset of the Kubernetes API that shiplog and kubectl use (discovery,
//! OpenAPI v3, CRUD, watch, server-side apply, Tables) from an in-memory [`store::Store`],
//! and simulated controllers ([`controllers`]) turn Deployments into ReplicaSets and Pods
//! whose readiness (or failure) follows `--rollout-ms` and `--image-rule`.
//!
//! [`app`] builds the router (tests can call it without a socket); [`run`] is the whole
//! program behind `main`: certificates, kubeconfig, listener, controllers, persistence.

pub mod api;
pub mod client_auth;
pub mod config;
pub mod controllers;
pub mod defaults;
pub mod error;
pub mod fieldpath;
pub mod kubeconfig;
pub mod launch;
pub mod managed;
pub mod meta;
pub mod middleware;
pub mod persist;
pub mod protobuf;
pub mod quantity;
pub mod quota;
pub mod registry;
pub mod resources;
pub mod schema;
pub mod selector;
pub mod store;
pub mod tls;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use rand::Rng as _;
use tokio::net::TcpListener;

use crate::config::{Config, ImageRule, PodLogRule};
use crate::store::Store;

/// How the simulated cluster behaves.
#[derive(Clone, Debug)]
pub struct Settings {
    pub image_rules: Vec<ImageRule>,
    /// What containers write as their log (`--pod-log`).
    pub pod_logs: Vec<PodLogRule>,
    /// Time for a pod to become ready, and for a rollout step.
    pub rollout: Duration,
    /// Simulated seconds per real second (for deadlines).
    pub time_scale: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            image_rules: Vec::new(),
            pod_logs: Vec::new(),
            rollout: Duration::from_millis(1000),
            time_scale: 1.0,
        }
    }
}

/// The simulated cluster: its objects and how it behaves.
pub struct Sim {
    pub store: Store,
    pub settings: Settings,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub sim: Arc<Sim>,
    /// Becomes `true` at shutdown; watches end then.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// `host:port` clients reach the server at (for `/api`).
    pub server_address: String,
}

/// Cross-cutting request handling.
pub struct Layers {
    pub token: Option<String>,
    pub faults: middleware::Faults,
    pub request_log: Option<middleware::RequestLog>,
}

/// The whole HTTP application.
pub fn app(state: AppState, layers: Layers) -> Router {
    let mut router = api::router().with_state(state);
    router = router.layer(axum::middleware::from_fn_with_state(
        Arc::new(layers.faults),
        middleware::faults,
    ));
    if let Some(token) = layers.token {
        router = router.layer(axum::middleware::from_fn_with_state(
            Arc::new(token),
            middleware::auth,
        ));
    }
    if let Some(log) = layers.request_log {
        router = router.layer(axum::middleware::from_fn_with_state(
            Arc::new(log),
            middleware::request_log,
        ));
    }
    router
}

/// A random bearer token.
fn random_token() -> String {
    let bytes: [u8; 24] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs kubesim until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = Store::new();
    if let Some(path) = &config.state {
        persist::load(&store, path)?;
    }
    let sim = Arc::new(Sim {
        store,
        settings: Settings {
            image_rules: config.image_rules.clone(),
            pod_logs: config.pod_logs.clone(),
            rollout: Duration::from_millis(config.rollout_ms.max(1)),
            time_scale: if config.time_scale > 0.0 {
                config.time_scale
            } else {
                1.0
            },
        },
    });
    controllers::bootstrap(&sim.store, &config.namespace);

    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    let token = config.token.clone().unwrap_or_else(random_token);
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let state = AppState {
        sim: sim.clone(),
        shutdown: shutdown_rx.clone(),
        server_address: host.clone(),
    };
    let request_log = config
        .request_log
        .as_deref()
        .map(middleware::RequestLog::open)
        .transpose()
        .context("opening the request log")?;
    let router = app(
        state,
        Layers {
            // kubectl never sends a bearer token over plain HTTP, so plain HTTP is open.
            token: (!config.insecure_http).then(|| token.clone()),
            faults: middleware::Faults {
                rules: config.faults.clone(),
                latency: Duration::from_millis(config.latency_ms),
            },
            request_log,
        },
    );

    let (url, certs) = if config.insecure_http {
        (format!("http://{host}"), None)
    } else {
        (format!("https://{host}"), Some(tls::generate(addr)?))
    };
    let ca_pem = certs.as_ref().map(|c| c.ca_pem.as_str());
    if let Some(path) = &config.kubeconfig_out {
        let user = kubeconfig::User::Token(&token);
        kubeconfig::write(
            path,
            &kubeconfig::render(&url, ca_pem, user, &config.namespace),
        )?;
    }
    if let Some(path) = &config.cert_kubeconfig_out {
        let Some(certs) = &certs else {
            anyhow::bail!("--cert-kubeconfig-out needs HTTPS (it cannot go with --insecure-http)");
        };
        let (cert, key) = &certs.client_pem;
        let user = kubeconfig::User::ClientCertificate { cert, key };
        kubeconfig::write(
            path,
            &kubeconfig::render(&url, ca_pem, user, &config.namespace),
        )?;
    }

    let controllers = tokio::spawn(controllers::run(sim.clone(), shutdown_rx.clone()));
    let saver = config.state.clone().map(|path| {
        tokio::spawn(persist::periodically(
            sim.clone(),
            path,
            shutdown_rx.clone(),
        ))
    });

    // The URL on stdout is what scripts and tests wait for.
    println!("{url}");
    eprintln!(
        "kubesim (a Kubernetes API simulator for development and tests, not a real cluster) serving {url}"
    );

    let mut stop = shutdown_rx.clone();
    let graceful = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = shutdown_tx.send(true);
    });
    match certs {
        Some(certs) => {
            let listener = tls::TlsListener::new(listener, certs.server, certs.clients)?;
            let service = router.into_make_service_with_connect_info::<client_auth::Peer>();
            axum::serve(listener, service)
                .with_graceful_shutdown(graceful)
                .await?;
        }
        None => {
            axum::serve(listener, router)
                .with_graceful_shutdown(graceful)
                .await?;
        }
    }
    controllers.abort();
    if let Some(saver) = saver {
        saver.abort();
    }
    if let Some(path) = &config.state {
        persist::save(&sim.store, path)?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
