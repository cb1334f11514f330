//! `cargo xtask bench server`: ingest throughput and query latency of the history server, on
//! SQLite and on a throwaway PostgreSQL. The benchmark itself is `server/benches/server.rs`.

use crate::postgres::TempPostgres;
use crate::setup;
use crate::workspace::{cargo, exec};

/// The environment variable that hands the benchmark a PostgreSQL server.
pub const BENCH_POSTGRES_ENV: &str = "SHIPLOG_BENCH_POSTGRES";

#[derive(clap::Args)]
pub struct Args {
    /// What to benchmark.
    #[arg(value_enum)]
    pub target: Target,
    /// Arguments passed to the benchmark (see `cargo xtask bench server -- --help`).
    #[arg(last = true)]
    pub rest: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Target {
    /// The history server: ingest rate and query latency.
    Server,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match args.target {
        Target::Server => {
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
                    .args(&args.rest)
                    .env(BENCH_POSTGRES_ENV, postgres.url()),
            )?;
            drop(postgres);
            Ok(())
        }
    }
}
