//! API behaviour kubectl surfaces: validation messages, missing namespaces, immutable
//! selectors, server-side apply conflicts and dry runs, unknown fields, fault injection.

use crate::harness::{Sim, deployment};

#[test]
fn invalid_service_name_is_rejected_with_the_real_message() {
    let sim = Sim::start(&[]);
    let file = sim.manifest(
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: my.svc\nspec:\n  ports:\n  - port: 80\n",
    );
    let err = sim.fails(&["apply", "--server-side", "-f", &file]);
    assert!(
        err.contains("The Service \"my.svc\" is invalid: metadata.name: Invalid value: \"my.svc\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
        "{err}"
    );
}

#[test]
fn missing_namespace_and_immutable_selector() {
    let sim = Sim::start(&[]);
    let file = sim.manifest("d.yaml", &deployment("web", "nginx:1", 1, ""));
    let err = sim.fails(&["apply", "--server-side", "-n", "nowhere", "-f", &file]);
    assert!(err.contains("namespaces \"nowhere\" not found"), "{err}");

    sim.ok(&["apply", "--server-side", "-f", &file]);
    let moved = deployment("web", "nginx:1", 1, "").replace("app: web", "app: other");
    let moved = sim.manifest("moved.yaml", &moved);
    let err = sim.fails(&["apply", "--server-side", "--force-conflicts", "-f", &moved]);
    assert!(err.contains("spec.selector: Invalid value"), "{err}");
    assert!(err.contains("field is immutable"), "{err}");
}

#[test]
fn unknown_fields_are_rejected_or_dropped_with_a_warning() {
    let sim = Sim::start(&[]);
    let yaml =
        deployment("web", "nginx:1", 1, "").replace("  replicas: 1", "  replicas: 1\n  replica: 2");
    let file = sim.manifest("d.yaml", &yaml);
    let err = sim.fails(&["apply", "--server-side", "-f", &file]);
    assert!(
        err.contains(".spec.replica: field not declared in schema"),
        "{err}"
    );

    // `--validate=warn`: the field is dropped with a warning.
    let out = sim.kubectl(&["apply", "--server-side", "--validate=warn", "-f", &file]);
    assert!(out.status.success());
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(
        warnings.contains("Warning: unknown field \"spec.replica\""),
        "{warnings}"
    );
    let replicas = sim.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]);
    assert_eq!(replicas, "1");
}

#[test]
fn server_side_apply_conflicts_between_managers() {
    let sim = Sim::start(&[]);
    let file = sim.manifest("d.yaml", &deployment("web", "nginx:1", 1, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    let scaled = sim.manifest("d3.yaml", &deployment("web", "nginx:1", 3, ""));
    let err = sim.fails(&[
        "apply",
        "--server-side",
        "--field-manager",
        "shiplog",
        "-f",
        &scaled,
    ]);
    assert!(err.contains("conflict with \"kubectl\""), "{err}");
    assert!(err.contains(".spec.replicas"), "{err}");
    sim.ok(&[
        "apply",
        "--server-side",
        "--field-manager",
        "shiplog",
        "--force-conflicts",
        "-f",
        &scaled,
    ]);
    let managers = sim.ok(&[
        "get",
        "deploy",
        "web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert!(
        managers.contains("shiplog") && managers.contains("kubectl"),
        "{managers}"
    );
}

#[test]
fn server_dry_run_changes_nothing() {
    let sim = Sim::start(&[]);
    let file = sim.manifest("d.yaml", &deployment("web", "nginx:1", 1, ""));
    let out = sim.ok(&["apply", "--server-side", "--dry-run=server", "-f", &file]);
    assert!(out.contains("(server dry run)"), "{out}");
    let err = sim.fails(&["get", "deploy", "web"]);
    assert!(err.contains("deployments.apps \"web\" not found"), "{err}");
    let patches: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "PATCH")
        .collect();
    assert!(!patches.is_empty());
    assert!(patches.iter().all(|r| r["dryRun"] == true), "{patches:?}");
}

#[test]
fn injected_faults_reach_the_client_and_the_log() {
    let sim = Sim::start(&["--fault", "PATCH:500:1"]);
    let file = sim.manifest("d.yaml", &deployment("web", "nginx:1", 1, ""));
    let err = sim.fails(&["apply", "--server-side", "-f", &file]);
    assert!(err.contains("an error on the server"), "{err}");
    assert!(
        sim.requests()
            .iter()
            .any(|r| r["method"] == "PATCH" && r["status"] == 500)
    );
}

#[test]
fn kubectl_create_sends_protobuf_for_simple_kinds() {
    let sim = Sim::start(&[]);
    sim.ok(&["create", "namespace", "team-a"]);
    sim.ok(&[
        "create",
        "configmap",
        "cfg",
        "-n",
        "team-a",
        "--from-literal=a=b",
    ]);
    sim.ok(&[
        "create",
        "secret",
        "generic",
        "s",
        "-n",
        "team-a",
        "--from-literal=pw=x",
    ]);
    let data = sim.ok(&[
        "get",
        "cm",
        "cfg",
        "-n",
        "team-a",
        "-o",
        "jsonpath={.data.a}",
    ]);
    assert_eq!(data, "b");
    let secret = sim.ok(&[
        "get",
        "secret",
        "s",
        "-n",
        "team-a",
        "-o",
        "jsonpath={.type} {.data.pw}",
    ]);
    assert_eq!(secret, "Opaque eA==");
    sim.ok(&["delete", "namespace", "team-a"]);
    let err = sim.fails(&["get", "cm", "cfg", "-n", "team-a"]);
    // kubectl looks the namespace up after a NotFound.
    assert!(err.contains("namespaces \"team-a\" not found"), "{err}");
}
