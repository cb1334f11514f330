//! `cargo xtask test`: the one command that proves `main` works. Formatting, clippy with
//! warnings denied, the model and the deploy engine's core built for wasm32, the console built
//! with trunk (the browser tests drive it), then every test on SQLite and the server's tests
//! again on a throwaway PostgreSQL.

use crate::console;
use crate::postgres::TempPostgres;
use crate::setup;
use crate::workspace::{cargo, exec};

/// The environment variable the server's tests read to pick PostgreSQL instead of SQLite.
pub const TEST_DATABASE_ENV: &str = "SHIPLOG_TEST_POSTGRES";

#[derive(clap::Args)]
pub struct Args {
    /// Skip the PostgreSQL pass (for a quick local run; CI never skips it).
    #[arg(long)]
    pub sqlite_only: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    setup::run()?;
    exec(cargo().args(["fmt", "--all", "--", "--check"]))?;
    exec(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    exec(cargo().args([
        "build",
        "--package",
        "shiplog-model",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    // The deploy engine's core must stay buildable for the GitHub Action's WebAssembly.
    exec(cargo().args([
        "build",
        "--package",
        "shiplog-action",
        "--no-default-features",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    console::build()?;
    exec(
        cargo()
            .args(["test", "--workspace"])
            .env("PATH", setup::path_with_tools())
            .env_remove(TEST_DATABASE_ENV),
    )?;
    if args.sqlite_only {
        eprintln!("test: PostgreSQL pass skipped (--sqlite-only)");
        return Ok(());
    }
    let postgres = TempPostgres::start()?;
    exec(
        cargo()
            .args(["test", "--package", "shiplog-server", "--tests"])
            .env(TEST_DATABASE_ENV, postgres.url()),
    )?;
    drop(postgres);
    eprintln!("test: all passed on SQLite and PostgreSQL");
    Ok(())
}
