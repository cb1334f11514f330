//! `cargo xtask demo`: the product end to end on its embedded defaults. It installs what it
//! needs; builds the console, the history server, kubesim and the GitHub Action; starts kubesim
//! (a local Kubernetes API *simulator*, never a real cluster) and the server on a fresh SQLite
//! database; then runs the built Action under `node` exactly as a GitHub runner does (`INPUT_*`
//! and `GITHUB_*` variables, `GITHUB_OUTPUT`/`GITHUB_STATE`/`GITHUB_STEP_SUMMARY` files) for a
//! release story: the microservices fixture as app "boutique" and two small apps through dev,
//! stage and prod, one rollout that fails and one that fails and is rolled back. Every deploy
//! in the story is real: applied to kubesim, watched, and recorded by the Action itself.
//!
//! Before the story, a small backfill of older history is recorded straight through the API
//! (labelled as such in each record's cluster field) so the insights page has more than one day
//! to show. Then it prints the console's URL and keeps kubesim and the server up until Ctrl-C.

mod backfill;
mod processes;
mod runner;
mod story;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;

use crate::workspace::{cargo, exec, root};
use crate::{console, dist, setup};

use backfill::{BACKFILL_CLUSTER, record_backfill};
use processes::{start_kubesim, start_server, wait_for_either};
use runner::Runner;
use story::{FIXTURE, IMAGE_RULES, compared, story};

/// The write token the demo server accepts (the Action's `server-token`).
const DEMO_TOKEN: &str = "demo-token";
#[derive(clap::Args)]
pub struct Args {
    /// Address for the server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Run the committed `action/dist` (what `uses:` runs) instead of building the Action
    /// afresh into target/demo/action.
    #[arg(long)]
    pub committed_action: bool,
    /// Record no API-seeded backfill: only the real deploys.
    #[arg(long)]
    pub no_backfill: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    setup::run()?;
    console::build()?;
    exec(cargo().args([
        "build",
        "--package",
        "shiplog-server",
        "--package",
        "shiplog-kubesim",
    ]))?;
    let dir = root().join("target").join("demo");
    std::fs::create_dir_all(&dir)?;
    let action = if args.committed_action {
        dist::committed()
    } else {
        let out = dir.join("action");
        dist::build(&out)?;
        out
    };
    anyhow::ensure!(
        Path::new(FIXTURE).is_file(),
        "the microservices fixture is missing: {FIXTURE}"
    );
    fresh_state(&dir)?;

    let database = format!("sqlite://{}", dir.join("shiplog.db").display());
    let (mut server, mut base) = start_server(&args.listen, &database)?;
    if !console_served(&base) {
        // A debug server reads console/dist from disk, but rust-embed fixes the folder's
        // canonical path when the server compiles: one compiled before console/dist existed
        // never serves it. Rebuild just that crate.
        eprintln!(
            "demo: this shiplog-server was compiled before console/dist existed and cannot \
             serve the console; rebuilding it"
        );
        drop(server);
        exec(cargo().args(["clean", "--package", "shiplog-server"]))?;
        exec(cargo().args(["build", "--package", "shiplog-server"]))?;
        (server, base) = start_server(&args.listen, &database)?;
        anyhow::ensure!(
            console_served(&base),
            "shiplog-server still does not serve the console from {}",
            console::dist().display()
        );
    }
    let (kubesim, kube_url) = start_kubesim(&dir)?;
    println!();
    println!(
        "shiplog demo: the GitHub Action deploys into kubesim, a local Kubernetes API SIMULATOR"
    );
    println!("  (not a real cluster: nothing is scheduled, no image is pulled, no container runs)");
    println!(
        "  kubesim       {kube_url}  (kubeconfig {}, log {})",
        shown(&dir.join("kubeconfig")),
        shown(&dir.join("kubesim.log"))
    );
    for (_, reason, why) in IMAGE_RULES {
        println!("  kubesim rule  {why}: its pods fail with {reason}");
    }
    println!(
        "  history       {base} on SQLite {}",
        shown(&dir.join("shiplog.db"))
    );

    let backfilled = if args.no_backfill {
        0
    } else {
        let n = record_backfill(&base)?;
        println!(
            "backfill: {n} older deploys recorded straight through the API for the insights page \
             (never deployed; their cluster reads \"{BACKFILL_CLUSTER}\")"
        );
        n
    };

    let runner = Runner::new(&dir, &action, &base, &dir.join("kubeconfig"))?;
    println!(
        "deploying: node 24 {} as a GitHub runner runs it (each step's log in {})",
        shown(&action.join("main.cjs")),
        shown(&runner.runs)
    );
    let story = story(&dir)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut surprises = 0;
    let started = Instant::now();
    let mut ids: Vec<Option<String>> = Vec::new();
    for (n, deploy) in story.iter().enumerate() {
        let restores = deploy.restores.and_then(|i| ids[i].as_deref());
        let (outcome, id) = runner.deploy(n + 1, story.len(), deploy, restores)?;
        *counts.entry(outcome.clone()).or_default() += 1;
        surprises += usize::from(outcome != deploy.expect);
        ids.push(id);
    }
    println!("{} runs in {:.0?}", story.len(), started.elapsed());
    if surprises > 0 {
        println!(
            "WARNING: {surprises} deploy(s) did not end as the story expects (see the logs above)"
        );
    }

    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!();
    println!(
        "shiplog demo is up: {} runs of the Action into kubesim — deploys, a plan, a redeploy \
         ({}){}",
        story.len(),
        summary.join(", "),
        if backfilled > 0 {
            format!(" + {backfilled} backfilled via the API")
        } else {
            String::new()
        }
    );
    for (label, path) in links() {
        println!("  {label:<26} {base}{path}");
    }
    if let Some((Some(from), Some(to))) =
        compared(&story).map(|(a, b)| (ids[a].as_deref(), ids[b].as_deref()))
    {
        println!(
            "  {:<26} {base}/compare/{from}/{to}",
            "compare (boutique, prod)"
        );
    }
    println!("  {:<26} {DEMO_TOKEN}", "write token");
    println!(
        "  {:<26} KUBECONFIG={} kubectl get deployments -A",
        "kubectl",
        shown(&dir.join("kubeconfig"))
    );
    println!("Press Ctrl-C to stop (kubesim and the server stop with it).");
    wait_for_either(server, kubesim)
}

/// The links the demo prints, `(label, path)`: one per line of `links.tsv`, which the console's
/// tests check against its routes, so that every printed URL opens a view.
fn links() -> impl Iterator<Item = (&'static str, &'static str)> {
    include_str!("links.tsv")
        .lines()
        .filter_map(|line| line.split_once('\t'))
}

/// Starts from nothing each time: kubesim keeps its objects in memory, so the history must
/// begin afresh too.
fn fresh_state(dir: &Path) -> anyhow::Result<()> {
    for name in [
        "shiplog.db",
        "shiplog.db-wal",
        "shiplog.db-shm",
        "kubeconfig",
    ] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    for name in ["runs", "runner", "manifests"] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// A path as the user sees it: relative to the repository when it is inside it.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Whether the server answers `/` with the console rather than its "not built" page (503).
fn console_served(base: &str) -> bool {
    !matches!(
        ureq::get(&format!("{base}/")).call(),
        Err(ureq::Error::Status(503, _))
    )
}
