//! `cargo xtask bench kubesim`: kubesim's server-side apply throughput and the wall time of
//! `kubectl apply --server-side` of the microservices-demo fixture. The benchmark itself is
//! `kubesim/benches/kubesim.rs`.

use crate::workspace::{cargo, exec};

/// Runs the benchmark, passing `rest` to it (`cargo xtask bench kubesim -- --help`).
pub fn run(rest: &[String]) -> anyhow::Result<()> {
    exec(
        cargo()
            .args([
                "bench",
                "--package",
                "shiplog-kubesim",
                "--bench",
                "kubesim",
                "--",
            ])
            .args(rest),
    )
}
