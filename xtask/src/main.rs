//! `cargo xtask`: all of shiplog's automation in one place, so nothing drifts between a
//! developer's machine and CI.
//!
//! - `setup`: installs what the tests need (idempotent).
//! - `console`: builds the web console with trunk.
//! - `dist`: builds the GitHub Action into `action/dist`.
//! - `lint`: the GitHub workflows, `action.yml` and the `Dockerfile` through actionlint, zizmor
//!   and hadolint.
//! - `test`: formatting, clippy, the linters, every test on SQLite and on a throwaway
//!   PostgreSQL.
//! - `demo`: runs the product end to end on its embedded defaults: kubesim, the server, and real
//!   deploys made by the built Action.
//! - `bench server|console|kubesim|deploy|action`: the benchmarks.
//! - `image`: the static `shiplog-server` and its container image.

mod action_bench;
mod bench;
mod console;
mod console_bench;
mod demo;
mod deploy_bench;
mod dist;
mod image;
mod kubesim_bench;
mod lint;
mod postgres;
mod setup;
mod test;
mod workspace;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "shiplog's build, test and demo automation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what the tests need: the wasm32 target and PostgreSQL. Safe to run again.
    Setup,
    /// Build the web console into console/dist (served by shiplog-server).
    Console,
    /// Build the GitHub Action (wasm + Node glue) into action/dist.
    Dist(dist::Args),
    /// Check the GitHub workflows, action.yml and the Dockerfile with actionlint, zizmor and
    /// hadolint (installed into .tools).
    Lint,
    /// Check formatting and lints, then run every test on SQLite and on PostgreSQL.
    Test(test::Args),
    /// Start kubesim and the server on SQLite, deploy sample apps with the built Action, and keep
    /// both up until Ctrl-C.
    Demo(demo::Args),
    /// Run a benchmark.
    Bench(bench::Args),
    /// Build the static shiplog-server (musl, console embedded) for this machine's architecture
    /// (linux amd64 or arm64), check it, and build its container image when docker or podman
    /// answers.
    Image(image::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup => setup::run(),
        Command::Console => setup::console_tools().and_then(|()| console::build()),
        Command::Dist(args) => dist::run(&args),
        Command::Lint => lint::run(),
        Command::Test(args) => test::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Image(args) => image::run(&args),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}
