//! `cargo xtask bench server|console|kubesim|deploy|action`: the benchmarks, each with what it
//! needs set up.
//!
//! - `server`: ingest throughput and query latency of the history server, on SQLite and on a
//!   throwaway PostgreSQL (`server/benches/server.rs`).
//! - `console`: the console's wasm size and history render time (`tests/benches/console.rs`).
//! - `kubesim`: the simulator's server-side apply throughput and kubectl's apply time
//!   (`kubesim/benches/kubesim.rs`).
//! - `deploy`: `shiplog deploy` against `kubectl apply --server-side` + `kubectl rollout status`
//!   on kubesim, in wall time and API requests (`cli/benches/deploy.rs`).
//! - `action`: the GitHub Action's dist size and cold start (spawn of `node main.cjs` to its
//!   first request at kubesim) against `node -e 0` and `kubectl version --client`
//!   (`tests/benches/action.rs`).

use crate::postgres::TempPostgres;
use crate::workspace::{cargo, exec};
use crate::{action_bench, console_bench, deploy_bench, kubesim_bench, setup};

/// The environment variable that hands the benchmark a PostgreSQL server.
pub const BENCH_POSTGRES_ENV: &str = "SHIPLOG_BENCH_POSTGRES";

#[derive(clap::Args)]
pub struct Args {
    /// What to benchmark.
    #[arg(value_enum)]
    pub target: Target,
    /// Arguments passed to the benchmark (e.g. `cargo xtask bench server -- --help`).
    #[arg(last = true)]
    pub rest: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Target {
    /// The history server: ingest rate and query latency on SQLite and PostgreSQL.
    Server,
    /// The console: wasm size and the history view's first render with a large history.
    Console,
    /// The Kubernetes API simulator: server-side apply throughput and kubectl apply time.
    Kubesim,
    /// The deploy engine: `shiplog deploy` against kubectl apply + rollout status on kubesim.
    Deploy,
    /// The GitHub Action: dist size and cold start against `node -e 0` and kubectl.
    Action,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match args.target {
        Target::Server => server(&args.rest),
        Target::Console => console_bench::run(&args.rest),
        Target::Kubesim => {
            setup::run()?;
            kubesim_bench::run(&args.rest)
        }
        Target::Deploy => {
            setup::run()?;
            deploy_bench::run(&args.rest)
        }
        Target::Action => action_bench::run(&args.rest),
    }
}

fn server(rest: &[String]) -> anyhow::Result<()> {
    setup::run()?;
    let postgres = TempPostgres::start()?;
    exec(
        cargo()
            .args([
                "bench",
                "--package",
                "shiplog-server",
                "--bench",
                "server",
                "--",
            ])
            .args(rest)
            .env(BENCH_POSTGRES_ENV, postgres.url()),
    )?;
    drop(postgres);
    Ok(())
}
