//! Never fighting the cluster's other owners: a HorizontalPodAutoscaler keeps the replicas it
//! set, a field another manager holds is named and taken over — or, with
//! `--force-conflicts=false`, the deploy is refused and nothing changes.

use serde_json::json;
use shiplog_engine::kube::request::Request;

use crate::support::{Deploys as _, Sim, shiplog, write};

const APP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  minReadySeconds: 0
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "ghcr.io/acme/api:v1"}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 10
"#;

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/default/deployments/api";

/// Changes the live Deployment as another manager (`manager`) would.
fn change_as(sim: &Sim, manager: &str, patch: serde_json::Value) {
    let mut request = Request::patch_json(format!("{DEPLOYMENT}?fieldManager={manager}"), &patch);
    request.content_type = Some("application/merge-patch+json");
    sim.send(&request);
}

fn replicas(sim: &Sim) -> serde_json::Value {
    sim.get(DEPLOYMENT)["spec"]["replicas"].clone()
}

#[test]
fn an_autoscaler_keeps_its_replicas_and_other_managers_fields_are_named() {
    let sim = Sim::start(&[]);
    let manifests = write(sim.dir.path(), "app.yaml", APP);
    let (code, stdout, stderr) = sim.deploy(&["--manifests", &manifests]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(replicas(&sim), 2);

    // The autoscaler scales to 7; a person edits minReadySeconds by hand.
    change_as(
        &sim,
        "horizontal-pod-autoscaler",
        json!({"spec": {"replicas": 7}}),
    );
    change_as(
        &sim,
        "kubectl-edit",
        json!({"spec": {"minReadySeconds": 5}}),
    );

    let kubeconfig = sim.kubeconfig();
    let (code, stdout, stderr) = shiplog(&[
        "diff",
        "--kubeconfig",
        &kubeconfig,
        "--manifests",
        &manifests,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "note: Deployment/api: spec.replicas left to HorizontalPodAutoscaler api (kept at 7)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(".spec.minReadySeconds (kubectl-edit)"),
        "{stdout}"
    );
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with(['-', '+']) && l.contains("replicas")),
        "{stdout}"
    );

    // An autoscaler found in the cluster counts as one in the manifests.
    let deployment_only = write(
        sim.dir.path(),
        "deployment.yaml",
        APP.split("---").next().unwrap(),
    );
    let (code, stdout, stderr) = shiplog(&[
        "diff",
        "--kubeconfig",
        &kubeconfig,
        "--manifests",
        &deployment_only,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("spec.replicas left to HorizontalPodAutoscaler api (kept at 7)"),
        "{stdout}"
    );

    // Refused when asked not to take over: nothing changes.
    let (code, stdout, stderr) =
        sim.deploy(&["--manifests", &manifests, "--force-conflicts=false"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("Deployment/api: other managers hold .spec.minReadySeconds (kubectl-edit) (force-conflicts is off)"),
        "{stderr}"
    );
    assert_eq!(sim.get(DEPLOYMENT)["spec"]["minReadySeconds"], 5);

    // By default the field is taken over, and said so; the replicas stay the autoscaler's.
    let (code, stdout, stderr) = sim.deploy(&["--manifests", &manifests]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("Deployment/api in default configured: spec.replicas left to HorizontalPodAutoscaler api (kept at 7); took over from other managers: .spec.minReadySeconds (kubectl-edit)"),
        "{stdout}"
    );
    assert_eq!(
        replicas(&sim),
        7,
        "the deploy did not scale the workload down"
    );
    assert_eq!(sim.get(DEPLOYMENT)["spec"]["minReadySeconds"], 0);
}

#[test]
fn an_invalid_autoscaler_is_refused_by_kubesim_as_by_the_api_server() {
    let sim = Sim::start(&[]);
    let broken = APP.replace("maxReplicas: 10", "maxReplicas: 1");
    let manifests = write(sim.dir.path(), "app.yaml", &broken);
    let (code, _, stderr) = sim.deploy(&["--manifests", &manifests]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "spec.maxReplicas: Invalid value: 1: must be greater than or equal to `minReplicas`"
        ),
        "{stderr}"
    );
}
