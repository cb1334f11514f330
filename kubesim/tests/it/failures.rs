//! Failures as a real cluster reports them, seen through kubectl: pods no node fits,
//! readiness probes that never pass, containers killed for memory, init containers (done,
//! crash-looping, failing to pull), and watches a fault ends at once.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Sim, deployment};

/// Starts kubesim with an image rule, simulated time 300 times faster.
fn start_with_rule(rule: &str) -> Sim {
    Sim::start(&["--image-rule", rule, "--time-scale", "300"])
}

/// Applies a Deployment of `name` running `image` (with `extra` appended to its manifest).
fn deploy(sim: &Sim, name: &str, image: &str, extra: &str) {
    let file = sim.manifest(&format!("{name}.yaml"), &deployment(name, image, 1, extra));
    sim.ok(&["apply", "--server-side", "-f", &file]);
}

/// `rollout status` fails on the progress deadline.
fn assert_deadline_exceeded(sim: &Sim, name: &str) {
    let err = sim.fails(&[
        "rollout",
        "status",
        &format!("deployment/{name}"),
        "--timeout=30s",
    ]);
    let expected = format!("deployment \"{name}\" exceeded its progress deadline");
    assert!(err.contains(&expected), "{err}");
}

/// The one pod labelled `app={name}`.
fn pod(sim: &Sim, name: &str) -> Value {
    let list: Value =
        serde_json::from_str(&sim.ok(&["get", "pods", "-l", &format!("app={name}"), "-o", "json"]))
            .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    list["items"][0].clone()
}

/// The pod condition of `kind`.
fn condition<'a>(pod: &'a Value, kind: &str) -> &'a Value {
    pod["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} condition in {pod}"))
}

/// `(type, status, reason, message)` of a condition.
fn fields(condition: &Value) -> (&str, &str, &str, &str) {
    let text = |f: &str| condition[f].as_str().unwrap_or("");
    (
        text("type"),
        text("status"),
        text("reason"),
        text("message"),
    )
}

/// The Events of `reason`: `(count, type, source, object name, message)` each.
fn events(sim: &Sim, reason: &str) -> Vec<(i64, String, String, String, String)> {
    let list: Value = serde_json::from_str(&sim.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("reason={reason}"),
        "-o",
        "json",
    ]))
    .unwrap();
    let text = |e: &Value, path: &[&str]| {
        path.iter()
            .fold(e, |v, p| &v[*p])
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["count"].as_i64().unwrap_or(0),
                text(e, &["type"]),
                text(e, &["source", "component"]),
                text(e, &["involvedObject", "name"]),
                text(e, &["message"]),
            )
        })
        .collect()
}

/// The row of `kubectl get pods` for the pod labelled `app={name}`.
fn pod_row(sim: &Sim, name: &str) -> String {
    sim.ok(&["get", "pods", "-l", &format!("app={name}"), "--no-headers"])
}

#[test]
fn unschedulable_pods_stay_pending_and_the_scheduler_says_why_again_and_again() {
    let sim = start_with_rule("*:heavy=Unschedulable");
    deploy(&sim, "big", "acme/big:heavy", "");
    assert_deadline_exceeded(&sim, "big");
    let row = pod_row(&sim, "big");
    assert!(row.contains(" 0/1 ") && row.contains(" Pending "), "{row}");
    let pod = pod(&sim, "big");
    assert_eq!(pod["status"]["phase"], "Pending");
    assert!(pod["spec"].get("nodeName").is_none(), "{pod}");
    let message = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    assert_eq!(
        fields(condition(&pod, "PodScheduled")),
        ("PodScheduled", "False", "Unschedulable", message)
    );
    let failed = events(&sim, "FailedScheduling");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let (count, kind, source, object, text) = &failed[0];
    assert!(*count >= 2, "{failed:?}");
    assert_eq!(
        (kind.as_str(), source.as_str()),
        ("Warning", "default-scheduler")
    );
    assert_eq!(
        (object, text.as_str()),
        (
            &pod["metadata"]["name"].as_str().unwrap().to_string(),
            message
        )
    );
    assert!(events(&sim, "Scheduled").is_empty());
    let described = sim.ok(&["describe", "pods", "-l", "app=big"]);
    assert!(described.contains("FailedScheduling"), "{described}");
    assert!(described.contains("PodScheduled   False"), "{described}");
}

#[test]
fn a_readiness_probe_that_never_passes_keeps_the_pod_running_but_unready() {
    let sim = start_with_rule("*:unready=NotReady");
    deploy(&sim, "web", "acme/web:unready", "");
    assert_deadline_exceeded(&sim, "web");
    let row = pod_row(&sim, "web");
    assert!(row.contains(" 0/1 ") && row.contains(" Running "), "{row}");
    let pod = pod(&sim, "web");
    assert_eq!(pod["status"]["phase"], "Running");
    let container = &pod["status"]["containerStatuses"][0];
    assert!(container["state"]["running"].is_object(), "{container}");
    assert_eq!(
        (&container["started"], &container["ready"]),
        (&Value::Bool(true), &Value::Bool(false))
    );
    for kind in ["Ready", "ContainersReady"] {
        assert_eq!(
            fields(condition(&pod, kind)),
            (
                kind,
                "False",
                "ContainersNotReady",
                "containers with unready status: [main]"
            )
        );
    }
    let unhealthy = events(&sim, "Unhealthy");
    assert_eq!(unhealthy.len(), 1, "{unhealthy:?}");
    let (count, kind, source, _, text) = &unhealthy[0];
    assert!(*count >= 2, "{unhealthy:?}");
    assert_eq!(
        (kind.as_str(), source.as_str(), text.as_str()),
        (
            "Warning",
            "kubelet",
            "Readiness probe failed: HTTP probe failed with statuscode: 503"
        )
    );
}

#[test]
fn an_oom_killed_container_restarts_with_exit_code_137() {
    let sim = start_with_rule("*oom*=OOMKilled");
    deploy(&sim, "worker", "acme/oom:1", "");
    sim.ok(&[
        "wait",
        "pod",
        "-l",
        "app=worker",
        "--for=jsonpath={.status.containerStatuses[?(@.restartCount>1)].name}=main",
        "--timeout=30s",
    ]);
    let container = &pod(&sim, "worker")["status"]["containerStatuses"][0];
    assert_eq!(container["state"]["waiting"]["reason"], "CrashLoopBackOff");
    let last = &container["lastState"]["terminated"];
    assert_eq!(
        (&last["exitCode"], &last["reason"]),
        (&Value::from(137), &Value::from("OOMKilled"))
    );
    assert!(pod_row(&sim, "worker").contains("CrashLoopBackOff"));
    let described = sim.ok(&["describe", "pods", "-l", "app=worker"]);
    assert!(described.contains("Reason:       OOMKilled"), "{described}");
    assert!(described.contains("Exit Code:    137"), "{described}");
}

/// Pod-spec YAML (for [`deployment`]'s extra) declaring one init container.
fn init_container(name: &str, image: &str) -> String {
    format!("      initContainers:\n      - name: {name}\n        image: {image}\n")
}

#[test]
fn init_containers_run_first_and_complete() {
    let sim = Sim::start(&[]);
    // Once the watch has listed a pod, it sees every change after it.
    deploy(&sim, "base", "acme/base:1", "");
    sim.ok(&["rollout", "status", "deployment/base", "--timeout=30s"]);
    let pods = sim.watch(&["get", "pods", "-w"]);
    pods.wait_for("base-");
    deploy(
        &sim,
        "api",
        "acme/api:1",
        &init_container("migrate", "acme/migrate:1"),
    );
    pods.wait_for("Init:0/1");
    pods.wait_for("PodInitializing");
    sim.ok(&["rollout", "status", "deployment/api", "--timeout=30s"]);
    pods.wait_for(" Running ");
    let pod = pod(&sim, "api");
    let init = &pod["status"]["initContainerStatuses"][0];
    assert_eq!(init["name"], "migrate");
    assert_eq!(init["ready"], true);
    let done = &init["state"]["terminated"];
    assert_eq!(
        (&done["exitCode"], &done["reason"]),
        (&Value::from(0), &Value::from("Completed"))
    );
    assert_eq!(fields(condition(&pod, "Initialized")).1, "True");
    let started = events(&sim, "Started");
    assert!(
        started.iter().any(|e| e.4 == "Started container migrate"),
        "{started:?}"
    );
}

#[test]
fn a_failing_init_container_keeps_the_pod_initializing() {
    let sim = Sim::start(&[
        "--image-rule",
        "*:crash=CrashLoopBackOff",
        "--image-rule",
        "*:missing=ImagePullBackOff",
        "--time-scale",
        "300",
    ]);
    deploy(
        &sim,
        "api",
        "acme/api:1",
        &init_container("migrate", "acme/migrate:crash"),
    );
    deploy(
        &sim,
        "web",
        "acme/web:1",
        &init_container("fetch", "acme/fetch:missing"),
    );
    sim.ok(&[
        "wait",
        "pod",
        "-l",
        "app=api",
        "--for=jsonpath={.status.initContainerStatuses[?(@.restartCount>1)].name}=migrate",
        "--timeout=30s",
    ]);
    let pod = pod(&sim, "api");
    assert_eq!(pod["status"]["phase"], "Pending");
    assert_eq!(
        fields(condition(&pod, "Initialized")),
        (
            "Initialized",
            "False",
            "ContainersNotInitialized",
            "containers with incomplete status: [migrate]"
        )
    );
    let init = &pod["status"]["initContainerStatuses"][0];
    assert_eq!(init["state"]["waiting"]["reason"], "CrashLoopBackOff");
    let last = &init["lastState"]["terminated"];
    assert_eq!(
        (&last["exitCode"], &last["reason"]),
        (&Value::from(1), &Value::from("Error"))
    );
    let app = &pod["status"]["containerStatuses"][0];
    assert_eq!(app["state"]["waiting"]["reason"], "PodInitializing");
    let row = pod_row(&sim, "api");
    assert!(row.contains("Init:CrashLoopBackOff"), "{row}");
    let logs = sim.ok(&["logs", "-l", "app=api", "-c", "migrate", "--previous"]);
    assert!(
        logs.contains("simulated log of container migrate"),
        "{logs}"
    );
    let backoff = events(&sim, "BackOff");
    assert!(
        backoff.iter().any(|e| e
            .4
            .starts_with("Back-off restarting failed container migrate in pod api-")),
        "{backoff:?}"
    );

    sim.ok(&[
        "wait",
        "pod",
        "-l",
        "app=web",
        "--for=jsonpath={.status.initContainerStatuses[0].state.waiting.reason}=ImagePullBackOff",
        "--timeout=30s",
    ]);
    let row = pod_row(&sim, "web");
    assert!(row.contains("Init:ImagePullBackOff"), "{row}");
    let described = sim.ok(&["describe", "pods", "-l", "app=web"]);
    assert!(described.contains("Init Containers:"), "{described}");
    assert!(
        described.contains("Initialized                 False"),
        "{described}"
    );
}

#[tokio::test]
async fn an_empty_watch_fault_ends_watches_at_once_and_spares_other_requests() {
    let sim = Sim::start(&["--insecure-http", "--fault", "GET:empty:1"]);
    let started = Instant::now();
    let response = reqwest::get(format!(
        "{}/api/v1/namespaces/default/pods?watch=true",
        sim.url
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body = response.bytes().await.unwrap();
    assert!(body.is_empty(), "{body:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // kubectl's watch ends with the stream; its list still works.
    let watched = sim.ok(&["get", "pods", "--watch", "--request-timeout=2s"]);
    assert!(watched.is_empty(), "{watched}");
    let namespaces = sim.ok(&["get", "namespaces", "-o", "name"]);
    assert!(namespaces.contains("namespace/default"), "{namespaces}");
    let watches: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r["query"].as_str().unwrap_or("").contains("watch=true"))
        .collect();
    assert_eq!(watches.len(), 2, "{watches:?}");
    assert!(watches.iter().all(|r| r["status"] == 200), "{watches:?}");
}

/// A Job named `name` running `image` with `restartPolicy`, `spec` lines added (indented two
/// spaces).
fn job(name: &str, image: &str, restart_policy: &str, spec: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n{spec}  template:\n    spec:\n      restartPolicy: {restart_policy}\n      containers:\n      - name: main\n        image: {image}\n"
    )
}

/// Applies `manifest` and waits for the Job `name` to fail; returns the `(reason, message)`
/// of its `Failed` condition.
fn job_fails(sim: &Sim, name: &str, manifest: &str) -> (String, String) {
    let file = sim.manifest(&format!("{name}.yaml"), manifest);
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&[
        "wait",
        "--for=condition=Failed",
        &format!("job/{name}"),
        "--timeout=30s",
    ]);
    let job: Value = serde_json::from_str(&sim.ok(&["get", "job", name, "-o", "json"])).unwrap();
    for kind in ["FailureTarget", "Failed"] {
        assert_eq!(fields(condition(&job, kind)).1, "True", "{job}");
    }
    let (_, _, reason, message) = fields(condition(&job, "Failed"));
    (reason.to_string(), message.to_string())
}

/// `(phase, exit code, reason)` of each pod of the Job `name`, the last container state's.
fn job_pods(sim: &Sim, name: &str) -> Vec<(String, i64, String)> {
    let list: Value = serde_json::from_str(&sim.ok(&[
        "get",
        "pods",
        "-l",
        &format!("job-name={name}"),
        "-o",
        "json",
    ]))
    .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let ended = &p["status"]["containerStatuses"][0]["state"]["terminated"];
            (
                p["status"]["phase"].as_str().unwrap_or("").to_string(),
                ended["exitCode"].as_i64().unwrap_or(-1),
                ended["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_job_whose_pods_never_restart_replaces_them_until_its_backoff_limit() {
    let sim = Sim::start(&[
        "--image-rule",
        "*:crash=CrashLoopBackOff",
        "--image-rule",
        "*:oom=OOMKilled",
        "--time-scale",
        "300",
    ]);
    let (reason, message) = job_fails(
        &sim,
        "migrate",
        &job(
            "migrate",
            "acme/migrate:crash",
            "Never",
            "  backoffLimit: 2\n",
        ),
    );
    assert_eq!(
        (reason.as_str(), message.as_str()),
        (
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit"
        )
    );
    let failed = sim.ok(&["get", "job", "migrate", "-o", "jsonpath={.status.failed}"]);
    assert_eq!(failed, "3");
    let error = ("Failed".to_string(), 1, "Error".to_string());
    assert_eq!(
        job_pods(&sim, "migrate"),
        vec![error.clone(), error.clone(), error]
    );
    let rows = sim.ok(&["get", "pods", "-l", "job-name=migrate", "--no-headers"]);
    assert_eq!(rows.matches(" Error ").count(), 3, "{rows}");
    let exceeded = events(&sim, "BackoffLimitExceeded");
    assert_eq!(exceeded.len(), 1, "{exceeded:?}");
    let (_, kind, source, object, text) = &exceeded[0];
    assert_eq!(
        (
            kind.as_str(),
            source.as_str(),
            object.as_str(),
            text.as_str()
        ),
        ("Warning", "job-controller", "migrate", message.as_str())
    );

    let (reason, _) = job_fails(
        &sim,
        "seed",
        &job("seed", "acme/seed:oom", "Never", "  backoffLimit: 0\n"),
    );
    assert_eq!(reason, "BackoffLimitExceeded");
    assert_eq!(
        job_pods(&sim, "seed"),
        vec![("Failed".to_string(), 137, "OOMKilled".to_string())]
    );
    let row = sim.ok(&["get", "pods", "-l", "job-name=seed", "--no-headers"]);
    assert!(row.contains(" OOMKilled "), "{row}");
}

#[test]
fn a_job_active_longer_than_its_deadline_fails_and_its_pods_go() {
    let sim = start_with_rule("*:missing=ImagePullBackOff");
    let (reason, message) = job_fails(
        &sim,
        "report",
        &job(
            "report",
            "acme/report:missing",
            "Never",
            "  activeDeadlineSeconds: 120\n",
        ),
    );
    assert_eq!(
        (reason.as_str(), message.as_str()),
        (
            "DeadlineExceeded",
            "Job was active longer than specified deadline"
        )
    );
    sim.ok(&[
        "wait",
        "--for=delete",
        "pod",
        "-l",
        "job-name=report",
        "--timeout=30s",
    ]);
    let exceeded = events(&sim, "DeadlineExceeded");
    assert_eq!(exceeded.len(), 1, "{exceeded:?}");
    assert_eq!(
        (exceeded[0].1.as_str(), exceeded[0].2.as_str()),
        ("Warning", "job-controller")
    );
    let jobs = sim.ok(&["get", "jobs", "--no-headers"]);
    assert!(jobs.contains("Failed"), "{jobs}");
}

/// A ReplicaFailure condition's `(reason, message)` on `object` (empty strings when none).
fn replica_failure(sim: &Sim, object: &str) -> (String, String) {
    let path = |field: &str| {
        format!("jsonpath={{.status.conditions[?(@.type==\"ReplicaFailure\")].{field}}}")
    };
    (
        sim.ok(&["get", object, "-o", &path("reason")]),
        sim.ok(&["get", object, "-o", &path("message")]),
    )
}

/// Applies the ResourceQuota `compute` allowing `pods` pods (and 4 cpu) and waits for its
/// status.
fn apply_quota(sim: &Sim, pods: u32) {
    let quota = sim.manifest(
        "quota.yaml",
        &format!(
            "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: compute\nspec:\n  hard:\n    pods: {pods}\n    cpu: \"4\"\n"
        ),
    );
    sim.ok(&["apply", "--server-side", "-f", &quota]);
    sim.ok(&[
        "wait",
        "--for=jsonpath={.status.hard.pods}",
        "quota/compute",
        "--timeout=30s",
    ]);
}

#[test]
fn a_rolling_update_refused_its_surge_pod_goes_on_as_old_pods_make_room() {
    let sim = Sim::start(&[]);
    apply_quota(&sim, 2);
    let strategy = "  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}\n";
    let manifest = |image: &str| format!("{}{strategy}", deployment("api", image, 2, ""));
    let file = sim.manifest("api.yaml", &manifest("acme/api:1"));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/api", "--timeout=30s"]);
    let file = sim.manifest("api.yaml", &manifest("acme/api:2"));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/api", "--timeout=30s"]);
    let refused = events(&sim, "FailedCreate");
    assert!(
        !refused.is_empty(),
        "the surge pod was refused at least once"
    );
    assert_eq!(
        replica_failure(&sim, "deployment/api"),
        (String::new(), String::new())
    );
}

#[test]
fn a_resource_quota_refuses_pods_beyond_it_until_it_is_raised() {
    let sim = Sim::start(&["--time-scale", "300"]);
    apply_quota(&sim, 2);
    let file = sim.manifest("api.yaml", &deployment("api", "acme/api:1", 3, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    assert_deadline_exceeded(&sim, "api");

    let limit = "exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2";
    let (reason, message) = replica_failure(&sim, "deployment/api");
    assert_eq!(reason, "FailedCreate");
    assert!(message.starts_with("pods \"api-"), "{message}");
    assert!(
        message.ends_with(&format!("\" is forbidden: {limit}")),
        "{message}"
    );
    let rs = sim.ok(&["get", "rs", "-l", "app=api", "-o", "name"]);
    assert_eq!(replica_failure(&sim, rs.trim()), (reason, message));
    let refused = events(&sim, "FailedCreate");
    assert!(
        refused
            .iter()
            .all(|(_, kind, source, object, text)| kind == "Warning"
                && source == "replicaset-controller"
                && rs.trim().ends_with(object.as_str())
                && text.contains("Error creating: pods \"api-")
                && text.ends_with(limit)),
        "{refused:?}"
    );
    // Each refused pod has a new name: past ten, they are counted on one combined Event.
    let combined = refused
        .iter()
        .find(|e| {
            e.4.starts_with("(combined from similar events): Error creating: ")
        })
        .unwrap_or_else(|| panic!("{refused:?}"));
    assert!(combined.0 >= 2, "{refused:?}");

    let table = sim.ok(&["get", "quota"]);
    assert!(table.starts_with("NAME "), "{table}");
    assert!(
        table.contains("REQUEST") && table.contains("LIMIT"),
        "{table}"
    );
    assert!(table.contains("cpu: 0/4, pods: 2/2"), "{table}");
    let described = sim.ok(&["describe", "quota", "compute"]);
    assert!(
        described
            .lines()
            .any(|l| l.split_whitespace().eq(["pods", "2", "2"])),
        "{described}"
    );
    let pod = sim.manifest(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: extra\nspec:\n  containers:\n  - name: main\n    image: acme/extra:1\n",
    );
    let err = sim.fails(&["apply", "--server-side", "-f", &pod]);
    assert!(
        err.contains(&format!(
            "Error from server (Forbidden): pods \"extra\" is forbidden: {limit}"
        )),
        "{err}"
    );

    // Jobs record their refusals too, on the Job.
    let job_events = sim.watch(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Job",
        "-w",
    ]);
    let file = sim.manifest("job.yaml", &job("seed", "acme/seed:1", "Never", ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    let line = job_events.wait_for("FailedCreate");
    assert!(
        line.contains("job/seed") && line.contains("Error creating: pods \"seed-"),
        "{line}"
    );
    sim.ok(&["delete", "job", "seed"]);

    sim.ok(&[
        "patch",
        "quota",
        "compute",
        "--type=merge",
        "-p",
        r#"{"spec":{"hard":{"pods":"3"}}}"#,
    ]);
    sim.ok(&["rollout", "status", "deployment/api", "--timeout=30s"]);
    assert_eq!(
        replica_failure(&sim, "deployment/api"),
        (String::new(), String::new())
    );
    assert_eq!(
        replica_failure(&sim, rs.trim()),
        (String::new(), String::new())
    );
}
