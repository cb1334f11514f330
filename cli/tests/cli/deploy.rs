//! `shiplog deploy` against kubesim over HTTPS: the acceptance tests of issue 4.

use std::time::{Duration, Instant};

use crate::support::{Deploys as _, FIXTURE, Sim, write};

const FRONTEND: &str = "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/frontend";

fn assert_no_secret(sim: &Sim, outputs: &[&str]) {
    let token = sim.token();
    for output in outputs {
        assert!(!output.contains(&token), "the token leaked: {output}");
    }
}

fn mutating(sim: &Sim) -> Vec<serde_json::Value> {
    sim.requests()
        .into_iter()
        .filter(|r| r["method"] != "GET" && r["dryRun"] != true)
        .collect()
}

#[test]
fn the_fixture_rolls_out_and_a_second_deploy_changes_nothing() {
    let sim = Sim::start(&[]);
    let (code, stdout, stderr) = sim.deploy(&["--manifests", FIXTURE]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "deployed 35 objects: 35 created, 0 configured, 0 unchanged; every rollout is complete"
        ),
        "{stdout}"
    );
    // Every object was dry-run before the first one was changed.
    let requests = sim.requests();
    let first_change = requests
        .iter()
        .position(|r| r["method"] == "PATCH" && r["dryRun"] == false)
        .unwrap();
    let dry_runs = requests[..first_change]
        .iter()
        .filter(|r| r["dryRun"] == true)
        .count();
    assert_eq!(dry_runs, 35);
    let watches: Vec<(&str, &str)> = requests
        .iter()
        .filter(|r| r["query"].as_str().unwrap().starts_with("watch=true"))
        .map(|r| (r["path"].as_str().unwrap(), r["query"].as_str().unwrap()))
        .collect();
    let watched = |path: &str| watches.iter().filter(|(p, _)| *p == path).count();
    assert!(
        watched("/apis/apps/v1/namespaces/default/deployments") >= 1
            && watches.iter().all(|(path, query)| {
                *path == "/apis/apps/v1/namespaces/default/deployments"
                    || *path == "/api/v1/namespaces/default/events"
                        && query.contains("fieldSelector=type%3DWarning")
            }),
        "rollouts are watched, with one watch for the namespace's Deployments and one for its \
         Warning events: {watches:?}"
    );

    let (code, stdout, stderr) = sim.deploy(&["--manifests", FIXTURE, "--output", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["status"], "succeeded");
    let actions: Vec<&str> = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["unchanged"; 35]);
    assert_no_secret(&sim, &[&stdout, &stderr]);
}

/// The GitHub runner's variables of a job at `commit`.
fn at_commit(commit: &str) -> Vec<(&str, &str)> {
    vec![
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_SHA", commit),
        ("GITHUB_ACTOR", "alice"),
    ]
}

#[test]
fn a_new_commit_writes_only_the_objects_it_changes_and_annotates_only_those() {
    let sim = Sim::start(&[]);
    let (code, stdout, stderr) = sim.deploy_with(&["--manifests", FIXTURE], &at_commit("1111111"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let writes_before = mutating(&sim).len();

    // The same manifests from a new commit: nothing to write.
    let (code, stdout, stderr) = sim.deploy_with(&["--manifests", FIXTURE], &at_commit("2222222"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "no changes: 35 objects unchanged, nothing was written; every rollout is complete"
        ),
        "{stdout}"
    );
    assert_eq!(mutating(&sim).len(), writes_before, "no object was written");

    // A new image for two services: those two are written, with the new commit.
    let images = format!(
        "{FRONTEND}:v0.10.7\nus-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/cartservice:v0.10.7"
    );
    let (code, stdout, stderr) = sim.deploy_with(
        &["--manifests", FIXTURE, "--images", &images],
        &at_commit("3333333"),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("0 created, 2 configured, 33 unchanged"),
        "{stdout}"
    );
    let written: Vec<String> = mutating(&sim)[writes_before..]
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(written.len(), 2, "{written:?}");
    let commit = |name: &str| {
        sim.get(&format!(
            "/apis/apps/v1/namespaces/default/deployments/{name}"
        ))["metadata"]["annotations"]["shiplog.dev/commit"]
            .clone()
    };
    assert_eq!(commit("frontend"), "3333333");
    assert_eq!(commit("cartservice"), "3333333");
    assert_eq!(
        commit("checkoutservice"),
        "1111111",
        "the commit that last changed it"
    );
}

const WITH_INIT_AND_CRON: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      initContainers: [{name: migrate, image: "ghcr.io/acme/api:v1"}]
      containers: [{name: api, image: "ghcr.io/acme/api:v1"}, {name: proxy, image: "envoyproxy/envoy:v1.30"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: "ghcr.io/acme/api:v1"}]
"#;

#[test]
fn images_reach_deployments_cronjobs_and_init_containers_in_a_new_namespace() {
    let sim = Sim::start(&[]);
    let manifests = write(sim.dir.path(), "app.yaml", WITH_INIT_AND_CRON);
    let (code, stdout, stderr) = sim.deploy(&[
        "--manifests",
        &manifests,
        "--namespace",
        "shop",
        "--images",
        "ghcr.io/acme/api:v2",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("namespace/shop created"), "{stdout}");
    let deployment = sim.get("/apis/apps/v1/namespaces/shop/deployments/api");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["initContainers"][0]["image"], "ghcr.io/acme/api:v2");
    assert_eq!(pod["containers"][0]["image"], "ghcr.io/acme/api:v2");
    assert_eq!(pod["containers"][1]["image"], "envoyproxy/envoy:v1.30");
    let cron = sim.get("/apis/batch/v1/namespaces/shop/cronjobs/nightly");
    assert_eq!(
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/api:v2"
    );
}

#[test]
fn a_bad_image_fails_naming_the_pod_and_rollback_restores_the_previous_image() {
    let sim = Sim::start(&["--image-rule", "*:broken=ImagePullBackOff"]);
    assert_eq!(sim.deploy(&["--manifests", FIXTURE]).0, 0);
    let broken = format!("{FRONTEND}:broken");

    let (code, stdout, stderr) = sim.deploy(&["--manifests", FIXTURE, "--images", &broken]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let reason = stderr.lines().find(|l| l.starts_with("shiplog: ")).unwrap();
    assert!(
        reason.starts_with(&format!(
            "shiplog: Deployment/frontend: image {broken} cannot be pulled (ImagePullBackOff) — pod frontend-"
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains("Deployment/frontend in default failed"),
        "{stdout}"
    );
    let image = |sim: &Sim| {
        sim.get("/apis/apps/v1/namespaces/default/deployments/frontend")["spec"]["template"]["spec"]
            ["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        image(&sim),
        broken,
        "without --rollback-on-failure the change stays"
    );

    let (code, _, stderr) = sim.deploy(&[
        "--manifests",
        FIXTURE,
        "--images",
        &broken,
        "--rollback-on-failure",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("Deployment/frontend: rolled back to revision 1"),
        "{stderr}"
    );
    assert!(stderr.contains("deploy rolled back"), "{stderr}");
    assert_eq!(image(&sim), format!("{FRONTEND}:v0.10.6"));
    assert_no_secret(&sim, &[&stderr]);
}

/// A StatefulSet (two pods) or DaemonSet (one pod on kubesim's one node), `kind`, named
/// `db` and running `ghcr.io/acme/db:v1`.
fn pod_set(kind: &str) -> String {
    let extra = if kind == "StatefulSet" {
        "  serviceName: db\n  replicas: 2\n"
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: db}}\nspec:\n{extra}  selector: {{matchLabels: {{app: db}}}}\n  template:\n    metadata: {{labels: {{app: db}}}}\n    spec:\n      containers: [{{name: db, image: \"ghcr.io/acme/db:v1\"}}]\n"
    )
}

/// Deploys `kind` with a good image, then with a broken one and `--rollback-on-failure`:
/// the deploy fails (exit 1, status rolled back) and every pod runs the good image again.
/// Returns the rollback's note.
fn a_broken_pod_set_is_rolled_back(kind: &str, plural: &str) -> String {
    let sim = Sim::start(&["--image-rule", "*:broken=ImagePullBackOff"]);
    let manifests = write(sim.dir.path(), "db.yaml", &pod_set(kind));
    let (code, stdout, stderr) = sim.deploy(&["--manifests", &manifests]);
    assert_eq!(code, 0, "{stdout}{stderr}");

    let (code, stdout, stderr) = sim.deploy(&[
        "--manifests",
        &manifests,
        "--images",
        "ghcr.io/acme/db:broken",
        "--rollback-on-failure",
        "--timeout",
        "3s",
        "--output",
        "json",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["status"], "rolled_back", "{stdout}");
    let details: Vec<&str> = report["failure"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    let note = details
        .iter()
        .find(|d| d.starts_with(&format!("{kind}/db: rolled back to revision 1")))
        .unwrap_or_else(|| panic!("no rollback note in {details:?}"))
        .to_string();
    let object = sim.get(&format!("/apis/apps/v1/namespaces/default/{plural}/db"));
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/db:v1"
    );
    let pods = sim.get("/api/v1/namespaces/default/pods?labelSelector=app%3Ddb");
    let images: Vec<&str> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["spec"]["containers"][0]["image"].as_str().unwrap())
        .collect();
    let expected = if kind == "StatefulSet" { 2 } else { 1 };
    assert_eq!(images, vec!["ghcr.io/acme/db:v1"; expected]);
    assert_no_secret(&sim, &[&stdout, &stderr]);
    note
}

#[test]
fn a_statefulset_with_a_bad_image_is_rolled_back_replacing_its_stuck_pod() {
    let note = a_broken_pod_set_is_rolled_back("StatefulSet", "statefulsets");
    assert_eq!(
        note,
        "StatefulSet/db: rolled back to revision 1 (deleted pods stuck on the failed revision: db-1)"
    );
}

#[test]
fn a_daemonset_with_a_bad_image_is_rolled_back() {
    let note = a_broken_pod_set_is_rolled_back("DaemonSet", "daemonsets");
    assert_eq!(note, "DaemonSet/db: rolled back to revision 1");
}

#[test]
fn a_missing_config_map_is_named() {
    let sim = Sim::start(&[]);
    let manifests = write(
        sim.dir.path(),
        "app.yaml",
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: ghcr.io/acme/api:v1
        envFrom: [{configMapRef: {name: api-settings}}]
"#,
    );
    let (code, _, stderr) = sim.deploy(&["--manifests", &manifests, "--timeout", "30s"]);
    assert_eq!(code, 1, "{stderr}");
    let reason = stderr.lines().find(|l| l.starts_with("shiplog: ")).unwrap();
    assert!(reason.contains("CreateContainerConfigError"), "{stderr}");
    assert!(reason.contains("api-settings"), "{stderr}");
}

#[test]
fn an_invalid_document_exits_2_with_file_and_line_before_any_change() {
    let sim = Sim::start(&[]);
    let good = write(sim.dir.path(), "good.yaml", WITH_INIT_AND_CRON);
    let bad = write(
        sim.dir.path(),
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: api.v2\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
    );
    let (code, _, stderr) = sim.deploy(&["--manifests", &good, "--manifests", &bad]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{bad}:5: Service/api.v2: metadata.name: Invalid value"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{bad}:10: Widget/w: kind: the cluster does not serve kind \"Widget\""
        )),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(mutating(&sim), Vec::<serde_json::Value>::new());
    assert!(
        sim.requests().iter().all(|r| r["method"] == "GET"),
        "not even a dry run"
    );
}

#[test]
fn injected_500s_429s_and_dropped_connections_are_retried_and_the_deploy_succeeds() {
    let sim = Sim::start(&[
        "--fault",
        "PATCH:500:0.2",
        "--fault",
        "*:429:0.1",
        "--fault",
        "GET:drop:0.05",
    ]);
    let (code, stdout, stderr) = sim.deploy(&["--manifests", FIXTURE]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("35 created"), "{stdout}");
    let statuses: Vec<u64> = sim
        .requests()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert!(
        statuses.contains(&500) && statuses.contains(&429),
        "faults were injected"
    );
}

#[test]
fn an_unreachable_cluster_exits_3_promptly_and_a_wrong_token_is_refused() {
    let sim = Sim::start(&[]);
    let kubeconfig = std::fs::read_to_string(sim.kubeconfig()).unwrap();
    let token = sim.token();
    let forged = write(
        sim.dir.path(),
        "forged.yaml",
        &kubeconfig.replace(&token, "not-the-token"),
    );
    let (code, stdout, stderr) =
        crate::support::shiplog(&["deploy", "--kubeconfig", &forged, "--manifests", FIXTURE]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stderr.contains("refused the credentials (401)"), "{stderr}");
    assert!(!stderr.contains("not-the-token"), "{stderr}");

    let mut sim = sim;
    sim.stop();
    let started = Instant::now();
    let (code, _, stderr) = sim.deploy(&["--manifests", FIXTURE]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "shiplog: {} (context kubesim): the cluster is unreachable",
            sim.url()
        )),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn dry_run_changes_nothing_and_says_what_would_happen() {
    let sim = Sim::start(&[]);
    let manifests = write(sim.dir.path(), "app.yaml", WITH_INIT_AND_CRON);
    let (code, stdout, stderr) = sim.deploy(&["--manifests", &manifests, "--dry-run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("Deployment/api in default created (dry run)"),
        "{stdout}"
    );
    assert!(stdout.contains("dry run: 2 objects: 2 created"), "{stdout}");
    assert_eq!(mutating(&sim), Vec::<serde_json::Value>::new());

    assert_eq!(sim.deploy(&["--manifests", &manifests]).0, 0);
    let (code, stdout, _) = sim.deploy(&[
        "--manifests",
        &manifests,
        "--dry-run",
        "--images",
        "ghcr.io/acme/api:v3",
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Deployment/api in default configured (dry run)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("CronJob/nightly in default configured (dry run)"),
        "{stdout}"
    );

    let (code, _, stderr) = sim.deploy(&[
        "--manifests",
        &manifests,
        "--namespace",
        "missing",
        "--create-namespace=false",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("namespace \"missing\" does not exist"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn an_exec_credential_plugin_supplies_the_token_and_stays_secret() {
    let sim = Sim::start(&[]);
    let with_plugin = sim.exec_kubeconfig();
    let manifests = write(sim.dir.path(), "app.yaml", WITH_INIT_AND_CRON);
    let (code, stdout, stderr) = crate::support::shiplog_with(
        &[
            "deploy",
            "--kubeconfig",
            &with_plugin,
            "--manifests",
            &manifests,
        ],
        &[
            ("SHIPLOG_SERVER_TOKEN", "not-for-plugins-either"),
            ("INPUT_SERVER-TOKEN", "not-for-plugins"),
            ("SHIPLOG_PLUGIN_MAY_SEE", "yes"),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_no_secret(&sim, &[&stdout, &stderr]);
    let seen = sim.plugin_environment();
    assert!(
        seen.iter().any(|name| name == "SHIPLOG_PLUGIN_MAY_SEE"),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|name| name == "KUBERNETES_EXEC_INFO"),
        "{seen:?}"
    );
    for withheld in ["SHIPLOG_SERVER_TOKEN", "INPUT_SERVER-TOKEN"] {
        assert!(
            !seen.iter().any(|name| name == withheld),
            "{withheld} in {seen:?}"
        );
    }
}

#[test]
fn a_timeout_beyond_a_day_is_an_input_error_before_any_request() {
    let sim = Sim::start(&[]);
    let manifests = write(sim.dir.path(), "app.yaml", WITH_INIT_AND_CRON);
    let (code, _, stderr) = sim.deploy(&["--manifests", &manifests, "--timeout", "600h"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("\"600h\" is longer than the longest duration accepted, 24h"),
        "{stderr}"
    );
    assert!(sim.requests().is_empty(), "nothing may reach the cluster");
}

#[test]
fn watches_answered_empty_at_once_are_polled_with_growing_waits_not_stormed() {
    // A proxy that ends every watch at once with an empty 200, and a rollout of 2 s.
    let sim = Sim::start_paced(&["--rollout-ms", "2000"], &["--fault", "GET:empty:1"]);
    let manifests = write(
        sim.dir.path(),
        "api.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: api, image: ghcr.io/acme/api:v1}]\n",
    );
    let (code, stdout, stderr) = sim.deploy(&["--manifests", &manifests, "--timeout", "1m"]);
    assert_eq!(code, 0, "the rollout is seen by listing: {stdout}{stderr}");
    let watches = sim
        .requests()
        .iter()
        .filter(|r| r["query"].as_str().is_some_and(|q| q.contains("watch=")))
        .count();
    // Two followers (the Deployment, the namespace's events), each reopening after 50-100 ms,
    // then 100-200 ms, 200-400 ms, ...: about five each in 2 s, where an unguarded loop makes
    // thousands.
    assert!(
        (2..=16).contains(&watches),
        "{watches} watch requests: {:?}",
        sim.requests()
    );
}

#[test]
fn an_images_entry_that_matches_no_container_is_an_input_error_naming_it() {
    let sim = Sim::start(&[]);
    let manifests = write(sim.dir.path(), "app.yaml", WITH_INIT_AND_CRON);
    let (code, stdout, stderr) = sim.deploy(&[
        "--manifests",
        &manifests,
        "--images",
        "ghcr.io/acme/api:v2\nghcr.io/acme/apii:v2",
    ]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("images: ghcr.io/acme/apii:v2 matches no container image"),
        "{stdout}{stderr}"
    );
    assert!(mutating(&sim).is_empty(), "{:?}", mutating(&sim));
}
