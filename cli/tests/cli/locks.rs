//! `shiplog lock` / `unlock` / `locks` against a real history server, and what a lock does to
//! `shiplog deploy`: held (exit 4, nothing written to the cluster, recorded `blocked`,
//! announced as held), overridden (deployed, recorded and audited as such), lifted; and a
//! server that cannot answer (fail-open with a warning, fail-closed with `--lock-check
//! required`).

use shiplog_testkit::slack::Standin;

use crate::record::{TOKEN, get, history_server};
use crate::support::{API_DEPLOYMENT, Deploys as _, RUNNER, Sim, shiplog, write, writes};

/// The runner's variables for run `run` (each run is its own record).
fn runner(run: &str) -> Vec<(&'static str, String)> {
    RUNNER
        .iter()
        .map(|(name, value)| {
            let value = if *name == "GITHUB_RUN_ID" { run } else { value };
            (*name, value.to_owned())
        })
        .collect()
}

fn deploy(sim: &Sim, manifests: &str, server: &str, run: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "--manifests",
        manifests,
        "--namespace",
        "prod",
        "--server-url",
        server,
        "--server-token",
        TOKEN,
    ];
    args.extend_from_slice(extra);
    let env = runner(run);
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (code, stdout, stderr) = sim.deploy_with(&args, &env);
    (code, format!("{stdout}{stderr}"))
}

#[test]
fn a_locked_environment_holds_the_deploy_until_it_is_unlocked() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = history_server(&runtime, dir.path());
    let slack = runtime.block_on(Standin::start("xoxb-unused"));
    let webhook = slack.webhook_url();
    let sim = Sim::start(&[]);
    let manifests = write(dir.path(), "api.yaml", API_DEPLOYMENT);
    let base = server.base.as_str();

    let (code, stdout, stderr) = shiplog(&[
        "lock",
        "prod",
        "--reason",
        "incident 4711",
        "--by",
        "@octocat",
        "--server-url",
        base,
        "--server-token",
        TOKEN,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "prod is locked: incident 4711\n");

    let (code, output) = deploy(
        &sim,
        &manifests,
        base,
        "101",
        &["--slack-webhook", &webhook],
    );
    assert_eq!(code, 4, "{output}");
    assert!(
        output.contains("prod is locked by @octocat since ") && output.contains(": incident 4711"),
        "{output}"
    );
    assert_eq!(writes(&sim), 0, "nothing was applied");
    let held = runtime.block_on(get(base, "/api/v1/deploys/1"));
    assert_eq!(held["status"], "blocked", "{held}");
    assert!(
        held["failure"]["reason"]
            .as_str()
            .unwrap()
            .contains("incident 4711")
    );
    let posts = slack.webhook_posts();
    assert_eq!(posts.len(), 1);
    let text = posts[0].to_string();
    assert!(
        text.contains("was held") && text.contains("Why it was held"),
        "{text}"
    );

    // A dry run changes nothing, so no lock holds it.
    let (code, output) = deploy(&sim, &manifests, base, "110", &["--dry-run"]);
    assert_eq!(code, 0, "{output}");
    assert!(!output.contains("locked"), "{output}");
    assert_eq!(writes(&sim), 0);

    // Deploying anyway: applied, and the record, Slack and the audit log say so.
    let (code, output) = deploy(
        &sim,
        &manifests,
        base,
        "102",
        &["--override-lock", "--slack-webhook", &webhook],
    );
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("deploying anyway (override-lock)"),
        "{output}"
    );
    assert!(writes(&sim) > 0);
    let overridden = runtime.block_on(get(base, "/api/v1/deploys/2"));
    assert_eq!(overridden["status"], "succeeded");
    assert!(
        overridden["lock_override"]
            .as_str()
            .unwrap()
            .contains("incident 4711")
    );
    assert!(
        slack.webhook_posts()[1]
            .to_string()
            .contains("Deployed despite a hold")
    );
    let locks = runtime.block_on(get(base, "/api/v1/locks"));
    assert_eq!(locks["events"][0]["action"], "overridden", "{locks}");
    assert_eq!(locks["events"][0]["deploy"], 2);

    let (code, stdout, _) = shiplog(&["locks", "--server-url", base]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("locked  prod  by @octocat since"),
        "{stdout}"
    );

    let (code, stdout, stderr) = shiplog(&[
        "unlock",
        "prod",
        "--by",
        "@octocat",
        "--server-url",
        base,
        "--server-token",
        TOKEN,
    ]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "prod is unlocked\n"),
        "{stderr}"
    );
    let (code, output) = deploy(&sim, &manifests, base, "103", &[]);
    assert_eq!(code, 0, "{output}");
    assert!(!output.contains("locked"), "{output}");
    let (code, _, stderr) = shiplog(&[
        "unlock",
        "prod",
        "--server-url",
        base,
        "--server-token",
        TOKEN,
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("prod is not locked"), "{stderr}");
    runtime.block_on(server.stop()).unwrap();
}

#[test]
fn a_server_that_cannot_answer_lets_the_deploy_go_unless_the_check_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&[]);
    let manifests = write(dir.path(), "api.yaml", API_DEPLOYMENT);
    // Nothing listens on port 1.
    let down = "http://127.0.0.1:1";
    let (code, output) = deploy(&sim, &manifests, down, "201", &["--lock-check", "required"]);
    assert_eq!(code, 4, "{output}");
    assert!(
        output.contains("lock-check is required; nothing was changed"),
        "{output}"
    );
    assert_eq!(writes(&sim), 0);

    let (code, output) = deploy(&sim, &manifests, down, "202", &[]);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("could not ask the history server whether prod is locked"),
        "{output}"
    );
    assert!(writes(&sim) > 0);
}

#[test]
fn a_lock_needs_a_reason_on_one_line_and_a_writer() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = history_server(&runtime, dir.path());
    let base = server.base.as_str();
    let (code, _, stderr) = shiplog(&[
        "lock",
        "prod",
        "--reason",
        "two\nlines",
        "--server-url",
        base,
        "--server-token",
        TOKEN,
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--reason: must be one line"), "{stderr}");
    let (code, _, stderr) = shiplog(&["lock", "prod", "--reason", "x", "--server-url", base]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("401") || stderr.contains("Bearer"),
        "{stderr}"
    );
    let locks = runtime.block_on(get(base, "/api/v1/locks"));
    assert_eq!(locks["locks"], serde_json::json!([]));
    runtime.block_on(server.stop()).unwrap();
}
