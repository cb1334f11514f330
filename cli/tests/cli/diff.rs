//! `shiplog diff` against kubesim: the plan of a deploy, object by object, and nothing changed.

use crate::support::{API_DEPLOYMENT, Deploys as _, FIXTURE, Sim, shiplog, write, writes};

/// `shiplog diff --kubeconfig <sim> args…`.
fn diff(sim: &Sim, args: &[&str]) -> (i32, String, String) {
    let kubeconfig = sim.kubeconfig();
    let mut all = vec!["diff", "--kubeconfig", &kubeconfig];
    all.extend_from_slice(args);
    shiplog(&all)
}

#[test]
fn unchanged_manifests_say_no_changes_and_nothing_is_written() {
    let sim = Sim::start(&[]);
    assert_eq!(sim.deploy(&["--manifests", FIXTURE]).0, 0);
    let before = writes(&sim);
    let (code, stdout, stderr) = diff(&sim, &["--manifests", FIXTURE, "--exit-code"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        "no changes: 35 objects unchanged; nothing was changed"
    );
    assert_eq!(writes(&sim), before, "a plan makes no mutating request");
}

#[test]
fn a_new_image_shows_the_old_and_the_new_line_and_the_cluster_keeps_the_old() {
    let sim = Sim::start(&[]);
    let manifests = write(sim.dir.path(), "api.yaml", API_DEPLOYMENT);
    assert_eq!(sim.deploy(&["--manifests", &manifests]).0, 0);
    let before = writes(&sim);
    let args = ["--manifests", &manifests, "--images", "ghcr.io/acme/api:v2"];
    let (code, stdout, stderr) = diff(&sim, &args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let changed: Vec<&str> = stdout
        .lines()
        .filter(|l| (l.starts_with('-') || l.starts_with('+')) && l.contains("image:"))
        .collect();
    assert_eq!(changed.len(), 2, "{stdout}");
    assert!(changed[0].starts_with('-') && changed[0].ends_with("ghcr.io/acme/api:v1"));
    assert!(changed[1].starts_with('+') && changed[1].ends_with("ghcr.io/acme/api:v2"));
    assert!(stdout.contains("--- live Deployment/api\n+++ planned Deployment/api\n"));
    assert!(
        stdout.contains("plan: 0 to create, 1 to change, 0 unchanged; nothing was changed"),
        "{stdout}"
    );
    assert!(!stdout.contains("managedFields") && !stdout.contains("resourceVersion"));
    assert_eq!(writes(&sim), before);
    let live = sim.get("/apis/apps/v1/namespaces/default/deployments/api");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/api:v1"
    );

    let mut with_exit_code = args.to_vec();
    with_exit_code.extend(["--exit-code", "--output", "json"]);
    let (code, stdout, _) = diff(&sim, &with_exit_code);
    assert_eq!(code, 1, "--exit-code: 1 when something would change");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["resources"][0]["action"], "configured");
    let diff = plan["resources"][0]["diff"].as_str().unwrap();
    assert!(diff.contains("image: ghcr.io/acme/api:v2"), "{plan:#}");
}

const SECRET: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: db}
type: Opaque
data: {password: aHVudGVyMi1zM2NyZXQ=}
stringData: {token: plain-t0ken-value}
"#;

#[test]
fn no_secret_value_appears_in_a_plan_or_a_deploy_report() {
    let sim = Sim::start(&[]);
    let manifests = write(sim.dir.path(), "secret.yaml", SECRET);
    let values = [
        "aHVudGVyMi1zM2NyZXQ=",
        "hunter2-s3cret",
        "plain-t0ken-value",
        "cm90YXRlZC12YWx1ZQ==",
        "rotated-value",
    ];
    let check = |outputs: &[&str]| {
        for output in outputs {
            for value in values {
                assert!(!output.contains(value), "{value} shown:\n{output}");
            }
        }
    };
    let (code, stdout, stderr) = diff(&sim, &["--manifests", &manifests]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("password: (value added)"), "{stdout}");
    check(&[&stdout, &stderr]);
    let (code, stdout, stderr) = sim.deploy(&["--manifests", &manifests, "--output", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    check(&[&stdout, &stderr]);

    let rotated = SECRET
        .replace("aHVudGVyMi1zM2NyZXQ=", "cm90YXRlZC12YWx1ZQ==")
        .replace("plain-t0ken-value", "rotated-value");
    let manifests = write(sim.dir.path(), "secret.yaml", &rotated);
    let (code, stdout, stderr) = diff(&sim, &["--manifests", &manifests]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("+  password: (value changed)"), "{stdout}");
    assert!(stdout.contains("+  token: (value changed)"), "{stdout}");
    check(&[&stdout, &stderr]);
    let (code, stdout, stderr) = sim.deploy(&["--manifests", &manifests, "--output", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("(value changed)"), "{stdout}");
    check(&[&stdout, &stderr]);
}
