//! `shiplog deploy --server-url`: the deploy recorded in a real history server (in-process, on
//! a fresh SQLite database), also when it has more objects than a record lists, and an
//! unreachable server that changes nothing but a warning.

use std::path::Path;
use std::time::{Duration, Instant};

use shiplog_model::limits::MAX_RESOURCES;

use shiplog_server::auth::Tokens;
use shiplog_server::local::LocalServer;
use shiplog_server::store::Store;

use crate::support::{API_DEPLOYMENT, Deploys as _, FIXTURE, RUNNER, Sim, write};

pub const TOKEN: &str = "history-write-token";

/// A history server on a fresh SQLite database in `dir`.
pub fn history_server(runtime: &tokio::runtime::Runtime, dir: &Path) -> LocalServer {
    let url = format!("sqlite://{}", dir.join("history.db").display());
    runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let tokens = Tokens {
            write: vec![TOKEN.into()],
            read: None,
        };
        LocalServer::start(store, tokens).await.unwrap()
    })
}

#[test]
fn a_deploy_is_recorded_from_start_to_finish() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = history_server(&runtime, dir.path());
    let sim = Sim::start(&[]);
    let (code, stdout, stderr) = sim.deploy_with(
        &[
            "--manifests",
            FIXTURE,
            "--namespace",
            "prod",
            "--app",
            "boutique",
            "--server-url",
            &server.base,
            "--server-token",
            TOKEN,
        ],
        &RUNNER,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("recorded as {}/deploys/1", server.base)),
        "{stderr}"
    );
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));

    let deploy = runtime.block_on(get(&server.base, "/api/v1/deploys/1"));
    assert_eq!(deploy["status"], "succeeded", "{deploy}");
    assert_eq!(deploy["app"], "boutique");
    assert_eq!(deploy["environment"], "prod");
    assert_eq!(deploy["commit"]["sha"], "4f2a9c1e0b");
    assert_eq!(deploy["resources"].as_array().unwrap().len(), 35);
    assert!(deploy["finished_at"].is_string(), "{deploy}");
    // The objects carry only what is stable across identical deploys.
    let frontend = sim.get("/apis/apps/v1/namespaces/prod/deployments/frontend");
    assert_eq!(
        frontend["metadata"]["annotations"]["shiplog.dev/commit"],
        "4f2a9c1e0b"
    );
    runtime.block_on(server.stop()).unwrap();
}

/// A deploy of more objects than a record may list is recorded all the same: the record keeps
/// the workload and the first objects, and one entry counts the rest.
#[test]
fn more_objects_than_a_record_lists_are_recorded_within_the_limits() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = history_server(&runtime, dir.path());
    let sim = Sim::start(&[]);
    let mut objects: Vec<String> = (0..MAX_RESOURCES + 100)
        .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-{i}\n"))
        .collect();
    objects.push(API_DEPLOYMENT.into());
    let manifests = write(dir.path(), "many.yaml", &objects.join("---\n"));
    let (code, stdout, stderr) = sim.deploy_with(
        &[
            "--manifests",
            &manifests,
            "--namespace",
            "prod",
            "--server-url",
            &server.base,
            "--server-token",
            TOKEN,
            "--output",
            "json",
        ],
        &RUNNER,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let applied = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["resources"]
        .as_array()
        .unwrap()
        .len();
    assert!(applied > MAX_RESOURCES + 100, "{applied} objects applied");

    let deploy = runtime.block_on(get(&server.base, "/api/v1/deploys/1"));
    assert_eq!(deploy["status"], "succeeded", "{deploy}");
    let resources = deploy["resources"].as_array().unwrap();
    assert_eq!(resources.len(), MAX_RESOURCES);
    assert!(
        resources
            .iter()
            .any(|r| r["kind"] == "Deployment" && r["name"] == "api"),
        "the workload is kept"
    );
    let last = &resources[MAX_RESOURCES - 1];
    let left_out = applied - (MAX_RESOURCES - 1);
    assert_eq!(last["kind"], "(omitted)");
    assert_eq!(last["name"], format!("{left_out} more objects"));
    assert_eq!(
        last["message"],
        format!("not listed, a record lists at most {MAX_RESOURCES} resources: {left_out} created")
    );
    runtime.block_on(server.stop()).unwrap();
}

/// GET through the crate's own host.
pub async fn get(base: &str, path: &str) -> serde_json::Value {
    let host = shiplog::http::HttpHost::public(base, None).unwrap();
    let server = shiplog_engine::kube::client::Kube::new(host, Default::default());
    server
        .json(&shiplog_engine::kube::request::Request::get(path.into()))
        .await
        .unwrap()
}

#[test]
fn an_unreachable_history_server_only_warns() {
    let sim = Sim::start(&[]);
    let started = Instant::now();
    let (code, _, stderr) = sim.deploy_with(
        &[
            "--manifests",
            FIXTURE,
            "--server-url",
            "http://127.0.0.1:9",
            "--server-token",
            TOKEN,
        ],
        &RUNNER,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "shiplog: warning: the deploy is not recorded in the history server: http://127.0.0.1:9"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn runs_outside_github_and_steps_of_one_job_are_records_of_their_own() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = history_server(&runtime, dir.path());
    let sim = Sim::start(&[]);
    let manifest = write(dir.path(), "api.yaml", API_DEPLOYMENT);
    let deploy = |env: &[(&str, &str)]| {
        let (code, stdout, stderr) = sim.deploy_with(
            &[
                "--manifests",
                &manifest,
                "--namespace",
                "prod",
                "--server-url",
                &server.base,
                "--server-token",
                TOKEN,
            ],
            env,
        );
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(!stderr.contains("warning"), "{stderr}");
    };
    // By hand, outside a workflow run: repository, commit and actor, but no run.
    let by_hand = [
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_SHA", "4f2a9c1e0b"),
        ("GITHUB_ACTOR", "alice"),
    ];
    deploy(&by_hand);
    deploy(&by_hand);
    // Two shiplog steps of one job of a workflow run.
    let step = |id: &'static str| {
        let mut env = RUNNER.to_vec();
        env.push(("GITHUB_ACTION", id));
        env
    };
    deploy(&step("deploy-api"));
    deploy(&step("deploy-api-again"));

    let records: Vec<serde_json::Value> = (1..=4)
        .map(|id| runtime.block_on(get(&server.base, &format!("/api/v1/deploys/{id}"))))
        .collect();
    for record in &records {
        assert_eq!(
            record["status"], "succeeded",
            "each run finished its own: {record}"
        );
    }
    let (first, second) = (&records[0]["run"], &records[1]["run"]);
    assert!(first["id"].as_i64().unwrap() > 0, "never run 0: {first}");
    assert_ne!(first["id"], second["id"], "a random run id per invocation");
    assert!(first.get("url").is_none(), "no run to link to: {first}");
    assert_eq!(records[2]["run"]["id"], 77);
    assert_eq!(records[2]["run"]["step"], "deploy-api");
    assert_eq!(records[3]["run"]["step"], "deploy-api-again");
    let deadline = |record: &serde_json::Value| -> chrono::DateTime<chrono::Utc> {
        record["deadline"].as_str().unwrap().parse().unwrap()
    };
    let started: chrono::DateTime<chrono::Utc> =
        records[0]["started_at"].as_str().unwrap().parse().unwrap();
    let declared = deadline(&records[0]) - started;
    assert!(
        (declared - chrono::Duration::minutes(15))
            .num_seconds()
            .abs()
            < 60,
        "the default 5 min timeout plus 10 min grace: {declared}"
    );
    runtime.block_on(server.stop()).unwrap();
}

/// Runs `git args` in `dir`, failing the test if git fails.
fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn outside_actions_the_deploy_is_recorded_from_the_git_checkout_and_flags_override() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = history_server(&runtime, dir.path());
    let sim = Sim::start(&[]);
    let checkout = dir.path().join("checkout");
    std::fs::create_dir(&checkout).unwrap();
    write(&checkout, "api.yaml", API_DEPLOYMENT);
    git(&checkout, &["init", "--quiet"]);
    git(&checkout, &["config", "user.name", "Jane Doe"]);
    git(&checkout, &["config", "user.email", "jane@example.com"]);
    git(
        &checkout,
        &["remote", "add", "origin", "git@github.com:acme/shop.git"],
    );
    git(&checkout, &["add", "api.yaml"]);
    git(&checkout, &["commit", "--quiet", "-m", "api v1"]);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&checkout)
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap().trim().to_owned();

    // `shiplog` as run from a laptop: in the checkout, no GITHUB_* variable.
    let deploy = |extra: &[&str]| {
        let kubeconfig = sim.kubeconfig();
        let mut args = vec![
            "deploy",
            "--kubeconfig",
            &kubeconfig,
            "--manifests",
            "api.yaml",
        ];
        args.extend_from_slice(&["--server-url", &server.base, "--server-token", TOKEN]);
        args.extend_from_slice(extra);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_shiplog"))
            .args(&args)
            .current_dir(&checkout)
            .env_remove("KUBECONFIG")
            .envs(
                std::env::vars()
                    .filter(|(n, _)| n.starts_with("GITHUB_"))
                    .map(|(n, _)| (n, "")),
            )
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        assert!(!stderr.contains("neither recorded"), "{stderr}");
    };
    deploy(&[]);
    let first = runtime.block_on(get(&server.base, "/api/v1/deploys/1"));
    assert_eq!(first["repo"], "acme/shop", "{first}");
    assert_eq!(first["commit"]["sha"], head.as_str());
    assert_eq!(
        first["commit"]["url"],
        format!("https://github.com/acme/shop/commit/{head}")
    );
    assert_eq!(first["actor"], "Jane Doe");

    deploy(&[
        "--repo", "acme/api", "--commit", "0123abc", "--actor", "ci-bot",
    ]);
    let second = runtime.block_on(get(&server.base, "/api/v1/deploys/2"));
    assert_eq!(
        (&second["repo"], &second["commit"]["sha"], &second["actor"]),
        (&"acme/api".into(), &"0123abc".into(), &"ci-bot".into()),
        "{second}"
    );
    assert_ne!(
        first["run"]["id"], second["run"]["id"],
        "each invocation is its own record"
    );
    runtime.block_on(server.stop()).unwrap();
}
