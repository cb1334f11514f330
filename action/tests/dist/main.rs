//! The built Action (`action/dist`) run by `node` exactly as a runner runs it, against kubesim
//! over HTTPS, the Slack stand-in, the GitHub API stand-in and a real history server: outputs,
//! summary, annotations, Slack messages updated in place and threaded, failure alerts for the
//! whole job from the post step, GitHub deployments, and no secret anywhere a person or log
//! could see it.

mod failures;
mod github_deployments;
mod hostile;
mod locks;
mod plan;
mod runner;

use std::collections::HashMap;

use runner::{REPO, RUN_ID, RUNNER_NAME, Runner, Step};
use serde_json::Value;
use shiplog_server::auth::oidc::{Oidc, OidcConfig};
use shiplog_server::auth::scope::RepoScope;
use shiplog_server::auth::{Auth, Tokens};
use shiplog_server::local::LocalServer;
use shiplog_server::store::Store;
use shiplog_testkit::github::{GithubStandin, job};
use shiplog_testkit::kubesim::Sim;
use shiplog_testkit::slack::{self as slack_standin, Fault, Standin};

const SLACK_TOKEN: &str = "xoxb-dist-test-token-51c2";
const GITHUB_TOKEN: &str = "ghs_distTestToken9f8e7d6c";
const SERVER_TOKEN: &str = "history-write-token-3b1a";
const ID_TOKEN_REQUEST_TOKEN: &str = "runtime-id-token-request-7c2d";

const APP: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: api-settings
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: ghcr.io/acme/api:v1
        envFrom: [{configMapRef: {name: api-settings}}]
"#;

/// Everything a job talks to, and the runner it runs on.
struct World {
    runtime: tokio::runtime::Runtime,
    sim: Sim,
    slack: Standin,
    github: GithubStandin,
    server: LocalServer,
    runner: Runner,
    _database: tempfile::TempDir,
}

/// The steps of this job as GitHub lists them while shiplog's step runs.
fn steps<'a>(earlier: &[(&'a str, Option<&'a str>)]) -> Vec<(&'a str, &'a str, Option<&'a str>)> {
    let mut steps = vec![("Set up job", "completed", Some("success"))];
    steps.extend(earlier.iter().map(|(name, c)| (*name, "completed", *c)));
    steps.push(("Run shiplog", "in_progress", None));
    steps
}

/// The history server's credentials in most worlds: the one write token.
fn token_auth(_: &GithubStandin, _: &str) -> Auth {
    Auth::from(Tokens {
        write: vec![SERVER_TOKEN.into()],
        read: None,
    })
}

impl World {
    fn new(kubesim_flags: &[&str]) -> World {
        World::on(Sim::start(kubesim_flags), token_auth)
    }

    /// A world whose cluster is `sim` and whose history server accepts the credentials `auth`
    /// makes from the GitHub stand-in and the server's base URL.
    fn on(sim: Sim, auth: impl FnOnce(&GithubStandin, &str) -> Auth) -> World {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let database = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", database.path().join("history.db").display());
        let (slack, github, server) = runtime.block_on(async {
            let store = Store::open(&url).await.unwrap();
            let slack = Standin::start(SLACK_TOKEN).await;
            let github = GithubStandin::start(GITHUB_TOKEN).await;
            let server = LocalServer::start_with(store, |base| auth(&github, base))
                .await
                .unwrap();
            (slack, github, server)
        });
        let mut runner = Runner::new();
        runner
            .env("KUBECONFIG", &sim.kubeconfig())
            .env("GITHUB_API_URL", &github.base)
            .env("SHIPLOG_SLACK_API_URL", &slack.api_url())
            .input("github-token", GITHUB_TOKEN)
            .input("server-url", &server.base)
            .input("server-token", SERVER_TOKEN)
            .input("namespace", "prod");
        let world = World {
            runtime,
            sim,
            slack,
            github,
            server,
            runner,
            _database: database,
        };
        world.job_steps(&[("Run actions/checkout@v4", Some("success"))]);
        world
    }

    /// What GitHub's jobs API answers for this run.
    fn job_steps(&self, earlier: &[(&str, Option<&str>)]) {
        let this = job(
            41,
            "deploy",
            "in_progress",
            Some(RUNNER_NAME),
            &steps(earlier),
        );
        self.github.serve_jobs(REPO, RUN_ID, 1, vec![this]);
    }

    fn bot(&mut self) -> &mut Self {
        self.runner
            .input("slack-token", SLACK_TOKEN)
            .input("slack-channel", "#deploys");
        self
    }

    fn manifests(&mut self, content: &str) -> &mut Self {
        let path = self.runner.file("k8s/app.yaml", content);
        self.runner.input("manifests", &path);
        self
    }

    fn main(&self) -> Step {
        self.runner.run("main.cjs", &HashMap::new())
    }

    /// Runs the main step in bot mode, deploying [`APP`] with `image` within `timeout`; the
    /// step fails.
    fn failing_deploy(&mut self, image: &str, timeout: &str) -> Step {
        self.bot()
            .manifests(APP)
            .runner
            .input("images", image)
            .input("timeout", timeout);
        let main = self.main();
        assert_eq!(main.code, 1, "{}{}", main.stdout, main.stderr);
        main
    }

    fn post(&self, main: &Step) -> Step {
        self.runner.run("post.cjs", &main.state)
    }

    /// Runs the post step with `state`; it succeeds (a post step never fails the job) and its
    /// log says `says`.
    fn post_saying(&self, state: &HashMap<String, String>, says: &str) -> Step {
        let post = self.runner.run("post.cjs", state);
        assert_eq!(post.code, 0, "{}{}", post.stdout, post.stderr);
        assert!(post.stdout.contains(says), "{says:?} in {}", post.stdout);
        post
    }

    fn deploy_record(&self, id: &str) -> Value {
        let url = format!("{}/api/v1/deploys/{id}", self.server.base);
        self.runtime
            .block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
    }

    /// Waits until the deploy watches `resource` (a watch request reached the cluster); fails
    /// after 20 s. kubesim tells of requests only through its request log, which is read
    /// again every 20 ms.
    fn wait_for_watch(&self, resource: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            let watching = self.sim.requests().iter().any(|r| {
                r["path"].as_str().is_some_and(|p| p.ends_with(resource))
                    && r["query"]
                        .as_str()
                        .is_some_and(|q| q.contains("watch=true"))
            });
            if watching {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("no watch of {resource}: {:?}", self.sim.requests());
    }

    /// Requests that changed something in the cluster.
    fn mutations(&self) -> Vec<Value> {
        self.sim
            .requests()
            .into_iter()
            .filter(|r| {
                let method = r["method"].as_str().unwrap_or_default();
                let dry_run = r["query"].as_str().unwrap_or_default().contains("dryRun");
                !matches!(method, "GET" | "HEAD") && !dry_run
            })
            .collect()
    }
}

#[test]
fn a_deploy_in_bot_mode_updates_its_message_in_place_and_is_recorded() {
    let mut world = World::new(&[]);
    world
        .bot()
        .manifests(APP)
        .runner
        .input("images", "ghcr.io/acme/api:v2");
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);

    assert_eq!(main.outputs["status"], "succeeded");
    assert_eq!(main.outputs["deploy-id"], "1");
    let deploy_url = format!("{}/deploys/1", world.server.base);
    assert_eq!(main.outputs["deploy-url"], deploy_url);
    let resources: Vec<Value> = serde_json::from_str(&main.outputs["resources"]).unwrap();
    assert_eq!(resources.len(), 2, "{resources:?}");
    assert!(resources.iter().all(|r| r["action"] == "created"));

    let messages = world.slack.messages();
    assert_eq!(
        messages.len(),
        1,
        "one message, updated in place: {messages:?}"
    );
    let message = &messages[0];
    assert_eq!(message.edits, 1, "the deploying message was updated once");
    let text = message.text.as_deref().unwrap_or_default();
    assert!(text.contains("deployed"), "{text}");
    assert_eq!(main.outputs["slack-ts"], message.ts);

    let record = world.deploy_record("1");
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(record["slack"]["ts"], message.ts.as_str());
    assert!(
        record["slack"]["permalink"]
            .as_str()
            .is_some_and(|p| p.starts_with("http")),
        "{record}"
    );
    assert_eq!(record["commit"]["message"], runner::COMMIT_MESSAGE);
    assert_eq!(record["images"][0], "ghcr.io/acme/api:v2");

    assert!(main.summary.contains("Deployment"), "{}", main.summary);
    assert!(main.summary.contains(&deploy_url), "{}", main.summary);
    assert!(main.stdout.contains("::group::"), "{}", main.stdout);
    main.assert_secrets_hidden(&[SLACK_TOKEN, GITHUB_TOKEN, SERVER_TOKEN, &world.sim.token()]);

    let post = world.post(&main);
    assert_eq!(post.code, 0, "{}{}", post.stdout, post.stderr);
    assert_eq!(world.slack.messages().len(), 1, "nothing failed: no alert");
    assert_eq!(
        world.deploy_record("1"),
        record,
        "the post step leaves a finished record alone"
    );

    // Had the main step died between recording the end and saving its status, the post step
    // would find the record finished: the server refuses, nothing changes.
    let mut lost = main.state.clone();
    lost.remove("status");
    world.post_saying(&lost, "deploy 1 had already ended");
    assert_eq!(world.deploy_record("1"), record);
}

/// A cluster whose every rollout step takes ten minutes, in real time: a deploy is still
/// watching when the job is cancelled.
fn slow_cluster() -> Sim {
    Sim::start_paced(&["--rollout-ms", "600000", "--time-scale", "1"], &[])
}

/// Runs the main step until it watches the rollout, then kills it as a cancelled job's runner
/// does; the state it saved, which names the open deploy 1.
fn kill_mid_rollout(world: &mut World) -> HashMap<String, String> {
    world
        .manifests(APP)
        .runner
        .input("images", "ghcr.io/acme/api:v2")
        .input("timeout", "10m");
    let mut main = world.runner.start("main.cjs");
    main.read_until("deploying 2 objects");
    world.wait_for_watch("deployments");
    let state = main.kill();
    assert_eq!(
        state.get("deploy-id").map(String::as_str),
        Some("1"),
        "{state:?}"
    );
    state
}

#[test]
fn a_deploy_step_killed_mid_rollout_is_recorded_as_cancelled_by_the_post_step() {
    let mut world = World::on(slow_cluster(), token_auth);
    let state = kill_mid_rollout(&mut world);
    assert_eq!(state.get("server-url"), Some(&world.server.base));
    assert!(!state.contains_key("status"), "the step never reported");

    let open = world.deploy_record("1");
    assert_eq!(open["status"], "in_progress", "{open}");
    let time = |field: &str| -> chrono::DateTime<chrono::Utc> {
        open[field].as_str().unwrap().parse().unwrap()
    };
    let declared = time("deadline") - time("started_at");
    assert!(
        (declared - chrono::Duration::minutes(20))
            .num_seconds()
            .abs()
            < 60,
        "the deadline is the 10 min timeout plus 10 min grace: {declared}"
    );

    // The runner runs the post step of a cancelled job with the state the main step saved.
    let post = world.post_saying(&state, "deploy 1 is recorded as cancelled");
    post.assert_secrets_hidden(&[SERVER_TOKEN]);
    let record = world.deploy_record("1");
    assert_eq!(record["status"], "cancelled", "{record}");
    assert!(record["finished_at"].is_string(), "{record}");
    assert!(
        record["failure"]["reason"]
            .as_str()
            .unwrap()
            .contains("the job was cancelled"),
        "{record}"
    );

    // Run again (a re-run of the post step), it changes nothing.
    world.post_saying(&state, "had already ended");
    assert_eq!(world.deploy_record("1"), record);
}

#[test]
fn a_webhook_gets_one_message_when_the_deploy_ends_from_an_inline_kubeconfig() {
    let mut world = World::new(&[]);
    let kubeconfig = std::fs::read_to_string(world.sim.kubeconfig()).unwrap();
    let webhook = world.slack.webhook_url();
    world
        .manifests(APP)
        .runner
        .env("KUBECONFIG", "")
        .input("kubeconfig", &kubeconfig)
        .input("slack-webhook", &webhook);
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    let posts = world.slack.webhook_posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0]["text"].as_str().unwrap().contains("deployed"));
    assert!(
        !main.outputs.contains_key("slack-ts"),
        "a webhook message has no ts"
    );
    let secret_path = slack_standin::WEBHOOK_PATH;
    assert!(!main.shown().contains(secret_path), "{}", main.shown());
    for line in kubeconfig.lines().filter(|l| l.contains("token")) {
        let token = line.split_once(':').unwrap().1.trim().trim_matches('"');
        main.assert_secrets_hidden(&[token]);
    }
}

#[test]
fn a_failing_rollout_fails_the_step_and_slack_says_why_with_details_in_a_thread() {
    let mut world = World::new(&["--image-rule", "*:broken=ImagePullBackOff"]);
    let main = world.failing_deploy("ghcr.io/acme/api:broken", "20s");
    let error = main
        .stdout
        .lines()
        .find(|l| l.starts_with("::error"))
        .expect("an error annotation");
    assert!(error.contains("ImagePullBackOff"), "{error}");
    assert_eq!(main.outputs["status"], "failed");

    let messages = world.slack.messages();
    let parent = messages.iter().find(|m| m.thread_ts.is_none()).unwrap();
    let text = parent.text.as_deref().unwrap_or_default();
    assert!(
        text.contains("failed") && text.contains("ImagePullBackOff"),
        "{text}"
    );
    let replies: Vec<_> = messages
        .iter()
        .filter(|m| m.thread_ts.as_deref() == Some(parent.ts.as_str()))
        .collect();
    assert_eq!(replies.len(), 1, "{messages:?}");
    assert!(
        main.summary.contains("ImagePullBackOff"),
        "{}",
        main.summary
    );

    // The post step does not repeat the deploy's own failure.
    world.job_steps(&[("Run actions/checkout@v4", Some("success"))]);
    let post = world.post(&main);
    assert_eq!(post.code, 0);
    assert_eq!(
        world.slack.messages().len(),
        2,
        "{:?}",
        world.slack.messages()
    );
}

#[test]
fn an_invalid_manifest_is_annotated_with_file_and_line_and_nothing_is_applied() {
    let mut world = World::new(&[]);
    let broken = format!("{APP}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web.front\n");
    world.manifests(&broken);
    let main = world.main();
    assert_eq!(main.code, 1, "{}{}", main.stdout, main.stderr);
    let annotation = main
        .stdout
        .lines()
        .find(|l| l.starts_with("::error title=Invalid manifest"))
        .unwrap_or_else(|| panic!("{}", main.stdout));
    assert!(annotation.contains("file="), "{annotation}");
    assert!(annotation.contains("k8s/app.yaml"), "{annotation}");
    assert!(annotation.contains("line=25"), "{annotation}");
    assert!(world.mutations().is_empty(), "{:?}", world.mutations());
    assert_eq!(world.deploy_record("1")["status"], "failed");
}

#[test]
fn slack_rate_limiting_delays_the_message_and_slack_down_only_warns() {
    let mut world = World::new(&[]);
    let webhook = world.slack.webhook_url();
    world.manifests(APP).runner.input("slack-webhook", &webhook);
    world.slack.fail_next(2, Fault::RateLimit(1));
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert_eq!(world.slack.webhook_posts().len(), 1);

    world.runner.input(
        "slack-webhook",
        "http://127.0.0.1:9/services/T0/B0/unreachable-secret",
    );
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert_eq!(main.outputs["status"], "succeeded");
    let warning = main
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning") && l.contains("Slack"))
        .unwrap_or_else(|| panic!("{}", main.stdout));
    assert!(!warning.contains("unreachable-secret"), "{warning}");
}

#[test]
fn the_post_step_alerts_slack_naming_a_failed_earlier_step_and_nothing_is_deployed() {
    let mut world = World::new(&[]);
    world.bot().manifests(APP);
    world.job_steps(&[
        ("Run actions/checkout@v4", Some("success")),
        ("Run tests", Some("failure")),
    ]);
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert!(main.stdout.contains("Run tests"), "{}", main.stdout);
    assert!(
        world.mutations().is_empty(),
        "no deploy after a failed step"
    );

    let post = world.post(&main);
    assert_eq!(post.code, 0, "{}{}", post.stdout, post.stderr);
    let messages = world.slack.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let alert = serde_json::to_string(&messages[0].blocks).unwrap();
    assert!(alert.contains("Run tests"), "{alert}");
    assert!(
        alert.contains("/job/41#step:3:1"),
        "a link to the step's log: {alert}"
    );
    post.assert_secrets_hidden(&[SLACK_TOKEN, GITHUB_TOKEN]);
}

#[test]
fn notify_mode_deploys_nothing_and_alerts_on_a_step_failing_after_it() {
    let mut world = World::new(&[]);
    let webhook = world.slack.webhook_url();
    world
        .runner
        .input("mode", "notify")
        .input("slack-webhook", &webhook);
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert!(
        world.sim.requests().is_empty(),
        "notify mode never calls the cluster"
    );

    // A later step fails; the post step runs at the end of the job.
    world.job_steps(&[
        ("Run shiplog (notify)", Some("success")),
        ("Run cargo build", Some("failure")),
    ]);
    let post = world.post(&main);
    assert_eq!(post.code, 0, "{}{}", post.stdout, post.stderr);
    let posts = world.slack.webhook_posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(
        posts[0]["text"]
            .as_str()
            .unwrap()
            .contains("Run cargo build")
    );
}

#[test]
fn invalid_inputs_fail_the_step_naming_the_input() {
    let mut world = World::new(&[]);
    world.manifests(APP).runner.input("dry-run", "yes");
    let main = world.main();
    assert_eq!(main.code, 1);
    assert!(
        main.stdout
            .contains("::error::input `dry-run`: \"yes\" is not a boolean"),
        "{}",
        main.stdout
    );
    assert!(world.sim.requests().is_empty());
}

#[test]
fn client_certificates_and_credential_plugins_reach_the_cluster_through_node() {
    let mut world = World::new(&[]);
    world.manifests(APP);
    let cert_kubeconfig = world.sim.cert_kubeconfig();
    world.runner.env("KUBECONFIG", &cert_kubeconfig);
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    let kubeconfig = std::fs::read_to_string(&cert_kubeconfig).unwrap();
    let key = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("client-key-data:"))
        .unwrap()
        .trim()
        .trim_matches('"');
    assert!(!main.shown().contains(key));
    let key_pem = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, key).unwrap(),
    )
    .unwrap();
    let key_body = key_pem.lines().find(|l| !l.starts_with("-----")).unwrap();
    main.assert_secrets_hidden(&[key_body]);

    #[cfg(unix)]
    {
        let exec_kubeconfig = world.sim.exec_kubeconfig();
        world.runner.env("KUBECONFIG", &exec_kubeconfig);
        world
            .runner
            .env("ACTIONS_RUNTIME_TOKEN", "runtime-token-not-for-plugins");
        world
            .runner
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "id-token-not-for-plugins");
        world.runner.env("PLUGIN_MAY_SEE", "yes");
        let main = world.main();
        assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
        main.assert_secrets_hidden(&[&world.sim.token()]);
        // A plugin gets the environment kubectl would give it, minus the Action's secrets.
        let seen = world.sim.plugin_environment();
        assert!(seen.iter().any(|name| name == "PLUGIN_MAY_SEE"), "{seen:?}");
        assert!(
            !seen.iter().any(|name| name.starts_with("INPUT_")
                || name == "ACTIONS_RUNTIME_TOKEN"
                || name.starts_with("ACTIONS_ID_TOKEN_REQUEST_")),
            "{seen:?}"
        );
    }
}

#[test]
fn imported_and_run_in_process_the_step_ends_and_node_exits_by_itself() {
    let mut world = World::new(&[]);
    world.manifests(APP);
    // `output()` returns only once node has exited: a kept-alive connection would hang here.
    let main = world.runner.run_imported("run-main.mjs");
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert_eq!(main.outputs["status"], "succeeded");
    let post = world.runner.run_imported("run-post.mjs");
    assert_eq!(post.code, 0, "{}{}", post.stdout, post.stderr);
}

#[test]
fn an_unusable_client_key_fails_the_step_naming_it_without_showing_it() {
    let mut world = World::new(&[]);
    world.manifests(APP);
    let kubeconfig = std::fs::read_to_string(world.sim.cert_kubeconfig()).unwrap();
    let key_body = "Tm90QUtleUJ1dEFTZWNyZXQ";
    let unusable = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("-----BEGIN PRIVATE KEY-----\n{key_body}\n-----END PRIVATE KEY-----\n"),
    );
    let kubeconfig: String = kubeconfig
        .lines()
        .map(|line| match line.split_once("client-key-data:") {
            Some((indent, _)) => format!("{indent}client-key-data: {unusable}\n"),
            None => format!("{line}\n"),
        })
        .collect();
    world.runner.input("kubeconfig", &kubeconfig);
    let main = world.main();
    assert_eq!(main.code, 1, "{}{}", main.stdout, main.stderr);
    assert!(
        main.stdout
            .contains("its CA, client certificate or key is unusable"),
        "{}",
        main.stdout
    );
    assert!(world.sim.requests().is_empty());
    main.assert_secrets_hidden(&[key_body]);
}

/// A server that takes GitHub Actions OIDC tokens from `acme/*` repositories, issued by the
/// GitHub stand-in's issuer; the job may ask the runner for an ID token.
fn oidc_world() -> World {
    oidc_world_on(Sim::start(&[]))
}

/// [`oidc_world`] on the cluster `sim`.
fn oidc_world_on(sim: Sim) -> World {
    let mut world = World::on(sim, |github, base| {
        let oidc = Oidc::new(OidcConfig {
            issuer: github.base.clone(),
            audience: base.to_owned(),
            allow: RepoScope::parse(["acme/*"]).unwrap(),
            min_refresh: std::time::Duration::from_secs(60),
        })
        .unwrap();
        Auth::from(Tokens::default()).with_oidc(oidc)
    });
    let request_url = world.github.id_token_request_url();
    world
        .runner
        .input("server-token", "")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ID_TOKEN_REQUEST_TOKEN);
    world
}

#[test]
fn without_a_server_token_the_deploy_is_recorded_with_the_jobs_oidc_token() {
    let mut world = oidc_world();
    world.github.issue_id_tokens(REPO, ID_TOKEN_REQUEST_TOKEN);
    world.manifests(APP);
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert_eq!(main.outputs["deploy-id"], "1", "{}", main.stdout);
    let record = world.deploy_record("1");
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(record["repo"], REPO);

    // One ID token, asked for with the runner's request token and the server as audience.
    let asked: Vec<_> = world
        .github
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/_apis/idtoken"))
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let audience = shiplog_engine::kube::request::encode(&world.server.base);
    assert!(
        asked[0].path.ends_with(&format!("&audience={audience}")),
        "{}",
        asked[0].path
    );
    assert_eq!(
        asked[0].authorization.as_deref(),
        Some(format!("Bearer {ID_TOKEN_REQUEST_TOKEN}").as_str())
    );
    let issued = world.github.issued_id_tokens();
    assert_eq!(issued.len(), 1);
    main.assert_secrets_hidden(&[&issued[0], ID_TOKEN_REQUEST_TOKEN, GITHUB_TOKEN]);
}

#[test]
fn a_job_of_a_repository_the_server_does_not_allow_deploys_but_is_not_recorded() {
    let mut world = oidc_world();
    world
        .github
        .issue_id_tokens("evil/shop", ID_TOKEN_REQUEST_TOKEN);
    world.manifests(APP);
    let main = world.main();
    assert_eq!(main.code, 0, "the history server never changes the outcome");
    assert!(
        main.stdout
            .contains("the OIDC token is from evil/shop, and this server lets only acme/* write"),
        "{}",
        main.stdout
    );
    let count = world
        .runtime
        .block_on(world.server.state.store.count())
        .unwrap();
    assert_eq!(count, 0, "nothing was recorded");
    let issued = world.github.issued_id_tokens();
    main.assert_secrets_hidden(&[&issued[0], ID_TOKEN_REQUEST_TOKEN]);
}

#[test]
fn with_the_jobs_oidc_token_the_post_step_records_a_killed_deploy_as_cancelled() {
    let mut world = oidc_world_on(slow_cluster());
    world.github.issue_id_tokens(REPO, ID_TOKEN_REQUEST_TOKEN);
    let state = kill_mid_rollout(&mut world);
    assert_eq!(world.deploy_record("1")["status"], "in_progress");

    let post = world.post_saying(&state, "deploy 1 is recorded as cancelled");
    assert_eq!(world.deploy_record("1")["status"], "cancelled");
    // The main step and the post step each asked for a token of their own.
    let issued = world.github.issued_id_tokens();
    assert_eq!(issued.len(), 2, "{issued:?}");
    post.assert_secrets_hidden(&[&issued[1], ID_TOKEN_REQUEST_TOKEN]);
}

#[test]
fn a_refused_id_token_request_only_warns() {
    let mut world = oidc_world();
    world
        .github
        .issue_id_tokens(REPO, "another-request-token-9d8c");
    world.manifests(APP);
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert!(
        main.stdout.contains("no OIDC token for the history server"),
        "{}",
        main.stdout
    );
    assert!(world.github.issued_id_tokens().is_empty());
    main.assert_secrets_hidden(&[ID_TOKEN_REQUEST_TOKEN]);
}
