//! The server's own Kubernetes manifests (`deploy/kubernetes`) as a team runs them: the SQLite
//! base deployed with `shiplog deploy`, the PostgreSQL overlay rendered by kustomize (`kubectl
//! kustomize`) and deployed with its Secret, and `kubectl apply --dry-run=server` accepting what
//! was deployed.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{Deploys as _, Sim, write};

fn manifests(part: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/kubernetes")
        .join(part)
        .display()
        .to_string()
}

/// Runs kubectl against `sim` with `args`; its stdout, failing the test when kubectl fails.
fn kubectl(sim: &Sim, args: &[&str]) -> String {
    let output = Command::new(std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into()))
        .arg("--kubeconfig")
        .arg(sim.kubeconfig())
        .arg("--cache-dir")
        .arg(sim.dir.path().join("kubectl-cache"))
        .args(args)
        .output()
        .expect("run kubectl (is it installed? set $KUBECTL)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "kubectl {args:?}: {stdout}{stderr}"
    );
    stdout
}

/// Deploys `files` into `sim` with shiplog: every rollout completes.
fn deploys(sim: &Sim, files: &str) {
    let (code, stdout, stderr) = sim.deploy(&["--manifests", files, "--timeout", "1m"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("every rollout is complete"), "{stdout}");
}

#[test]
fn the_sqlite_base_deploys_and_passes_a_server_dry_run() {
    let sim = Sim::start(&[]);
    let base = manifests("base");
    deploys(&sim, &base);
    let dry_run = kubectl(
        &sim,
        &["apply", "--server-side", "--dry-run=server", "-f", &base],
    );
    assert!(
        dry_run.contains("deployment.apps/shiplog-server"),
        "{dry_run}"
    );
    let pvc = kubectl(
        &sim,
        &["-n", "shiplog", "get", "pvc", "shiplog-data", "-o", "name"],
    );
    assert_eq!(pvc.trim(), "persistentvolumeclaim/shiplog-data");
}

#[test]
fn the_postgres_overlay_renders_deploys_with_its_secret_and_passes_a_server_dry_run() {
    let sim = Sim::start(&[]);
    let rendered = kubectl(&sim, &["kustomize", &manifests("postgres")]);
    assert!(!rendered.contains("PersistentVolumeClaim"), "{rendered}");
    let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: shiplog-database, namespace: shiplog}\nstringData: {url: \"postgres://shiplog@db/shiplog\"}\n---\n";
    let files = write(
        sim.dir.path(),
        "postgres.yaml",
        &format!("{secret}{rendered}"),
    );
    deploys(&sim, &files);
    kubectl(
        &sim,
        &["apply", "--server-side", "--dry-run=server", "-f", &files],
    );
    let replicas = kubectl(
        &sim,
        &[
            "-n",
            "shiplog",
            "get",
            "deployment",
            "shiplog-server",
            "-o",
            "jsonpath={.status.readyReplicas} {.spec.strategy.type}",
        ],
    );
    assert_eq!(replicas, "2 RollingUpdate");
    kubectl(&sim, &["-n", "shiplog", "get", "pdb", "shiplog-server"]);
}
