//! `cargo xtask test`: the one command that proves `main` works. Formatting, clippy with
//! warnings denied, the workflows and the Dockerfile through actionlint, zizmor and hadolint,
//! the model and the deploy engine's core built for wasm32, the console built with trunk (the
//! browser tests drive it), `action/dist` checked against its sources and built afresh for the
//! Action's end-to-end tests, the static server of the image, then every test on SQLite and the server's tests again on a
//! throwaway PostgreSQL.

use crate::console;
use crate::dist;
use crate::image;
use crate::lint;
use crate::postgres::TempPostgres;
use crate::setup;
use crate::workspace::{cargo, exec, root};

/// The environment variable the Action's end-to-end tests read to find the dist to run.
pub const ACTION_DIST_ENV: &str = "SHIPLOG_ACTION_DIST";

/// The environment variable the Action's end-to-end tests read to find the node to run it with.
pub const ACTION_NODE_ENV: &str = "SHIPLOG_NODE";

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
    // The workflows, action.yml and the Dockerfile.
    lint::run()?;
    exec(cargo().args([
        "build",
        "--package",
        "shiplog-model",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    // The GitHub Action (and with it the deploy engine's core) as WebAssembly, linted.
    exec(cargo().args([
        "clippy",
        "--package",
        "shiplog-action",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The committed Action must be built from these sources; the tests run a fresh build.
    dist::check_fresh()?;
    let action = root().join("target").join("action-dist");
    dist::build(&action)?;
    console::build()?;
    // The static server the empty-root test starts (console embedded, so after the console).
    let static_server = image::build_binary()?;
    exec(
        cargo()
            .args(["test", "--workspace"])
            .env(image::STATIC_SERVER_ENV, &static_server)
            .env("PATH", setup::path_with_tools())
            .env(ACTION_DIST_ENV, &action)
            .env(ACTION_NODE_ENV, setup::action_node()?)
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
