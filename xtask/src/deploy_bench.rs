//! `cargo xtask bench deploy`: `shiplog deploy` against `kubectl apply --server-side` plus
//! `kubectl rollout status` on kubesim, in wall time and API requests. The benchmark itself
//! is `cli/benches/deploy.rs`; it needs the release `shiplog` and `shiplog-kubesim`
//! binaries and kubectl (`$KUBECTL`, else `PATH`; `cargo xtask setup` installs it).

use crate::workspace::{cargo, exec};

/// Builds the release binaries, then runs the benchmark with `rest`
/// (`cargo xtask bench deploy -- --rounds 5`).
pub fn run(rest: &[String]) -> anyhow::Result<()> {
    exec(cargo().args([
        "build",
        "--release",
        "--package",
        "shiplog",
        "--package",
        "shiplog-kubesim",
    ]))?;
    exec(
        cargo()
            .args(["bench", "--package", "shiplog", "--bench", "deploy", "--"])
            .args(rest),
    )
}
