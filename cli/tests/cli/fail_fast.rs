//! Failing fast, never falsely: a pod failure the kubelet shows to persist ends the deploy long
//! before the progress deadline or the timeout, and a failure that heals, or that belongs to
//! pods of an earlier revision, does not.
//!
//! kubesim runs at 300× (a simulated minute takes 0.2 s), so the manifests' progress deadline
//! of an hour passes after 12 s and the kubelet's back-offs (10 s, 20 s) take tens of
//! milliseconds; `--timeout 10m` is never reached. A verdict within [`BEFORE_THE_DEADLINE`] is
//! the sentinel's.

use std::time::{Duration, Instant};

use crate::support::{Deploys as _, Sim, write};

/// Well before the manifests' progress deadline (an hour of simulated time: 12 s).
const BEFORE_THE_DEADLINE: Duration = Duration::from_secs(8);

/// A Deployment `api` of two replicas running `image`, with a progress deadline of an hour.
fn api(sim: &Sim, image: &str, config_map: Option<&str>) -> String {
    api_with(sim, image, config_map, "")
}

/// [`api`] after the documents `before` (each ending with `---`).
fn api_with(sim: &Sim, image: &str, config_map: Option<&str>, before: &str) -> String {
    let env_from = config_map
        .map(|name| format!("\n        envFrom: [{{configMapRef: {{name: {name}}}}}]"))
        .unwrap_or_default();
    write(
        sim.dir.path(),
        "api.yaml",
        &format!(
            r#"{before}
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  replicas: 2
  progressDeadlineSeconds: 3600
  strategy: {{rollingUpdate: {{maxSurge: 1, maxUnavailable: 1}}}}
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
      - name: api
        image: {image}{env_from}
"#
        ),
    )
}

/// Deploys `manifests` with a long timeout: exit code, stderr, and how long it took.
fn deploy(sim: &Sim, manifests: &str) -> (i32, String, Duration) {
    let started = Instant::now();
    let (code, stdout, stderr) = sim.deploy(&["--manifests", manifests, "--timeout", "10m"]);
    (code, format!("{stdout}{stderr}"), started.elapsed())
}

/// The one-line reason shiplog gave.
fn reason(output: &str) -> &str {
    output
        .lines()
        .find(|l| l.starts_with("shiplog: "))
        .unwrap_or_else(|| panic!("no reason in {output}"))
}

#[test]
fn an_image_that_fails_two_pulls_then_succeeds_deploys() {
    let sim = Sim::start(&["--image-rule", "*:flaky=ImagePullBackOff:2"]);
    let manifests = api(&sim, "ghcr.io/acme/api:flaky", None);
    let (code, output, _) = deploy(&sim, &manifests);
    assert_eq!(code, 0, "{output}");
    let events = sim.get("/api/v1/namespaces/default/events");
    let failed_pulls: Vec<i64> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Failed to pull image"))
        })
        .map(|e| e["count"].as_i64().unwrap())
        .collect();
    assert_eq!(failed_pulls, [2, 2], "each pod's pull failed twice first");
}

/// Deploys `api` running `image` (with an `envFrom` of `config_map`) on a kubesim started with
/// `flags`: the deploy fails well before the deadline, its reason containing `says`; its
/// whole output.
fn fails_fast(flags: &[&str], image: &str, config_map: Option<&str>, says: &str) -> String {
    let sim = Sim::start(flags);
    let manifests = api(&sim, image, config_map);
    let (code, output, took) = deploy(&sim, &manifests);
    assert_eq!(code, 1, "{output}");
    assert!(reason(&output).contains(says), "{says:?} in {output}");
    assert!(took < BEFORE_THE_DEADLINE, "the verdict took {took:?}");
    output
}

#[test]
fn an_image_that_never_pulls_fails_well_before_the_deadline() {
    fails_fast(
        &["--image-rule", "*:missing=ImagePullBackOff"],
        "ghcr.io/acme/api:missing",
        None,
        "image ghcr.io/acme/api:missing cannot be pulled (ImagePullBackOff)",
    );
}

#[test]
fn a_crash_loop_fails_well_before_the_deadline_with_the_crashed_containers_log() {
    let output = fails_fast(
        &["--image-rule", "*:crash=CrashLoopBackOff"],
        "ghcr.io/acme/api:crash",
        None,
        "keeps crashing (CrashLoopBackOff",
    );
    assert!(
        output.contains("last log lines before the last restart:"),
        "{output}"
    );
}

#[test]
fn a_missing_config_map_fails_well_before_the_deadline() {
    fails_fast(
        &[],
        "ghcr.io/acme/api:v1",
        Some("api-settings"),
        "configmap \"api-settings\" not found",
    );
}

#[test]
fn a_deploy_that_fixes_a_crash_loop_is_not_failed_by_the_old_pods() {
    let sim = Sim::start(&["--image-rule", "*:crash=CrashLoopBackOff"]);
    let broken = api(&sim, "ghcr.io/acme/api:crash", None);
    let (code, output, _) = deploy(&sim, &broken);
    assert_eq!(code, 1, "{output}");

    // The old pods keep crashing (and their events keep coming) while the fix rolls out.
    let fixed = api(&sim, "ghcr.io/acme/api:v2", None);
    let (code, output, _) = deploy(&sim, &fixed);
    assert_eq!(code, 0, "{output}");
}

/// A ResourceQuota `compute` allowing `pods` pods, as a document before others.
fn quota(pods: u32) -> String {
    format!(
        "apiVersion: v1\nkind: ResourceQuota\nmetadata: {{name: compute}}\nspec:\n  hard: {{pods: \"{pods}\"}}\n---"
    )
}

#[test]
fn a_quota_that_leaves_no_room_fails_well_before_the_deadline() {
    let sim = Sim::start(&[]);
    let manifests = api_with(&sim, "ghcr.io/acme/api:v1", None, &quota(1));
    let (code, output, took) = deploy(&sim, &manifests);
    assert_eq!(code, 1, "{output}");
    assert!(
        reason(&output).contains("pods cannot be created")
            && reason(&output).contains("exceeded quota: compute"),
        "{output}"
    );
    assert!(took < BEFORE_THE_DEADLINE, "the verdict took {took:?}");
}

#[test]
fn a_quota_refusal_while_old_pods_make_room_is_not_a_failure() {
    // Two pods fit; the update's surge pod is refused until an old pod is gone.
    let sim = Sim::start(&[]);
    let first = api_with(&sim, "ghcr.io/acme/api:v1", None, &quota(2));
    let (code, output, _) = deploy(&sim, &first);
    assert_eq!(code, 0, "{output}");
    let update = api_with(&sim, "ghcr.io/acme/api:v2", None, &quota(2));
    let (code, output, _) = deploy(&sim, &update);
    assert_eq!(code, 0, "{output}");
    let events = sim.get("/api/v1/namespaces/default/events");
    let refused = events["items"].as_array().unwrap().iter().any(|e| {
        e["reason"] == "FailedCreate"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("exceeded quota"))
    });
    assert!(refused, "the surge pod was refused at least once: {events}");
}
