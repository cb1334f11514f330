//! `shiplog-server`: parses flags, opens the database, and serves until SIGINT or SIGTERM.

use anyhow::Context as _;
use clap::Parser as _;
use shiplog_server::auth::Auth;
use shiplog_server::config::{Config, redact_url};
use shiplog_server::store::Store;
use shiplog_server::{AppState, serve};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHIPLOG_LOG")
                .unwrap_or_else(|_| "shiplog_server=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Config::parse()).await {
        eprintln!("shiplog-server: {e:#}");
        std::process::exit(1);
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let auth = access(&config, &public_url)?;
    let store = Store::open(&config.database)
        .await
        .with_context(|| format!("opening the database {}", redact_url(&config.database)))?;
    tracing::info!(database = %redact_url(&config.database), "database ready");
    let shutdown = shutdown_signal().context("installing the signal handlers")?;
    // Tests and scripts read this line to learn the address when listening on port 0.
    println!("shiplog-server listening on http://{address}");
    let state = AppState::new(store, auth, &public_url)
        .with_limits(config.limits.clone())
        .with_reap_period(config.reap_period);
    serve(listener, state, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The credentials the server accepts. Refuses to start on an empty token: an empty
/// `SHIPLOG_READ_TOKEN` would otherwise leave reads open without a word.
fn access(config: &Config, public_url: &str) -> anyhow::Result<Auth> {
    for variable in ["SHIPLOG_READ_TOKEN", "SHIPLOG_TOKEN"] {
        if std::env::var_os(variable).is_some_and(|value| value.is_empty()) {
            anyhow::bail!("{variable} is set but empty: give a token, or unset it");
        }
    }
    let auth = config.auth(public_url).map_err(anyhow::Error::msg)?;
    if config.tokens.is_empty() && config.token_file.is_none() && config.allow_repos.is_empty() {
        tracing::warn!(
            "no --token, --token-file or --allow-repo given: every write will be refused with 401"
        );
    }
    if !config.allow_repos.is_empty() {
        tracing::info!(allow = ?config.allow_repos, "accepting GitHub Actions OIDC tokens");
    }
    Ok(auth)
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM. The handlers are installed by this call,
/// not when the future is first polled, so a signal sent once the address is printed is never
/// missed (it would otherwise kill the process before it could shut down gracefully).
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
