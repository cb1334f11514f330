//! Deploying again (issue 17), on the 35-object fixture, each round on a fresh kubesim where
//! both sides first deploy the fixture into their own namespace:
//!
//! - **Unchanged redeploy**: `shiplog deploy` of the same manifests again, against
//!   `kubectl apply --server-side` of them again followed by `kubectl rollout status` for each
//!   Deployment (what a deploy script runs on every push). Wall time, requests and writes
//!   (requests that change something: neither reads nor dry runs) in each side's window. Goals:
//!   0 writes, ≤ 0.5× kubectl's wall time.
//! - **The preview's cost on a changed deploy** (new images for three Deployments): the plan's
//!   dry runs and reads of the live objects are made by every deploy anyway (an object is
//!   written only when they show it changes), so what the preview adds is making each change's
//!   diff. Measured in-process: the engine's diff of every object's live form (read back from
//!   kubesim) against its planned form, over [`REPEAT`] repetitions, median; reported against
//!   the changed deploy's wall time (goal: deploy with diffs ≤ 1.2× the deploy without). And
//!   `shiplog diff` of the change, as a user runs it before deploying.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use super::{
    FIXTURE, KUBECTL_NAMESPACE, Kubesim, SHIPLOG_NAMESPACE, kubectl_apply, kubectl_in, ms,
    run_side, shiplog_command as shiplog, timed,
};

/// Repetitions of the in-process diff measurement.
const REPEAT: usize = 20;

/// The images of the changed deploy: three of the fixture's services at a new tag.
const CHANGED: [&str; 3] = ["frontend", "cartservice", "checkoutservice"];
const REGISTRY: &str = "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo";

fn changed_images() -> Vec<String> {
    CHANGED
        .iter()
        .map(|service| format!("{REGISTRY}/{service}:v0.10.7"))
        .collect()
}

fn writes(requests: &[Value]) -> usize {
    requests
        .iter()
        .filter(|r| r["method"] != "GET" && r["dryRun"] != true)
        .count()
}

/// One round's numbers.
struct Again {
    ours: (Duration, usize, usize),
    theirs: (Duration, usize, usize),
    changed_deploy: Duration,
    diffs: Duration,
    diff_command: Duration,
}

fn round(rollout_ms: u64, deployments: &[String]) -> anyhow::Result<Again> {
    let sim = Kubesim::start(rollout_ms)?;
    let cache = tempfile::tempdir()?;
    timed(&mut shiplog(&sim, "deploy", &[]))?;
    timed(&mut kubectl_in(
        &sim,
        cache.path(),
        &["create", "namespace", KUBECTL_NAMESPACE],
    ))?;
    kubectl_apply(&sim, cache.path(), deployments)?;

    let ours = run_side(&sim, SHIPLOG_NAMESPACE, KUBECTL_NAMESPACE, || {
        Ok(vec![(
            "shiplog deploy",
            timed(&mut shiplog(&sim, "deploy", &[]))?,
        )])
    })?;
    let theirs = run_side(&sim, KUBECTL_NAMESPACE, SHIPLOG_NAMESPACE, || {
        kubectl_apply(&sim, cache.path(), deployments)
    })?;

    let images = changed_images();
    let diff_command = timed(&mut shiplog(&sim, "diff", &images))?;
    let live = live_objects(&sim, cache.path())?;
    let changed_deploy = timed(&mut shiplog(&sim, "deploy", &images))?;
    Ok(Again {
        ours: (ours.wall, ours.requests.len(), writes(&ours.requests)),
        theirs: (theirs.wall, theirs.requests.len(), writes(&theirs.requests)),
        changed_deploy,
        diffs: diff_time(&live, &images),
        diff_command,
    })
}

/// The fixture's objects in ns-a as kubesim serves them.
fn live_objects(sim: &Kubesim, cache: &Path) -> anyhow::Result<Vec<Value>> {
    let output = kubectl_in(
        sim,
        cache,
        &[
            "get",
            "deployments,services,serviceaccounts",
            "-n",
            SHIPLOG_NAMESPACE,
            "-o",
            "json",
        ],
    )
    .output()
    .context("kubectl get")?;
    anyhow::ensure!(
        output.status.success(),
        "kubectl get: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: Value = serde_json::from_slice(&output.stdout)?;
    let text = std::fs::read_to_string(FIXTURE)?;
    let (manifests, _) = shiplog_engine::manifest::parse(FIXTURE, &text);
    let ours = |item: &Value| {
        manifests
            .iter()
            .any(|m| item["kind"] == m.kind() && item["metadata"]["name"] == m.name())
    };
    // The namespace's `default` ServiceAccount is the cluster's, not the fixture's.
    let items: Vec<Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| ours(item))
        .cloned()
        .collect();
    anyhow::ensure!(
        items.len() == manifests.len(),
        "{} live objects, not {}",
        items.len(),
        manifests.len()
    );
    Ok(items)
}

/// The median time the engine takes to diff every live object against its planned form
/// (`images` substituted, as the dry run would answer).
fn diff_time(live: &[Value], images: &[String]) -> Duration {
    let planned: Vec<Value> = live
        .iter()
        .map(|object| {
            let mut object = object.clone();
            let kind = object["kind"].as_str().unwrap_or_default().to_owned();
            shiplog_engine::images::substitute(&kind, &mut object, images);
            object
        })
        .collect();
    let mut times: Vec<Duration> = (0..REPEAT)
        .map(|_| {
            let began = Instant::now();
            let mut changed = 0;
            for (before, after) in live.iter().zip(&planned) {
                let kind = before["kind"].as_str().unwrap_or_default();
                let name = before["metadata"]["name"].as_str().unwrap_or_default();
                changed += usize::from(
                    shiplog_engine::deploy::object_diff(kind, name, Some(before), after).is_some(),
                );
            }
            assert_eq!(
                changed,
                CHANGED.len(),
                "the diffs find the changed Deployments"
            );
            began.elapsed()
        })
        .collect();
    times.sort();
    times[REPEAT / 2]
}

/// Runs `rounds` rounds and prints the table and the goals.
pub fn report(rollout_ms: u64, rounds: usize, deployments: &[String]) -> anyhow::Result<()> {
    println!(
        "\nunchanged redeploy and the preview's cost ({rounds} rounds, fresh kubesim each)\n\
         {:<6} {:>11} {:>5} {:>7} {:>11} {:>5} {:>7} {:>7}   {:>13} {:>9} {:>9}",
        "round",
        "shiplog ms",
        "req",
        "writes",
        "kubectl ms",
        "req",
        "writes",
        "ratio",
        "changed ms",
        "diffs ms",
        "diff cmd"
    );
    let mut all = Vec::new();
    for n in 0..rounds {
        let again = round(rollout_ms, deployments)?;
        println!(
            "{:<6} {:>11.1} {:>5} {:>7} {:>11.1} {:>5} {:>7} {:>7.3}   {:>13.1} {:>9.2} {:>9.1}",
            n + 1,
            ms(again.ours.0),
            again.ours.1,
            again.ours.2,
            ms(again.theirs.0),
            again.theirs.1,
            again.theirs.2,
            ms(again.ours.0) / ms(again.theirs.0),
            ms(again.changed_deploy),
            ms(again.diffs),
            ms(again.diff_command),
        );
        all.push(again);
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[(values.len() - 1) / 2]
    };
    let ratio = median(all.iter().map(|a| ms(a.ours.0) / ms(a.theirs.0)).collect());
    let max_writes = all.iter().map(|a| a.ours.2).max().unwrap_or(0);
    let share = median(
        all.iter()
            .map(|a| ms(a.changed_deploy) / (ms(a.changed_deploy) - ms(a.diffs)))
            .collect(),
    );
    println!(
        "target: an unchanged redeploy makes 0 writes (at most {max_writes}): {}",
        super::verdict(max_writes == 0)
    );
    println!(
        "target: unchanged redeploy ≤ 0.5× kubectl's wall time (median ratio {ratio:.3}): {}",
        super::verdict(ratio <= 0.5)
    );
    println!(
        "target: a changed deploy with its diffs ≤ 1.2× without them (median {share:.3}×): {}",
        super::verdict(share <= 1.2)
    );
    Ok(())
}
