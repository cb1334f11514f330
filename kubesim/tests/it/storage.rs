//! PersistentVolumeClaims and PodDisruptionBudgets through kubectl: discovery and short names,
//! server-side apply (dry run too), the claim bound at once by the simulated provisioner and
//! frozen but for growing, `get`/`describe` as a real cluster prints them, pods held back for
//! a missing claim, and budgets whose allowed disruptions follow the ready pods.

use serde_json::Value;

use crate::harness::Sim;

/// A claim of `storage` with `modes` (a flow list, `[ReadWriteOnce]`).
fn claim(name: &str, storage: &str, modes: &str) -> String {
    format!(
        "apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {name}
spec:
  accessModes: {modes}
  resources:
    requests:
      storage: {storage}
"
    )
}

/// A Deployment of `replicas` pods labelled `app: {name}` running `image` with `strategy`,
/// mounting the claim `data`.
fn deployment_with_claim(name: &str, image: &str, replicas: u32, strategy: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  strategy:
    type: {strategy}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: main
        image: {image}
        volumeMounts:
        - name: data
          mountPath: /data
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: data
"
    )
}

/// `jsonpath` of `object`, as kubectl prints it.
fn path(sim: &Sim, object: &str, jsonpath: &str) -> String {
    sim.ok(&["get", object, "-o", &format!("jsonpath={jsonpath}")])
}

/// Waits (30 s at most) until `jsonpath` of `object` is `value`.
fn wait_for(sim: &Sim, object: &str, jsonpath: &str, value: &str) {
    sim.ok(&[
        "wait",
        &format!("--for=jsonpath={jsonpath}={value}"),
        object,
        "--timeout=30s",
    ]);
}

/// The words of each line of `kubectl get` (header first).
fn table(sim: &Sim, args: &[&str]) -> Vec<Vec<String>> {
    sim.ok(args)
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

#[test]
fn a_claim_is_bound_at_once_printed_as_kubectl_prints_it_and_may_only_grow() {
    let sim = Sim::start(&[]);
    let resources = sim.ok(&["api-resources", "--no-headers"]);
    for (name, short, version, kind) in [
        (
            "persistentvolumeclaims",
            "pvc",
            "v1",
            "PersistentVolumeClaim",
        ),
        (
            "poddisruptionbudgets",
            "pdb",
            "policy/v1",
            "PodDisruptionBudget",
        ),
    ] {
        assert!(
            resources.lines().any(|l| l
                .split_whitespace()
                .eq([name, short, version, "true", kind])),
            "{resources}"
        );
    }

    let file = sim.manifest("data.yaml", &claim("data", "1024Mi", "[ReadWriteOnce]"));
    let dry = sim.ok(&["apply", "--server-side", "--dry-run=server", "-f", &file]);
    assert_eq!(
        dry.trim(),
        "persistentvolumeclaim/data serverside-applied (server dry run)"
    );
    let err = sim.fails(&["get", "pvc", "data"]);
    assert!(err.contains("\"data\" not found"), "{err}");

    sim.ok(&["apply", "--server-side", "-f", &file]);
    wait_for(&sim, "pvc/data", "{.status.phase}", "Bound");
    let uid = path(&sim, "pvc/data", "{.metadata.uid}");
    let volume = format!("pvc-{uid}");
    assert_eq!(
        path(
            &sim,
            "pvc/data",
            "{.spec.volumeName} {.spec.storageClassName} {.spec.volumeMode} {.spec.resources.requests.storage} {.status.capacity.storage} {.status.accessModes}"
        ),
        format!("{volume} standard Filesystem 1Gi 1Gi [\"ReadWriteOnce\"]")
    );
    let rows = table(&sim, &["get", "pvc"]);
    assert_eq!(
        rows[0],
        [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS",
            "MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE"
        ]
    );
    assert_eq!(
        rows[1][..7],
        [
            "data", "Bound", &volume, "1Gi", "RWO", "standard", "<unset>"
        ]
    );
    let wide = table(&sim, &["get", "pvc", "data", "-o", "wide"]);
    assert_eq!(wide[0].last().map(String::as_str), Some("VOLUMEMODE"));
    assert_eq!(wide[1].last().map(String::as_str), Some("Filesystem"));

    let described = sim.ok(&["describe", "pvc", "data"]);
    for line in [
        "StorageClass:  standard",
        "Status:        Bound",
        &format!("Volume:        {volume}"),
        "Finalizers:    [kubernetes.io/pvc-protection]",
        "Capacity:      1Gi",
        "Access Modes:  RWO",
        "VolumeMode:    Filesystem",
        "Used By:       <none>",
    ] {
        assert!(described.contains(line), "{line:?} in {described}");
    }
    for (reason, message) in [
        (
            "ExternalProvisioning",
            "Waiting for a volume to be created either by the external provisioner 'kubesim.io/hostpath'",
        ),
        (
            "Provisioning",
            "External provisioner is provisioning volume for claim \"default/data\"",
        ),
        (
            "ProvisioningSucceeded",
            &format!("Successfully provisioned volume {volume}"),
        ),
    ] {
        assert!(
            described
                .lines()
                .any(|l| l.contains(reason) && l.contains(message)),
            "{reason} in {described}"
        );
    }

    // The same spec again is accepted and changes nothing.
    let version = path(&sim, "pvc/data", "{.metadata.resourceVersion}");
    let again = sim.ok(&["apply", "--server-side", "-f", &file]);
    assert_eq!(
        again.trim(),
        "persistentvolumeclaim/data serverside-applied"
    );
    assert_eq!(
        path(&sim, "pvc/data", "{.metadata.resourceVersion}"),
        version
    );

    // The request may grow (the volume follows), never shrink; the rest is frozen.
    let grown = sim.manifest("grown.yaml", &claim("data", "2Gi", "[ReadWriteOnce]"));
    sim.ok(&["apply", "--server-side", "--dry-run=server", "-f", &grown]);
    assert_eq!(path(&sim, "pvc/data", "{.status.capacity.storage}"), "1Gi");
    sim.ok(&["apply", "--server-side", "-f", &grown]);
    wait_for(&sim, "pvc/data", "{.status.capacity.storage}", "2Gi");
    let err = sim.fails(&["apply", "--server-side", "-f", &file]);
    assert!(
        err.contains("The PersistentVolumeClaim \"data\" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"),
        "{err}"
    );
    let shared = sim.manifest("shared.yaml", &claim("data", "2Gi", "[ReadWriteMany]"));
    let err = sim.fails(&["apply", "--server-side", "--dry-run=server", "-f", &shared]);
    assert!(
        err.contains("The PersistentVolumeClaim \"data\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"),
        "{err}"
    );
    assert!(err.contains("AccessModes"), "{err}");

    let invalid = sim.manifest("invalid.yaml", &claim("bad", "0", "[]"));
    let err = sim.fails(&["apply", "--server-side", "-f", &invalid]);
    assert!(
        err.contains("spec.accessModes: Required value: at least 1 access mode is required")
            && err.contains(
                "spec.resources[storage]: Invalid value: \"0\": must be greater than zero"
            ),
        "{err}"
    );
}

#[test]
fn pods_wait_for_their_claim_and_a_deployment_mounting_it_rolls_out() {
    let sim = Sim::start(&[]);
    let pod = sim.manifest(
        "orphan.yaml",
        "apiVersion: v1
kind: Pod
metadata:
  name: orphan
spec:
  containers:
  - name: main
    image: acme/orphan:1
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: lost
",
    );
    sim.ok(&["apply", "--server-side", "-f", &pod]);
    sim.ok(&[
        "wait",
        "--for=condition=PodScheduled=false",
        "pod/orphan",
        "--timeout=30s",
    ]);
    let message = "0/1 nodes are available: persistentvolumeclaim \"lost\" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
    assert_eq!(
        path(
            &sim,
            "pod/orphan",
            "{.status.phase}|{.status.conditions[0].reason}|{.status.conditions[0].message}"
        ),
        format!("Pending|Unschedulable|{message}")
    );
    let events: Value = serde_json::from_str(&sim.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=orphan,reason=FailedScheduling",
        "-o",
        "json",
    ]))
    .unwrap();
    let event = &events["items"][0];
    assert_eq!(event["type"], "Warning", "{events}");
    assert_eq!(event["source"]["component"], "default-scheduler");
    assert_eq!(event["message"], message);
    let row = sim.ok(&["get", "pod", "orphan", "--no-headers"]);
    assert!(row.contains(" 0/1 ") && row.contains(" Pending "), "{row}");
    let described = sim.ok(&["describe", "pod", "orphan"]);
    assert!(
        described.contains("FailedScheduling")
            && described
                .lines()
                .any(|l| l.split_whitespace().eq(["ClaimName:", "lost"])),
        "{described}"
    );

    // The claim appears: the pod is scheduled and runs.
    let lost = sim.manifest("lost.yaml", &claim("lost", "1Gi", "[ReadWriteOnce]"));
    sim.ok(&["apply", "--server-side", "-f", &lost]);
    sim.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/orphan",
        "--timeout=30s",
    ]);

    let files = format!(
        "{}---\n{}",
        claim("data", "5Gi", "[ReadWriteOnce]"),
        deployment_with_claim("db", "acme/db:1", 2, "Recreate")
    );
    let file = sim.manifest("db.yaml", &files);
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/db", "--timeout=30s"]);
    let pods = sim.ok(&["get", "pods", "-l", "app=db", "-o", "name"]);
    let used_by = sim.ok(&["describe", "pvc", "data"]);
    for pod in pods.lines() {
        let name = pod.trim_start_matches("pod/");
        assert!(used_by.contains(name), "{name} in {used_by}");
    }
    assert_eq!(
        sim.ok(&[
            "get",
            "pvc",
            "--no-headers",
            "-o",
            "custom-columns=N:.metadata.name,S:.status.phase"
        ])
        .split_whitespace()
        .collect::<Vec<_>>(),
        ["data", "Bound", "lost", "Bound"]
    );
}

/// `(currentHealthy, desiredHealthy, expectedPods, disruptionsAllowed)` of budget `name`.
fn budget(sim: &Sim, name: &str) -> String {
    path(
        sim,
        &format!("pdb/{name}"),
        "{.status.currentHealthy} {.status.desiredHealthy} {.status.expectedPods} {.status.disruptionsAllowed}",
    )
}

#[test]
fn a_disruption_budget_allows_what_its_ready_pods_leave() {
    let sim = Sim::start(&["--image-rule", "acme/stuck:*=NotReady"]);
    let budgets = "apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: db
spec:
  minAvailable: 2
  selector:
    matchLabels:
      app: db
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: db-half
spec:
  maxUnavailable: 50%
  selector:
    matchLabels:
      app: db
";
    let files = format!(
        "{}---\n{}---\n{budgets}",
        claim("data", "1Gi", "[ReadWriteMany]"),
        deployment_with_claim("db", "acme/db:1", 3, "Recreate")
    );
    let file = sim.manifest("db.yaml", &files);
    let dry = sim.ok(&["apply", "--server-side", "--dry-run=server", "-f", &file]);
    assert!(
        dry.contains("poddisruptionbudget.policy/db serverside-applied (server dry run)"),
        "{dry}"
    );
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/db", "--timeout=30s"]);
    // minAvailable 2 of 3 ready pods; 50% of the Deployment's 3 replicas rounds up to 2.
    wait_for(&sim, "pdb/db", "{.status.disruptionsAllowed}", "1");
    wait_for(&sim, "pdb/db-half", "{.status.disruptionsAllowed}", "2");
    assert_eq!(budget(&sim, "db"), "3 2 3 1");
    assert_eq!(budget(&sim, "db-half"), "3 1 3 2");
    assert_eq!(
        path(
            &sim,
            "pdb/db",
            "{.status.observedGeneration} {.status.conditions[0].type} {.status.conditions[0].status} {.status.conditions[0].reason}"
        ),
        "1 DisruptionAllowed True SufficientPods"
    );
    let rows = table(&sim, &["get", "pdb"]);
    assert_eq!(
        rows[0],
        [
            "NAME",
            "MIN",
            "AVAILABLE",
            "MAX",
            "UNAVAILABLE",
            "ALLOWED",
            "DISRUPTIONS",
            "AGE"
        ]
    );
    assert_eq!(rows[1][..4], ["db", "2", "N/A", "1"]);
    assert_eq!(rows[2][..4], ["db-half", "N/A", "50%", "2"]);
    let described = sim.ok(&["describe", "pdb", "db"]);
    for line in [
        "Min available:  2",
        "Selector:       app=db",
        "Allowed disruptions:  1",
        "Current:              3",
        "Desired:              2",
        "Total:                3",
    ] {
        assert!(described.contains(line), "{line:?} in {described}");
    }

    // Recreated with pods that never become ready: nothing may be disrupted.
    sim.ok(&["set", "image", "deployment/db", "main=acme/stuck:2"]);
    wait_for(&sim, "pdb/db", "{.status.currentHealthy}", "0");
    wait_for(&sim, "pdb/db", "{.status.expectedPods}", "3");
    assert_eq!(budget(&sim, "db"), "0 2 3 0");
    wait_for(&sim, "pdb/db-half", "{.status.disruptionsAllowed}", "0");
    assert_eq!(
        path(
            &sim,
            "pdb/db",
            "{.status.conditions[0].status} {.status.conditions[0].reason}"
        ),
        "False InsufficientPods"
    );
    assert_eq!(table(&sim, &["get", "pdb", "db"])[1][3], "0");

    // Ready again, and a changed budget is observed.
    sim.ok(&["set", "image", "deployment/db", "main=acme/db:2"]);
    sim.ok(&["rollout", "status", "deployment/db", "--timeout=30s"]);
    wait_for(&sim, "pdb/db", "{.status.disruptionsAllowed}", "1");
    sim.ok(&[
        "patch",
        "pdb",
        "db",
        "--type=merge",
        "-p",
        r#"{"spec":{"minAvailable":1}}"#,
    ]);
    wait_for(&sim, "pdb/db", "{.status.observedGeneration}", "2");
    assert_eq!(budget(&sim, "db"), "3 1 3 2");

    let both = sim.manifest(
        "both.yaml",
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: both\nspec:\n  minAvailable: 1\n  maxUnavailable: 1\n",
    );
    let err = sim.fails(&["apply", "--server-side", "--dry-run=server", "-f", &both]);
    assert!(
        err.contains("The PodDisruptionBudget \"both\" is invalid: spec: Invalid value: policy.PodDisruptionBudgetSpec{")
            && err.contains("minAvailable and maxUnavailable cannot be both set"),
        "{err}"
    );
}

#[test]
fn an_autoscaler_is_stored_validated_and_printed_as_kubectl_prints_it() {
    let sim = Sim::start(&[]);
    let resources = sim.ok(&["api-resources", "--no-headers"]);
    assert!(
        resources.lines().any(|l| l.split_whitespace().eq([
            "horizontalpodautoscalers",
            "hpa",
            "autoscaling/v2",
            "true",
            "HorizontalPodAutoscaler"
        ])),
        "{resources}"
    );
    let autoscaler = |min: u32, max: u32| {
        format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: api}}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: api}}\n  minReplicas: {min}\n  maxReplicas: {max}\n"
        )
    };
    let bad = sim.manifest("bad.yaml", &autoscaler(5, 3));
    let err = sim.fails(&["apply", "--server-side", "-f", &bad]);
    assert!(
        err.contains(
            "spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"
        ),
        "{err}"
    );
    let file = sim.manifest("hpa.yaml", &autoscaler(2, 10));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    let rows = table(&sim, &["get", "hpa"]);
    assert_eq!(
        rows[0],
        [
            "NAME",
            "REFERENCE",
            "TARGETS",
            "MINPODS",
            "MAXPODS",
            "REPLICAS",
            "AGE"
        ]
    );
    assert_eq!(
        rows[1][..6],
        ["api", "Deployment/api", "<unknown>", "2", "10", "0"]
    );
}
