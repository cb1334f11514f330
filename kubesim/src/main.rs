//! `shiplog-kubesim`: parses flags and runs the simulator (see the library for everything
//! else).

use clap::Parser as _;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUBESIM_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = shiplog_kubesim::config::Config::parse();
    if let Err(e) = shiplog_kubesim::run(config).await {
        eprintln!("kubesim: {e:#}");
        std::process::exit(1);
    }
}
