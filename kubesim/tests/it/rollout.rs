//! Rollouts as kubectl sees them: the fixture applied with default validation and rolled
//! out, failing images and missing ConfigMaps, `rollout undo`, and deletion with its
//! garbage collection.

use crate::harness::{Sim, deployment, fixture};

#[test]
fn fixture_applies_server_side_and_rolls_out() {
    let sim = Sim::start(&[]);
    let fixture = fixture();
    let out = sim.ok(&["apply", "--server-side", "-f", fixture.to_str().unwrap()]);
    assert_eq!(out.matches("serverside-applied").count(), 35, "{out}");
    for name in ["frontend", "cartservice", "redis-cart", "loadgenerator"] {
        let status = sim.ok(&[
            "rollout",
            "status",
            &format!("deployment/{name}"),
            "--timeout=60s",
        ]);
        assert!(status.contains("successfully rolled out"), "{status}");
    }
    let table = sim.ok(&["get", "deploy"]);
    let header = table.lines().next().unwrap();
    for column in ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("frontend ") && l.contains("1/1")),
        "{table}"
    );
    assert_eq!(table.lines().count(), 13, "{table}");
    let logs = sim.ok(&["logs", "deployment/frontend"]);
    assert!(logs.contains("simulated log of container server"), "{logs}");
    // Re-applying the same manifests changes nothing.
    let again = sim.ok(&["apply", "--server-side", "-f", fixture.to_str().unwrap()]);
    assert_eq!(again.matches("serverside-applied").count(), 35);
    let generation = sim.ok(&[
        "get",
        "deploy",
        "frontend",
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    assert_eq!(generation, "1");
}

#[test]
fn image_rule_fails_the_rollout_with_the_waiting_reason() {
    let sim = Sim::start(&[
        "--image-rule",
        "*:broken=ImagePullBackOff",
        "--time-scale",
        "300",
    ]);
    let file = sim.manifest(
        "d.yaml",
        &deployment("api", "ghcr.io/acme/api:broken", 2, ""),
    );
    sim.ok(&["apply", "--server-side", "-f", &file]);
    let err = sim.fails(&["rollout", "status", "deployment/api", "--timeout=30s"]);
    assert!(
        err.contains("deployment \"api\" exceeded its progress deadline"),
        "{err}"
    );
    let pods = sim.ok(&["get", "pods"]);
    assert!(pods.contains("ImagePullBackOff"), "{pods}");
    assert!(pods.contains("0/1"), "{pods}");
    let reason = sim.ok(&[
        "get",
        "deploy",
        "api",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}",
    ]);
    assert_eq!(reason, "ProgressDeadlineExceeded");
    let events = sim.ok(&["get", "events"]);
    assert!(
        events.contains("Back-off pulling image \"ghcr.io/acme/api:broken\""),
        "{events}"
    );
}

#[test]
fn rollout_status_times_out_on_a_crash_loop() {
    let sim = Sim::start(&["--image-rule", "*crash*=CrashLoopBackOff"]);
    let file = sim.manifest("d.yaml", &deployment("worker", "acme/crash:1", 1, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    let err = sim.fails(&["rollout", "status", "deployment/worker", "--timeout=2s"]);
    assert!(err.contains("timed out"), "{err}");
    let pods = sim.ok(&["get", "pods"]);
    assert!(pods.contains("CrashLoopBackOff"), "{pods}");
}

#[test]
fn missing_config_map_blocks_pods_until_it_appears() {
    let sim = Sim::start(&[]);
    let extra = "        envFrom:\n        - configMapRef:\n            name: settings\n";
    let file = sim.manifest("d.yaml", &deployment("app", "acme/app:1", 1, extra));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&[
        "wait",
        "pod",
        "-l",
        "app=app",
        "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=CreateContainerConfigError",
        "--timeout=30s",
    ]);
    let pods = sim.ok(&["get", "pods"]);
    assert!(pods.contains("CreateContainerConfigError"), "{pods}");
    let events = sim.ok(&["get", "events", "--field-selector", "reason=Failed"]);
    assert!(
        events.contains("Error: configmap \"settings\" not found"),
        "{events}"
    );

    let cm = sim.manifest(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  A: b\n",
    );
    sim.ok(&["apply", "--server-side", "-f", &cm]);
    sim.ok(&["rollout", "status", "deployment/app", "--timeout=30s"]);
}

#[test]
fn rollout_undo_and_delete() {
    let sim = Sim::start(&[]);
    let file = sim.manifest("d.yaml", &deployment("web", "nginx:1.0", 2, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    sim.ok(&["set", "image", "deployment/web", "main=nginx:2.0"]);
    sim.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    let history = sim.ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains('2'), "{history}");

    let undo = sim.ok(&["rollout", "undo", "deployment/web"]);
    assert!(undo.contains("rolled back"), "{undo}");
    sim.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    let image = sim.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "nginx:1.0");
    // The first ReplicaSet is reused (as revision 3), not a new one created.
    let sets = sim.ok(&["get", "rs", "-o", "name"]);
    assert_eq!(sets.lines().count(), 2, "{sets}");
    let revision = sim.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
    ]);
    assert_eq!(revision, "3");

    let deleted = sim.ok(&["delete", "deployment", "web"]);
    assert!(
        deleted.contains("deployment.apps \"web\" deleted"),
        "{deleted}"
    );
    sim.ok(&[
        "wait",
        "--for=delete",
        "pod",
        "-l",
        "app=web",
        "--timeout=30s",
    ]);
    let left = sim.ok(&["get", "rs,pods", "-o", "name"]);
    assert!(left.trim().is_empty(), "{left}");
}

/// A StatefulSet (`kind` `StatefulSet`) or DaemonSet named `name` running `image`.
fn pod_set(kind: &str, name: &str, image: &str) -> String {
    let service = if kind == "StatefulSet" {
        format!("  serviceName: {name}\n")
    } else {
        String::new()
    };
    format!(
        "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{service}  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: main\n        image: {image}\n"
    )
}

/// `(revision, image)` of every ControllerRevision selected by `app={name}`, by revision.
fn revisions(sim: &Sim, name: &str, kind: &str) -> Vec<(i64, String)> {
    let list: serde_json::Value = serde_json::from_str(&sim.ok(&[
        "get",
        "controllerrevisions",
        "-l",
        &format!("app={name}"),
        "-o",
        "json",
    ]))
    .unwrap();
    let mut found: Vec<(i64, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let owner = &r["metadata"]["ownerReferences"][0];
            assert_eq!(
                (&owner["kind"], &owner["name"], &owner["controller"]),
                (
                    &serde_json::json!(kind),
                    &serde_json::json!(name),
                    &serde_json::json!(true)
                ),
                "{r}"
            );
            let template = &r["data"]["spec"]["template"];
            assert_eq!(template["$patch"], "replace", "{r}");
            let image = template["spec"]["containers"][0]["image"].as_str().unwrap();
            (r["revision"].as_i64().unwrap(), image.to_owned())
        })
        .collect();
    found.sort();
    found
}

#[test]
fn statefulsets_and_daemonsets_roll_back_through_their_controller_revisions() {
    let sim = Sim::start(&[]);
    for (kind, name) in [("StatefulSet", "db"), ("DaemonSet", "agent")] {
        let object = format!("{}/{name}", kind.to_lowercase());
        let file = sim.manifest(&format!("{name}.yaml"), &pod_set(kind, name, "busybox:1"));
        sim.ok(&["apply", "--server-side", "-f", &file]);
        sim.ok(&["rollout", "status", &object, "--timeout=30s"]);
        sim.ok(&["set", "image", &object, "main=busybox:2"]);
        sim.ok(&["rollout", "status", &object, "--timeout=30s"]);
        assert_eq!(
            revisions(&sim, name, kind),
            [(1, "busybox:1".into()), (2, "busybox:2".into())]
        );
        let history = sim.ok(&["rollout", "history", &object]);
        assert!(
            history.contains("\n1 ") && history.contains("\n2 "),
            "{history}"
        );
        let table = sim.ok(&["get", "controllerrevisions", "-l", &format!("app={name}")]);
        let header = table.lines().next().unwrap();
        assert!(
            header.contains("CONTROLLER") && header.contains("REVISION"),
            "{table}"
        );
        assert!(
            table.contains(&format!("{}.apps/{name}", kind.to_lowercase())),
            "{table}"
        );

        let undo = sim.ok(&["rollout", "undo", &object]);
        assert!(undo.contains("rolled back"), "{undo}");
        sim.ok(&["rollout", "status", &object, "--timeout=30s"]);
        let image = sim.ok(&[
            "get",
            &object,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ]);
        assert_eq!(image, "busybox:1");
        // The first revision is reused as the newest, not a third one created.
        assert_eq!(
            revisions(&sim, name, kind),
            [(2, "busybox:2".into()), (3, "busybox:1".into())]
        );
        let pods = sim.ok(&[
            "get",
            "pods",
            "-l",
            &format!("app={name}"),
            "-o",
            "jsonpath={.items[*].spec.containers[0].image}",
        ]);
        assert_eq!(pods, "busybox:1");
    }
    sim.ok(&["delete", "statefulset", "db"]);
    sim.ok(&[
        "wait",
        "--for=delete",
        "controllerrevision",
        "-l",
        "app=db",
        "--timeout=30s",
    ]);
}

#[test]
fn statefulset_daemonset_and_job_report_status() {
    let sim = Sim::start(&[]);
    let template = "  template:\n    metadata:\n      labels:\n        app: x\n    spec:\n      containers:\n      - name: c\n        image: busybox:1\n";
    let sts = format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  serviceName: db\n  replicas: 2\n  selector:\n    matchLabels:\n      app: x\n{template}"
    );
    let ds = format!(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\nspec:\n  selector:\n    matchLabels:\n      app: x\n{template}"
    );
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: busybox:1\n";
    for (name, yaml) in [
        ("sts.yaml", sts.as_str()),
        ("ds.yaml", ds.as_str()),
        ("job.yaml", job),
    ] {
        let file = sim.manifest(name, yaml);
        sim.ok(&["apply", "--server-side", "-f", &file]);
    }
    sim.ok(&["rollout", "status", "statefulset/db", "--timeout=30s"]);
    sim.ok(&["rollout", "status", "daemonset/agent", "--timeout=30s"]);
    sim.ok(&[
        "wait",
        "--for=condition=complete",
        "job/migrate",
        "--timeout=30s",
    ]);
    let pods = sim.ok(&["get", "pods", "-o", "name"]);
    assert!(
        pods.contains("pod/db-0") && pods.contains("pod/db-1"),
        "{pods}"
    );
    let jobs = sim.ok(&["get", "jobs"]);
    assert!(jobs.contains("Complete") && jobs.contains("1/1"), "{jobs}");
}

#[test]
fn crash_looping_job_fails_after_its_backoff_limit() {
    let sim = Sim::start(&[
        "--image-rule",
        "*crash*=CrashLoopBackOff",
        "--time-scale",
        "200",
    ]);
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  backoffLimit: 2\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers:\n      - name: m\n        image: acme/crash:1\n";
    let file = sim.manifest("job.yaml", job);
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&[
        "wait",
        "--for=condition=failed",
        "job/migrate",
        "--timeout=30s",
    ]);
    let reason = sim.ok(&[
        "get",
        "job",
        "migrate",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Failed\")].reason}",
    ]);
    assert_eq!(reason, "BackoffLimitExceeded");
}

#[test]
fn kubectl_logs_show_the_chosen_log_current_and_previous() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("crash.log");
    std::fs::write(&log, "booting\npanic: missing DATABASE_URL\n").unwrap();
    let rule = format!("*crash*={}", log.display());
    let sim = Sim::start(&[
        "--image-rule",
        "*crash*=CrashLoopBackOff",
        "--pod-log",
        &rule,
        "--time-scale",
        "300",
    ]);
    let file = sim.manifest("d.yaml", &deployment("worker", "acme/crash:1", 1, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&[
        "wait",
        "pod",
        "-l",
        "app=worker",
        // Not `restartCount=2`: at this time scale it may be past 2 when the wait starts.
        "--for=jsonpath={.status.containerStatuses[?(@.restartCount>1)].name}=main",
        "--timeout=30s",
    ]);
    let current = sim.ok(&["logs", "deployment/worker"]);
    assert_eq!(current, "booting\npanic: missing DATABASE_URL\n");
    let previous = sim.ok(&["logs", "deployment/worker", "--previous", "--tail=1"]);
    assert_eq!(previous, "panic: missing DATABASE_URL\n");
    let cut = sim.ok(&["logs", "deployment/worker", "--limit-bytes=4"]);
    assert_eq!(cut, "boot");
    let described = sim.ok(&["describe", "pods", "-l", "app=worker"]);
    assert!(described.contains("CrashLoopBackOff"), "{described}");
    assert!(described.contains("Exit Code:    1"), "{described}");
}

#[test]
fn an_image_that_fails_two_pulls_then_rolls_out() {
    let sim = Sim::start(&[
        "--image-rule",
        "*flaky*=ImagePullBackOff:2",
        "--time-scale",
        "300",
    ]);
    let file = sim.manifest("d.yaml", &deployment("api", "acme/flaky:1", 1, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/api", "--timeout=30s"]);
    let events = sim.ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=Failed",
        "-o",
        "jsonpath={range .items[*]}{.count} {.message}{\"\\n\"}{end}",
    ]);
    let failed_pulls = events
        .lines()
        .find(|l| l.contains("Failed to pull image \"acme/flaky:1\""))
        .unwrap_or_else(|| panic!("no failed pull in {events}"));
    assert!(failed_pulls.starts_with("2 "), "{events}");
}
