//! A locked environment holds the Action's deploy: the step fails, nothing reaches the
//! cluster, Slack hears it was held and the record says `blocked`; `override-lock` deploys
//! anyway and says so; `lock-check: required` holds the deploy when the server cannot answer.

use chrono::Utc;
use shiplog_server::store::Actor;

use crate::runner::REPO;
use crate::{APP, World, oidc_world};

/// A lock reason written to look like workflow commands.
const REASON: &str = "incident 4711 ::warning::pwned ##[error]also pwned";

fn lock(world: &World, environment: &str) {
    let actor = Actor {
        by: "@octocat",
        via: "test",
    };
    world
        .runtime
        .block_on(
            world
                .server
                .state
                .store
                .lock(environment, None, REASON, &actor, Utc::now()),
        )
        .unwrap();
}

fn words(message: &shiplog_testkit::slack::Stored) -> String {
    format!("{:?} {}", message.text, message.blocks)
}

#[test]
fn a_locked_environment_holds_the_deploy_and_an_override_deploys_and_says_so() {
    let mut world = World::new(&[]);
    world.bot().manifests(APP);
    lock(&world, "prod");
    let held = world.main();
    assert_eq!(held.code, 1, "{}{}", held.stdout, held.stderr);
    assert!(
        held.stdout.contains("prod is locked by @octocat since "),
        "{}",
        held.stdout
    );
    assert!(
        held.stdout
            .lines()
            .all(|line| !line.starts_with("::warning::pwned") && !line.starts_with("##[error]")),
        "the lock's reason is data: {}",
        held.stdout
    );
    assert_eq!(world.mutations(), Vec::<serde_json::Value>::new());
    assert!(
        world
            .github
            .requests()
            .iter()
            .all(|r| !r.path.contains("/deployments")),
        "a held deploy deployed nothing: it is no GitHub deployment"
    );
    assert_eq!(held.outputs["status"], "blocked");
    assert!(
        held.summary.contains("⛔ held: nothing was deployed"),
        "{}",
        held.summary
    );
    let record = world.deploy_record("1");
    assert_eq!(record["status"], "blocked", "{record}");
    let messages = world.slack.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let said = words(&messages[0]);
    assert!(
        said.contains("was held") && said.contains("incident 4711"),
        "{said}"
    );
    // A held deploy is not "cancelled" by the post step: its record is complete.
    let post = world.post(&held);
    assert_eq!(post.code, 0, "{}{}", post.stdout, post.stderr);
    assert_eq!(world.deploy_record("1")["status"], "blocked");

    world
        .runner
        .env("GITHUB_ACTION", "deploy-again")
        .input("override-lock", "true");
    let overridden = world.main();
    assert_eq!(
        overridden.code, 0,
        "{}{}",
        overridden.stdout, overridden.stderr
    );
    assert!(
        overridden
            .stdout
            .contains("deploying anyway (override-lock)")
    );
    assert!(!world.mutations().is_empty());
    assert!(
        overridden.summary.contains("Deployed despite:"),
        "{}",
        overridden.summary
    );
    let record = world.deploy_record("2");
    assert_eq!(record["status"], "succeeded", "{record}");
    assert!(
        record["lock_override"]
            .as_str()
            .unwrap()
            .contains("incident 4711")
    );
    let said = words(&world.slack.messages()[1]);
    assert!(said.contains("Deployed despite a hold"), "{said}");
}

#[test]
fn the_jobs_oidc_token_asks_and_a_server_that_cannot_answer_holds_only_when_required() {
    let mut world = oidc_world();
    world
        .github
        .issue_id_tokens(REPO, "runtime-id-token-request-7c2d");
    world.manifests(APP);
    lock(&world, "prod");
    let held = world.main();
    assert_eq!(held.code, 1, "{}{}", held.stdout, held.stderr);
    assert_eq!(world.deploy_record("1")["status"], "blocked");
    assert!(world.mutations().is_empty());

    world
        .runner
        .env("GITHUB_ACTION", "to-nowhere")
        .input("server-url", "http://127.0.0.1:1")
        .input("lock-check", "required");
    let required = world.main();
    assert_eq!(required.code, 1, "{}{}", required.stdout, required.stderr);
    assert!(
        required
            .stdout
            .contains("lock-check is required; nothing was changed"),
        "{}",
        required.stdout
    );
    assert!(world.mutations().is_empty());

    world.runner.input("lock-check", "optional");
    let open = world.main();
    assert_eq!(open.code, 0, "{}{}", open.stdout, open.stderr);
    assert!(
        open.stdout
            .contains("::warning::could not ask the history server"),
        "{}",
        open.stdout
    );
    assert!(!world.mutations().is_empty());
}
