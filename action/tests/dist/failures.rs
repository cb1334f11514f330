//! Every kind of failed rollout, as the built Action reports it: for each, kubesim produces the
//! failure the way a kubelet, scheduler or controller would, and the step fails with the one-line
//! reason in its error annotation and job summary, the evidence (events, log lines, how a
//! container ended) in the deploy record's details and in Slack's thread reply, and the record
//! finished as `failed` — never left `in_progress`.
//!
//! kubesim runs at 300× (a simulated minute takes 0.2 s, so back-offs and a Job's deadline pass
//! quickly); the manifests' progress deadline is an hour, so a verdict before the step's
//! timeout is the engine's own.

use tempfile::TempDir;

use crate::runner::Step;
use crate::{Sim, World, token_auth};

/// A Deployment `api` of two replicas running `image`, with a progress deadline of an hour;
/// `pod_spec` is added to its pod spec, `container` to its container.
fn deployment(image: &str, pod_spec: &str, container: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  replicas: 2
  progressDeadlineSeconds: 3600
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:{pod_spec}
      containers:
      - name: api
        image: {image}{container}
"#
    )
}

/// A Job `migrate` running `image` once, `spec` added to the Job's spec.
fn job(image: &str, spec: &str) -> String {
    format!(
        r#"apiVersion: batch/v1
kind: Job
metadata: {{name: migrate}}
spec:{spec}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: {image}
"#
    )
}

/// A container log file for `--pod-log`, kept as long as the returned directory.
fn log_file(text: &str) -> (TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("container.log");
    std::fs::write(&path, text).unwrap();
    let path = path.display().to_string();
    (dir, path)
}

/// Deploys `manifests` in bot mode within `timeout` on a cluster started with `kubesim`; the
/// step fails.
fn failing(kubesim: &[&str], manifests: &str, timeout: &str) -> (World, Step) {
    let mut world = World::on(Sim::start(kubesim), token_auth);
    world
        .bot()
        .manifests(manifests)
        .runner
        .input("timeout", timeout);
    let main = world.main();
    assert_eq!(main.code, 1, "{}{}", main.stdout, main.stderr);
    (world, main)
}

/// The step's one-line reason has every piece of `reason`, and its evidence every piece of
/// `evidence`, in the step's annotation and summary, the record and Slack's thread reply.
fn assert_reported(world: &World, main: &Step, reason: &[&str], evidence: &[&str]) {
    let error = main
        .stdout
        .lines()
        .find(|l| l.starts_with("::error"))
        .expect("an error annotation");
    let record = world.deploy_record(&main.outputs["deploy-id"]);
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(main.outputs["status"], "failed");
    let recorded_reason = record["failure"]["reason"].as_str().unwrap_or_default();
    for piece in reason {
        for (place, text) in [
            ("annotation", error),
            ("summary", &main.summary),
            ("record", recorded_reason),
        ] {
            assert!(text.contains(piece), "{piece:?} in the {place}: {text}");
        }
    }

    let details: Vec<&str> = record["failure"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str())
        .collect();
    let details = details.join("\n");
    let messages = world.slack.messages();
    let parent = messages.iter().find(|m| m.thread_ts.is_none()).unwrap();
    assert!(
        parent
            .text
            .as_deref()
            .unwrap_or_default()
            .contains("failed"),
        "{parent:?}"
    );
    let reply = messages
        .iter()
        .find(|m| m.thread_ts.as_deref() == Some(parent.ts.as_str()))
        .expect("the evidence in a thread reply");
    let reply = serde_json::to_string(&reply.blocks).unwrap();
    for piece in evidence {
        assert!(
            details.contains(piece),
            "{piece:?} in the record: {details}"
        );
        let escaped = serde_json::to_string(piece).unwrap();
        let escaped = escaped.trim_matches('"');
        assert!(reply.contains(escaped), "{piece:?} in Slack: {reply}");
        assert!(main.stdout.contains(piece), "{piece:?} in the step log");
    }
}

#[test]
fn a_missing_config_map_is_named() {
    let manifests = deployment(
        "ghcr.io/acme/api:v1",
        "",
        "\n        envFrom: [{configMapRef: {name: qa-config}}]",
    );
    let (world, main) = failing(&[], &manifests, "10m");
    assert_reported(
        &world,
        &main,
        &[
            "configmap \"qa-config\" not found",
            "(CreateContainerConfigError)",
        ],
        &["Error: configmap \"qa-config\" not found"],
    );
}

#[test]
fn an_out_of_memory_crash_loop_says_how_the_container_ended_with_its_previous_log() {
    let (_dir, log) = log_file("loading 2 GiB model\nallocating buffers\n");
    let flags = [
        "--image-rule",
        "*:oom=OOMKilled",
        "--pod-log",
        &format!("*:oom={log}"),
    ];
    let manifests = deployment("ghcr.io/acme/api:oom", "", "");
    let (world, main) = failing(&flags, &manifests, "10m");
    assert_reported(
        &world,
        &main,
        &[
            "keeps crashing (CrashLoopBackOff",
            "exit code 137 (OOMKilled)",
        ],
        &[
            "last ended: exit code 137 (OOMKilled)",
            "last log lines before the last restart:",
            "allocating buffers",
        ],
    );
}

#[test]
fn a_crash_looping_init_container_is_named_with_its_log() {
    let (_dir, log) = log_file("migration 0042 failed: relation \"orders\" exists\n");
    let flags = [
        "--image-rule",
        "*:migrate-broken=CrashLoopBackOff",
        "--pod-log",
        &format!("*:migrate-broken={log}"),
    ];
    let init = "\n      initContainers:\n      - name: migrate\n        image: ghcr.io/acme/api:migrate-broken";
    let manifests = deployment("ghcr.io/acme/api:v1", init, "");
    let (world, main) = failing(&flags, &manifests, "10m");
    assert_reported(
        &world,
        &main,
        &["init container migrate keeps crashing (CrashLoopBackOff"],
        &["relation \"orders\" exists"],
    );
}

#[test]
fn pods_the_scheduler_cannot_place_are_named_with_its_message() {
    let flags = ["--image-rule", "*:huge=Unschedulable"];
    let manifests = deployment("ghcr.io/acme/api:huge", "", "");
    let (world, main) = failing(&flags, &manifests, "3s");
    assert_reported(
        &world,
        &main,
        &[
            "cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu.",
            "(Unschedulable)",
        ],
        &["FailedScheduling"],
    );
}

#[test]
fn a_quota_that_refuses_the_pods_fails_the_deploy_before_its_timeout() {
    let quota = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: compute}\nspec:\n  hard: {pods: \"1\"}\n---\n";
    let manifests = format!("{quota}{}", deployment("ghcr.io/acme/api:v1", "", ""));
    let (world, main) = failing(&[], &manifests, "10m");
    assert_reported(
        &world,
        &main,
        &["pods cannot be created", "exceeded quota: compute"],
        &["event FailedCreate on api-"],
    );
}

#[test]
fn pods_that_never_become_ready_are_explained_by_the_last_probe_failure() {
    let (_dir, log) = log_file("listening on :8080\nwaiting for database at db:5432\n");
    let flags = [
        "--image-rule",
        "*:unready=NotReady",
        "--pod-log",
        &format!("*:unready={log}"),
    ];
    let manifests = deployment("ghcr.io/acme/api:unready", "", "");
    let (world, main) = failing(&flags, &manifests, "3s");
    assert_reported(
        &world,
        &main,
        &[
            "never became ready",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
        ],
        &["waiting for database at db:5432"],
    );
}

#[test]
fn a_job_past_its_backoff_limit_fails_with_how_its_pod_ended_and_its_log() {
    let (_dir, log) = log_file("applying 0042_orders.sql\nERROR: relation \"orders\" exists\n");
    let flags = [
        "--image-rule",
        "*:migrate-broken=CrashLoopBackOff",
        "--pod-log",
        &format!("*:migrate-broken={log}"),
    ];
    let manifests = job("ghcr.io/acme/api:migrate-broken", "\n  backoffLimit: 1");
    let (world, main) = failing(&flags, &manifests, "10m");
    assert_reported(
        &world,
        &main,
        &[
            "Job/migrate failed: Job has reached the specified backoff limit (BackoffLimitExceeded)",
            "exit code 1 (Error)",
        ],
        &["ERROR: relation \"orders\" exists"],
    );
}

#[test]
fn a_job_past_its_active_deadline_fails_naming_it() {
    let flags = ["--image-rule", "*:slow=NotReady"];
    let manifests = job("ghcr.io/acme/api:slow", "\n  activeDeadlineSeconds: 60");
    let (world, main) = failing(&flags, &manifests, "10m");
    assert_reported(
        &world,
        &main,
        &[
            "Job was active longer than specified deadline",
            "(DeadlineExceeded)",
        ],
        &["event DeadlineExceeded on migrate"],
    );
}
