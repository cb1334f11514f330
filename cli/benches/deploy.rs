//! `cargo xtask bench deploy`: `shiplog deploy` against `kubectl apply --server-side` followed
//! by `kubectl rollout status` for each Deployment, on the same kubesim in the same run
//! (issue 4, "Performance": target ≤ 0.3× kubectl's wall time and no more API requests).
//!
//! Every round starts one release `shiplog-kubesim` (HTTPS, `--rollout-ms`, a request log)
//! and deploys the 35-object microservices-demo fixture twice, one side after the other, each
//! into its own fresh namespace:
//!
//! - **shiplog**: `shiplog deploy --manifests F --namespace ns-a --kubeconfig K` (it creates
//!   the namespace, dry-runs every object, applies tier by tier, waits for every rollout).
//! - **kubectl**, as a deploy script would run it with a fresh cache (`--cache-dir`, new every
//!   round, shared by the script's commands): `kubectl create namespace ns-b`,
//!   `kubectl apply --server-side -n ns-b -f F`, then `kubectl rollout status deployment/X
//!   -n ns-b` for each Deployment, one after the other.
//!
//! The sides alternate which goes first. Wall time is from starting the first process of a
//! side to the exit of its last one.
//!
//! **Counting requests.** kubesim appends one line per request to its request log before the
//! answer (for a watch: its headers) leaves the server, and its simulated controllers make no
//! HTTP requests, so when a side's last process has exited, every request it made is in the
//! log. The lines appended between the start and the end of a side are its window. A request
//! is the side's when its path is in the side's namespace (`…/namespaces/ns-a/…`, the
//! namespace object itself included) or names no namespace at all (discovery, OpenAPI,
//! `/version`, `POST /api/v1/namespaces`) and lies in the side's window. A request for the
//! other side's namespace inside a window would be a counting error and fails the benchmark;
//! requests outside both windows are reported, not attributed. Retries and watch reconnects
//! count as the requests they are.
//!
//! Then, unless `--skip-again`, an unchanged redeploy against kubectl's and the preview's cost
//! on a changed deploy (see `deploy/again.rs`); unless `--skip-failures`, the time to a failure
//! verdict for three failing deploys (see `deploy/failures.rs`).
//!
//! Options: `cargo xtask bench deploy -- --help`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use serde_json::Value;
use shiplog_kubesim::launch::{self, Launch};

#[derive(Parser)]
#[command(about = "shiplog deploy against kubectl apply --server-side + rollout status")]
struct Args {
    /// Rounds, each on a fresh kubesim; the side that goes first alternates.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// kubesim's `--rollout-ms`: how long a pod takes to become ready.
    #[arg(long, default_value_t = 200)]
    rollout_ms: u64,
    /// Leave out the time to a failure verdict (about two minutes).
    #[arg(long)]
    skip_failures: bool,
    /// Leave out the unchanged redeploy and the preview's cost.
    #[arg(long)]
    skip_again: bool,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

#[path = "deploy/again.rs"]
mod again;
#[path = "deploy/failures.rs"]
mod failures;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/microservices-demo/kubernetes-manifests.yaml"
);
const SHIPLOG_NAMESPACE: &str = "ns-a";
const KUBECTL_NAMESPACE: &str = "ns-b";

/// The directory of the release binaries (where cargo put `shiplog` for this benchmark).
fn release_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_shiplog"))
        .parent()
        .expect("a binary lives in a directory")
        .to_path_buf()
}

fn kubectl() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into())
}

/// A release kubesim with its kubeconfig and request log in a directory of its own.
struct Kubesim {
    process: launch::Kubesim,
    // Declared last: removed after the process is killed.
    _dir: tempfile::TempDir,
}

impl Kubesim {
    fn start(rollout_ms: u64) -> anyhow::Result<Self> {
        let binary = release_dir().join(format!("shiplog-kubesim{}", std::env::consts::EXE_SUFFIX));
        let dir = tempfile::tempdir()?;
        let process = Launch::new(&binary, dir.path())
            .args(["--rollout-ms", &rollout_ms.to_string()])
            .start()?;
        Ok(Self { process, _dir: dir })
    }

    fn kubeconfig(&self) -> PathBuf {
        self.process.kubeconfig()
    }

    /// Every request logged so far, in order.
    fn requests(&self) -> anyhow::Result<Vec<Value>> {
        self.process
            .request_lines()
            .iter()
            .map(|line| serde_json::from_str(line).context("a request log line"))
            .collect()
    }
}

/// Runs `command` to completion, failing with its output if it fails; how long it took.
fn timed(command: &mut Command) -> anyhow::Result<Duration> {
    let began = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    let elapsed = began.elapsed();
    if !output.status.success() {
        bail!(
            "{:?} failed ({}):\n{}{}",
            command,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(elapsed)
}

/// One side of a round: its wall time, the time of each step and its requests.
struct Side {
    wall: Duration,
    steps: Vec<(&'static str, Duration)>,
    requests: Vec<Value>,
}

/// `shiplog <command> --manifests FIXTURE --namespace ns-a --kubeconfig …` against `sim`,
/// with an `--images` flag for each of `images`.
fn shiplog_command(sim: &Kubesim, command: &str, images: &[String]) -> Command {
    let mut run = Command::new(env!("CARGO_BIN_EXE_shiplog"));
    for name in ["SHIPLOG_SERVER_URL", "SHIPLOG_SERVER_TOKEN", "KUBECONFIG"] {
        run.env_remove(name);
    }
    run.args([
        command,
        "--manifests",
        FIXTURE,
        "--namespace",
        SHIPLOG_NAMESPACE,
    ])
    .arg("--kubeconfig")
    .arg(sim.kubeconfig());
    for image in images {
        run.args(["--images", image]);
    }
    run
}

fn shiplog(sim: &Kubesim) -> anyhow::Result<Vec<(&'static str, Duration)>> {
    let took = timed(&mut shiplog_command(sim, "deploy", &[]))?;
    Ok(vec![("shiplog deploy", took)])
}

/// kubectl against `sim`, with a deploy script's cache directory `cache`.
fn kubectl_in(sim: &Kubesim, cache: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(kubectl());
    command
        .env_remove("KUBECONFIG")
        .arg("--kubeconfig")
        .arg(sim.kubeconfig())
        .arg("--cache-dir")
        .arg(cache)
        .args(args);
    command
}

/// The kubectl side of a first deploy: `create namespace`, then [`kubectl_apply`].
fn kubectl_script(
    sim: &Kubesim,
    deployments: &[String],
) -> anyhow::Result<Vec<(&'static str, Duration)>> {
    let cache = tempfile::tempdir()?;
    let namespace = timed(&mut kubectl_in(
        sim,
        cache.path(),
        &["create", "namespace", KUBECTL_NAMESPACE],
    ))?;
    let mut steps = vec![("create namespace", namespace)];
    steps.extend(kubectl_apply(sim, cache.path(), deployments)?);
    Ok(steps)
}

/// `kubectl apply --server-side` of the fixture into ns-b, then `rollout status` of each
/// Deployment: the steps and their times.
pub(crate) fn kubectl_apply(
    sim: &Kubesim,
    cache: &Path,
    deployments: &[String],
) -> anyhow::Result<Vec<(&'static str, Duration)>> {
    let apply = timed(&mut kubectl_in(
        sim,
        cache,
        &[
            "apply",
            "--server-side",
            "-n",
            KUBECTL_NAMESPACE,
            "-f",
            FIXTURE,
        ],
    ))?;
    let mut rollouts = Duration::ZERO;
    for name in deployments {
        let target = format!("deployment/{name}");
        rollouts += timed(&mut kubectl_in(
            sim,
            cache,
            &["rollout", "status", &target, "-n", KUBECTL_NAMESPACE],
        ))?;
    }
    Ok(vec![
        ("apply --server-side", apply),
        ("rollout status (all)", rollouts),
    ])
}

/// The namespace a request path is in, if any (`/api/v1/namespaces/x` is in `x`).
fn namespace_of(path: &str) -> Option<&str> {
    let mut segments = path.split('/');
    segments.find(|s| *s == "namespaces")?;
    segments.next().filter(|s| !s.is_empty())
}

/// What a request was for, to show where the requests go.
fn category(request: &Value) -> &'static str {
    let method = request["method"].as_str().unwrap_or("");
    let path = request["path"].as_str().unwrap_or("");
    let query = request["query"].as_str().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let watch = query
        .split('&')
        .any(|pair| pair == "watch=true" || pair == "watch=1");
    match (method, segments.as_slice()) {
        (_, ["openapi", ..]) => "openapi",
        ("GET", ["version"] | ["api"] | ["api", _] | ["apis"] | ["apis", _, _]) => "discovery",
        (_, ["api", "v1", "namespaces"] | ["api", "v1", "namespaces", _]) => "namespace",
        ("PATCH", _) if request["dryRun"] == true => "dry-run apply",
        ("PATCH", _) => "apply",
        ("GET", _) if watch => "watch",
        ("GET", _) => "get/list",
        _ => "other",
    }
}

/// Runs one side and takes its window of the request log.
fn run_side(
    sim: &Kubesim,
    namespace: &str,
    other: &str,
    go: impl FnOnce() -> anyhow::Result<Vec<(&'static str, Duration)>>,
) -> anyhow::Result<Side> {
    let from = sim.requests()?.len();
    let began = Instant::now();
    let steps = go()?;
    let wall = began.elapsed();
    let mut requests = sim.requests()?;
    requests.drain(..from);
    for request in &requests {
        let path = request["path"].as_str().unwrap_or("");
        match namespace_of(path) {
            None => {}
            Some(ns) if ns == namespace => {}
            Some(ns) => bail!(
                "{path} (namespace {ns}, not {namespace}, nor {other}) in the window of {namespace}"
            ),
        }
    }
    Ok(Side {
        wall,
        steps,
        requests,
    })
}

struct Round {
    shiplog_first: bool,
    shiplog: Side,
    kubectl: Side,
    /// Requests outside both windows (none expected).
    outside: usize,
}

fn round(rollout_ms: u64, shiplog_first: bool, deployments: &[String]) -> anyhow::Result<Round> {
    let sim = Kubesim::start(rollout_ms)?;
    let mut ours = None;
    let mut theirs = None;
    for shiplog_turn in [shiplog_first, !shiplog_first] {
        if shiplog_turn {
            ours = Some(run_side(
                &sim,
                SHIPLOG_NAMESPACE,
                KUBECTL_NAMESPACE,
                || shiplog(&sim),
            )?);
        } else {
            theirs = Some(run_side(
                &sim,
                KUBECTL_NAMESPACE,
                SHIPLOG_NAMESPACE,
                || kubectl_script(&sim, deployments),
            )?);
        }
    }
    let (shiplog, kubectl) = (ours.expect("ran"), theirs.expect("ran"));
    let outside = sim.requests()?.len() - shiplog.requests.len() - kubectl.requests.len();
    Ok(Round {
        shiplog_first,
        shiplog,
        kubectl,
        outside,
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Minimum and median (the lower middle for an even count).
fn min_median<T: Copy + Ord>(values: impl IntoIterator<Item = T>) -> (T, T) {
    let mut values: Vec<T> = values.into_iter().collect();
    values.sort();
    (values[0], values[(values.len() - 1) / 2])
}

fn breakdown(rounds: &[Round]) -> String {
    let last = rounds.last().expect("at least one round");
    let mut table: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for request in &last.shiplog.requests {
        table.entry(category(request)).or_default().0 += 1;
    }
    for request in &last.kubectl.requests {
        table.entry(category(request)).or_default().1 += 1;
    }
    let mut out = format!(
        "\nrequests by purpose (round {}):\n{:<16} {:>8} {:>8}\n",
        rounds.len(),
        "",
        "shiplog",
        "kubectl"
    );
    for (category, (ours, theirs)) in &table {
        let _ = writeln!(out, "{category:<16} {ours:>8} {theirs:>8}");
    }
    let _ = writeln!(
        out,
        "{:<16} {:>8} {:>8}",
        "total",
        last.shiplog.requests.len(),
        last.kubectl.requests.len()
    );
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn summary(rounds: &[Round]) -> String {
    let (ours_min, ours_median) = min_median(rounds.iter().map(|r| r.shiplog.wall));
    let (theirs_min, theirs_median) = min_median(rounds.iter().map(|r| r.kubectl.wall));
    let (ours_req_min, ours_req_median) =
        min_median(rounds.iter().map(|r| r.shiplog.requests.len()));
    let (theirs_req_min, theirs_req_median) =
        min_median(rounds.iter().map(|r| r.kubectl.requests.len()));
    let ours_req_max = rounds.iter().map(|r| r.shiplog.requests.len()).max();
    let theirs_req_min_all = rounds.iter().map(|r| r.kubectl.requests.len()).min();
    let wall_ratio = ms(ours_median) / ms(theirs_median);
    let mut out = format!(
        "\n{:<44} {:>10} {:>10} {:>10} {:>10}\n",
        "", "min ms", "median ms", "min req", "median req"
    );
    for (name, (min, median), (req_min, req_median)) in [
        (
            "shiplog deploy",
            (ours_min, ours_median),
            (ours_req_min, ours_req_median),
        ),
        (
            "kubectl apply --server-side + rollout status",
            (theirs_min, theirs_median),
            (theirs_req_min, theirs_req_median),
        ),
    ] {
        let _ = writeln!(
            out,
            "{name:<44} {:>10.1} {:>10.1} {req_min:>10} {req_median:>10}",
            ms(min),
            ms(median)
        );
    }
    let _ = writeln!(
        out,
        "{:<44} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
        "shiplog / kubectl",
        ms(ours_min) / ms(theirs_min),
        wall_ratio,
        ours_req_min as f64 / theirs_req_min as f64,
        ours_req_median as f64 / theirs_req_median as f64,
    );
    let _ = writeln!(
        out,
        "\ntarget: wall time ≤ 0.3× kubectl's (median ratio {wall_ratio:.3}): {}",
        verdict(wall_ratio <= 0.3)
    );
    let _ = writeln!(
        out,
        "target: no more requests than kubectl (every round: shiplog ≤ {}, kubectl ≥ {}): {}",
        ours_req_max.unwrap_or(0),
        theirs_req_min_all.unwrap_or(0),
        verdict(
            rounds
                .iter()
                .all(|r| r.shiplog.requests.len() <= r.kubectl.requests.len())
        )
    );
    out
}

fn steps(side: &Side) -> String {
    side.steps
        .iter()
        .map(|(name, took)| format!("{name} {:.0}", ms(*took)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.rounds > 0, "--rounds must be at least 1");
    let text = std::fs::read_to_string(FIXTURE).with_context(|| format!("reading {FIXTURE}"))?;
    let (manifests, problems) = shiplog_engine::manifest::parse(FIXTURE, &text);
    ensure!(problems.is_empty(), "the fixture does not parse");
    let deployments: Vec<String> = manifests
        .iter()
        .filter(|m| m.kind() == "Deployment")
        .map(|m| m.name().to_owned())
        .collect();
    let version = Command::new(kubectl())
        .args(["version", "--client"])
        .output()
        .with_context(|| format!("running `{} version --client` (set $KUBECTL)", kubectl()))?;
    println!(
        "deploy benchmark: {} objects ({} Deployments), kubesim --rollout-ms {}, {} rounds, {}",
        manifests.len(),
        deployments.len(),
        args.rollout_ms,
        args.rounds,
        String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or("kubectl")
    );
    println!(
        "\n{:<6} {:<14} {:>11} {:>8} {:>11} {:>8} {:>7}   kubectl steps (ms)",
        "round", "first", "shiplog ms", "req", "kubectl ms", "req", "ratio"
    );
    let mut rounds = Vec::new();
    for n in 0..args.rounds {
        let done = round(args.rollout_ms, n % 2 == 0, &deployments)?;
        println!(
            "{:<6} {:<14} {:>11.1} {:>8} {:>11.1} {:>8} {:>7.3}   {}{}",
            n + 1,
            if done.shiplog_first {
                "shiplog"
            } else {
                "kubectl"
            },
            ms(done.shiplog.wall),
            done.shiplog.requests.len(),
            ms(done.kubectl.wall),
            done.kubectl.requests.len(),
            ms(done.shiplog.wall) / ms(done.kubectl.wall),
            steps(&done.kubectl),
            if done.outside > 0 {
                format!("   ({} requests outside both windows)", done.outside)
            } else {
                String::new()
            }
        );
        rounds.push(done);
    }
    print!("{}", summary(&rounds));
    print!("{}", breakdown(&rounds));
    if !args.skip_again {
        again::report(args.rollout_ms, args.rounds, &deployments)?;
    }
    if !args.skip_failures {
        let kubesim =
            release_dir().join(format!("shiplog-kubesim{}", std::env::consts::EXE_SUFFIX));
        failures::report(
            &kubesim,
            Path::new(env!("CARGO_BIN_EXE_shiplog")),
            &kubectl(),
        )?;
    }
    Ok(())
}
