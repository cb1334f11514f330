//! `cargo xtask bench console`: installs the tools and builds the console, then runs its benchmark
//! (`tests/benches/console.rs` in `shiplog-e2e`): the `.wasm` size raw and gzipped, and the time
//! from navigation to the history view's first page in headless Chromium over a large history.

use crate::workspace::{cargo, exec};

/// Sets up (idempotent), builds the console and runs the benchmark with `rest` as its arguments
/// (see `cargo xtask bench console -- --help`).
pub fn run(rest: &[String]) -> anyhow::Result<()> {
    crate::setup::run()?;
    crate::console::build()?;
    exec(
        cargo()
            .args(["bench", "-p", "shiplog-e2e", "--bench", "console", "--"])
            .args(rest),
    )
}
