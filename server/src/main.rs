//! `shiplog-server`: parses flags, opens the database, and serves until SIGINT or SIGTERM;
//! or, with `backup`, copies the database and exits.
//!
//! Exit codes: 0 done, 1 failed, 2 the command does not apply to this database (`backup` of
//! PostgreSQL).

use anyhow::Context as _;
use clap::Parser as _;
use shiplog_server::auth::Auth;
use shiplog_server::backup::{self, BackupError};
use shiplog_server::config::{BackupArgs, Command, Config, redact_url};
use shiplog_server::logging::{self, LogFormat};
use shiplog_server::store::Store;
use shiplog_server::{AppState, serve};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let config = Config::parse();
    let format = config.log_format;
    logging::init(format);
    let result = match &config.command {
        Some(Command::Backup(args)) => run_backup(&config, args, format).await,
        None => run(config).await,
    };
    if let Err(e) = result {
        logging::fatal(format, &e);
        let unsupported = matches!(e.downcast_ref(), Some(BackupError::Postgres));
        std::process::exit(if unsupported { 2 } else { 1 });
    }
}

/// `shiplog-server backup`: one line when it starts, one with the copy's size and records.
async fn run_backup(config: &Config, args: &BackupArgs, format: LogFormat) -> anyhow::Result<()> {
    let database = redact_url(&config.database);
    let to = args.to.display();
    logging::outcome(format, &format!("backing up {database} to {to}"));
    let copy = backup::backup(&config.database, &args.to, args.force).await?;
    logging::outcome(
        format,
        &format!(
            "backed up {} deploys ({}) from {database} to {to}",
            copy.deploys,
            backup::human_size(copy.bytes)
        ),
    );
    Ok(())
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
    if config.freezes.len() > shiplog_server::freeze::MAX_WINDOWS {
        anyhow::bail!(
            "{} --freeze windows given; at most {} are taken",
            config.freezes.len(),
            shiplog_server::freeze::MAX_WINDOWS
        );
    }
    for window in &config.freezes {
        tracing::info!(%window, "freeze window");
    }
    let webhooks = config.webhooks().map_err(anyhow::Error::msg)?;
    if !webhooks.hooks.is_empty() {
        let names: Vec<&str> = webhooks.hooks.iter().map(|h| h.name.as_str()).collect();
        tracing::info!(webhooks = ?names, "sending deploy events to webhooks");
    }
    let store = Store::open(&config.database)
        .await
        .with_context(|| format!("opening the database {}", redact_url(&config.database)))?;
    tracing::info!(database = %redact_url(&config.database), "database ready");
    let shutdown = shutdown_signal().context("installing the signal handlers")?;
    // Tests and scripts read this line to learn the address when listening on port 0.
    println!("shiplog-server listening on http://{address}");
    let state = AppState::new(store, auth, &public_url)
        .with_limits(config.limits.clone())
        .with_reap_period(config.reap_period)
        .with_retention(config.retain)
        .with_freezes(config.freezes.clone())
        .with_console_locks(config.console_locks)
        .with_webhooks(webhooks);
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
