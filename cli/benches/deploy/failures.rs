//! Time to a failure verdict (issue 13): for an image that cannot be pulled, a crash loop and
//! a missing ConfigMap, `shiplog deploy` against `kubectl apply --server-side` followed by
//! `kubectl rollout status`, each on a fresh kubesim running [`TIME_SCALE`]× faster than real
//! time (so the Deployment's default progress deadline of 600 s passes after 30 s, and the
//! kubelet's back-offs of 10 s and 20 s take 0.5 s and 1 s).
//!
//! Reported per case: both wall times, shiplog's as a fraction of the progress deadline
//! (in simulated time; goal ≤ 0.1×) and as a ratio to kubectl's, which waits the whole
//! deadline. shiplog runs with `--timeout 15m`, so that only its own judgement ends it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use shiplog_kubesim::launch::Launch;

/// How much faster than real time kubesim runs.
const TIME_SCALE: f64 = 20.0;
/// A Deployment's default `progressDeadlineSeconds`, the time kubectl waits.
const PROGRESS_DEADLINE: f64 = 600.0;

/// One failing deploy: its name, the image, and whether it needs a missing ConfigMap.
struct Case {
    name: &'static str,
    image: &'static str,
    config_map: bool,
}

const CASES: [Case; 3] = [
    Case {
        name: "ImagePullBackOff",
        image: "ghcr.io/acme/api:missing",
        config_map: false,
    },
    Case {
        name: "CrashLoopBackOff",
        image: "ghcr.io/acme/api:crash",
        config_map: false,
    },
    Case {
        name: "missing ConfigMap",
        image: "ghcr.io/acme/api:v1",
        config_map: true,
    },
];

fn manifest(case: &Case) -> String {
    let env_from = if case.config_map {
        "\n        envFrom: [{configMapRef: {name: api-settings}}]"
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api}}\nspec:\n  replicas: 2\n  \
         selector: {{matchLabels: {{app: api}}}}\n  template:\n    metadata: {{labels: {{app: \
         api}}}}\n    spec:\n      containers:\n      - name: api\n        image: {}{env_from}\n",
        case.image
    )
}

/// Runs `command`, which must fail (exit 1): how long it took.
fn until_it_fails(command: &mut Command) -> anyhow::Result<Duration> {
    let began = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    let took = began.elapsed();
    ensure!(
        output.status.code() == Some(1),
        "{command:?} should fail with exit code 1 ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(took)
}

/// The wall times of shiplog and of kubectl for `case`.
fn run(
    case: &Case,
    kubesim: &Path,
    shiplog: &Path,
    kubectl: &str,
) -> anyhow::Result<[Duration; 2]> {
    let dir = tempfile::tempdir()?;
    let sim = Launch::new(kubesim, dir.path())
        .args(["--time-scale", &TIME_SCALE.to_string()])
        .args(["--image-rule", "*:missing=ImagePullBackOff"])
        .args(["--image-rule", "*:crash=CrashLoopBackOff"])
        .start()?;
    let manifests = dir.path().join("api.yaml");
    std::fs::write(&manifests, manifest(case))?;
    let kubeconfig = sim.kubeconfig();
    let shiplog_took = until_it_fails(
        Command::new(shiplog)
            .env_remove("KUBECONFIG")
            .args([
                "deploy",
                "--namespace",
                "ns-a",
                "--timeout",
                "15m",
                "--manifests",
            ])
            .arg(&manifests)
            .arg("--kubeconfig")
            .arg(&kubeconfig),
    )?;
    let kubectl = |args: &[&str]| {
        let mut command = Command::new(kubectl);
        command
            .env_remove("KUBECONFIG")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args);
        command
    };
    let created = kubectl(&["create", "namespace", "ns-b"]).output()?;
    ensure!(created.status.success(), "kubectl create namespace failed");
    let applied = kubectl(&["apply", "--server-side", "-n", "ns-b", "-f"])
        .arg(&manifests)
        .output()?;
    ensure!(applied.status.success(), "kubectl apply failed");
    let kubectl_took = until_it_fails(&mut kubectl(&[
        "rollout",
        "status",
        "deployment/api",
        "-n",
        "ns-b",
    ]))?;
    Ok([shiplog_took, kubectl_took])
}

/// Runs every case and prints the table.
pub fn report(kubesim: &Path, shiplog: &Path, kubectl: &str) -> anyhow::Result<()> {
    println!(
        "\ntime to a failure verdict (kubesim --time-scale {TIME_SCALE}, progress deadline \
         {PROGRESS_DEADLINE} s simulated = {:.0} s):",
        PROGRESS_DEADLINE / TIME_SCALE
    );
    println!(
        "{:<20} {:>11} {:>11} {:>18} {:>16}",
        "case", "shiplog s", "kubectl s", "shiplog/deadline", "shiplog/kubectl"
    );
    for case in &CASES {
        let [shiplog, kubectl] = run(case, kubesim, shiplog, kubectl)?;
        let simulated = shiplog.as_secs_f64() * TIME_SCALE;
        println!(
            "{:<20} {:>11.2} {:>11.2} {:>18.3} {:>16.3}",
            case.name,
            shiplog.as_secs_f64(),
            kubectl.as_secs_f64(),
            simulated / PROGRESS_DEADLINE,
            shiplog.as_secs_f64() / kubectl.as_secs_f64()
        );
    }
    println!("goal: a verdict within 0.1× the progress deadline");
    Ok(())
}
