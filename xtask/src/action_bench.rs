//! `cargo xtask bench action`: the GitHub Action's dist size and cold start — the first request
//! of `node main.cjs` at kubesim — against `node -e 0` and `kubectl version --client`. The
//! benchmark itself is `tests/benches/action.rs` (crate `shiplog-e2e`); this builds what it
//! measures: a fresh dist (`dist::build` into `target/action-bench/dist`, so the committed
//! `action/dist` is left alone) and the release `shiplog-kubesim`.

use crate::workspace::{cargo, exec, root};
use crate::{dist, setup};

/// Builds the dist and kubesim, then runs the benchmark with `rest`
/// (`cargo xtask bench action -- --rounds 50`). With `--dist DIR` in `rest`, that dist is
/// measured and none is built.
pub fn run(rest: &[String]) -> anyhow::Result<()> {
    setup::run()?;
    let mut args = Vec::new();
    if !given(rest, "--dist") {
        let out = root().join("target").join("action-bench").join("dist");
        std::fs::create_dir_all(out.parent().expect("a parent"))?;
        dist::build(&out)?;
        args.push("--dist".into());
        args.push(out.to_string_lossy().into_owned());
    }
    // The runner's node (`runs.using: node24`) unless another is asked for.
    if !given(rest, "--node") {
        args.push("--node".into());
        args.push(setup::action_node()?.to_string_lossy().into_owned());
    }
    exec(cargo().args([
        "build",
        "--release",
        "--package",
        "shiplog-kubesim",
        "--bin",
        "shiplog-kubesim",
    ]))?;
    exec(
        cargo()
            .args([
                "bench",
                "--package",
                "shiplog-e2e",
                "--bench",
                "action",
                "--",
            ])
            .args(args)
            .args(rest)
            .env("PATH", setup::path_with_tools()),
    )
}

/// Whether `rest` sets `flag` (`--flag VALUE` or `--flag=VALUE`).
fn given(rest: &[String], flag: &str) -> bool {
    rest.iter()
        .any(|arg| arg == flag || arg.strip_prefix(flag).is_some_and(|v| v.starts_with('=')))
}
