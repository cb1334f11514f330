//! What changes, before and after: `mode: plan` shows each object's change and touches
//! nothing, and a deploy keeps what it applied beside its record.

use serde_json::Value;

use crate::{APP, World};

#[test]
fn a_plan_shows_each_change_and_changes_records_and_announces_nothing() {
    let mut world = World::new(&[]);
    world.bot().manifests(APP);
    let first = world.main();
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let url = format!("{}/api/v1/deploys/1/manifests", world.server.base);
    let kept: Value = world
        .runtime
        .block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
    let objects: Vec<&str> = kept["objects"]
        .as_array()
        .unwrap_or_else(|| panic!("{kept}"))
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(objects, ["ConfigMap", "Deployment"], "{kept}");
    assert!(
        kept["objects"][1]["yaml"]
            .as_str()
            .unwrap()
            .contains("image: ghcr.io/acme/api:v1")
    );

    let (writes, messages) = (world.mutations().len(), world.slack.messages().len());
    world
        .runner
        .input("mode", "plan")
        .input("images", "ghcr.io/acme/api:v2");
    let plan = world.main();
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.summary.contains("### What would change"),
        "{}",
        plan.summary
    );
    assert!(
        plan.summary.contains("```diff\n--- live Deployment/api"),
        "{}",
        plan.summary
    );
    let changed: Vec<&str> = plan
        .summary
        .lines()
        .filter(|l| l.contains("image: ghcr.io/acme/api:"))
        .collect();
    assert!(
        changed.len() == 2 && changed[0].starts_with('-') && changed[1].starts_with('+'),
        "{changed:?}"
    );
    assert!(
        plan.stdout.contains("::group::What would change"),
        "{}",
        plan.stdout
    );
    assert_eq!(world.mutations().len(), writes, "a plan changes nothing");
    assert_eq!(
        world.slack.messages().len(),
        messages,
        "a plan announces nothing"
    );
    assert!(
        !plan.outputs.contains_key("deploy-id"),
        "a plan records nothing"
    );
    assert_eq!(world.deploy_record("2")["error"]["code"], "not_found");

    let post = world.post(&plan);
    assert_eq!(post.code, 0, "{}{}", post.stdout, post.stderr);
    assert_eq!(world.slack.messages().len(), messages);
}

/// A pull request's run: the event and its payload.
fn on_pull_request(world: &mut World, number: u64) {
    let event = world.runner.file(
        "pr-event.json",
        &serde_json::json!({"pull_request": {"number": number, "title": "Faster pages"}})
            .to_string(),
    );
    world
        .runner
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event);
}

/// A Secret whose value must never show.
fn with_secret(value: &str) -> String {
    format!(
        "{APP}---\napiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\nstringData: {{password: {value}}}\n"
    )
}

#[test]
fn on_a_pull_request_the_plan_is_one_comment_updated_on_every_push() {
    let mut world = World::new(&[]);
    world.manifests(&with_secret("first-s3cret-value"));
    assert_eq!(world.main().code, 0);
    world.manifests(&with_secret("second-s3cret-value"));
    on_pull_request(&mut world, 42);
    world.runner.input("mode", "plan");
    for (push, image) in [(1, "ghcr.io/acme/api:v2"), (2, "ghcr.io/acme/api:v3")] {
        world.runner.input("images", image);
        let plan = world.main();
        assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
        let comments = world.github.comments();
        assert_eq!(comments.len(), 1, "push {push}: one comment: {comments:?}");
        let comment = &comments[0];
        assert_eq!(
            (comment.repo.as_str(), comment.number),
            (crate::runner::REPO, 42)
        );
        assert_eq!(comment.edits, push - 1, "updated in place");
        assert!(
            comment.body.starts_with("<!-- shiplog plan: prod -->\n"),
            "{}",
            comment.body
        );
        assert!(
            comment
                .body
                .lines()
                .any(|l| l.starts_with('+') && l.ends_with(image)),
            "{}",
            comment.body
        );
        assert!(
            comment.body.contains("password: (value changed)"),
            "{}",
            comment.body
        );
        for value in ["first-s3cret-value", "second-s3cret-value"] {
            assert!(!comment.body.contains(value) && !plan.shown().contains(value));
            assert!(!plan.summary.contains(value));
        }
    }

    // Without `pull-requests: write`: a warning, and the plan still passes.
    world.github.deny_comments();
    let plan = world.main();
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("the github-token needs the `pull-requests: write` permission"),
        "{}",
        plan.stdout
    );
}

#[test]
fn a_plan_longer_than_a_comment_is_cut_with_a_link_to_the_summary() {
    let mut world = World::new(&[]);
    let config_maps = |value: &str| {
        (0..8)
            .map(|i| {
                let data: String = (0..600).map(|k| format!("  key{k:04}: {value}-{k}\n")).collect();
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings-{i}}}\ndata:\n{data}")
            })
            .collect::<Vec<_>>()
            .join("---\n")
    };
    world.manifests(&config_maps("old"));
    assert_eq!(world.main().code, 0);
    world.manifests(&config_maps("new"));
    on_pull_request(&mut world, 7);
    world.runner.input("mode", "plan");
    let plan = world.main();
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.summary.chars().count() > 65_536,
        "the summary holds it whole"
    );
    let comments = world.github.comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    let body = &comments[0].body;
    assert!(body.chars().count() <= 65_536, "{}", body.chars().count());
    assert!(
        body.ends_with(&format!(
            "[job summary](https://github.com/{}/actions/runs/{}/attempts/1).\n",
            crate::runner::REPO,
            crate::runner::RUN_ID
        )),
        "{}",
        &body[body.len() - 300..]
    );
}

#[test]
fn redeploy_deploys_an_earlier_deploy_again_from_the_history_server() {
    let mut world = World::new(&[]);
    world.manifests(&with_secret("kept-s3cret"));
    // Each run its own record: another attempt of the run each time.
    for (attempt, image) in [("1", "ghcr.io/acme/api:v1"), ("2", "ghcr.io/acme/api:v2")] {
        world
            .runner
            .env("GITHUB_RUN_ATTEMPT", attempt)
            .input("images", image);
        let main = world.main();
        assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    }
    world
        .runner
        .env("GITHUB_RUN_ATTEMPT", "3")
        .input("manifests", "")
        .input("images", "")
        .input("redeploy", "1");
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert!(
        main.stdout.contains("redeploying what deploy 1 applied"),
        "{}",
        main.stdout
    );
    assert!(
        main.stdout
            .contains("Secret/db in prod is left as it is in the cluster"),
        "{}",
        main.stdout
    );
    let record = world.deploy_record("3");
    assert_eq!(record["restores"], 1, "{record}");
    assert_eq!(record["images"][0], "ghcr.io/acme/api:v1");
    let live = world
        .sim
        .get("/apis/apps/v1/namespaces/prod/deployments/api");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/api:v1"
    );
    assert!(!main.shown().contains("kept-s3cret"));

    world.runner.input("redeploy", "one");
    let main = world.main();
    assert_eq!(main.code, 1);
    assert!(
        main.stdout
            .contains("input `redeploy`: \"one\" is not a deploy id"),
        "{}",
        main.stdout
    );
}
