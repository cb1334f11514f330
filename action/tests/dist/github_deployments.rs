//! Each deploy as a GitHub deployment of its environment, against the GitHub stand-in, which
//! holds the Action to the API's rules: in progress then success with links to the run and the
//! environment, the shiplog record's id in its payload and the deployment's link in the record;
//! a failed rollout a failure saying why in at most 140 characters; an invalid deploy an error;
//! a later success marking the earlier deployment inactive, and so does the post step of a
//! job cancelled mid-deploy; a token without `deployments: write` one warning and a deploy
//! that goes on.

use shiplog_testkit::github::Deployment;

use crate::runner::{REPO, SHA, Step};
use crate::{APP, World};

const LOG_URL: &str = "https://github.com/acme/shop/actions/runs/7/attempts/1";
const ENVIRONMENT_URL: &str = "https://shop.acme.dev";

fn warnings(step: &Step) -> Vec<&str> {
    step.stdout
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .collect()
}

fn only(deployments: &[Deployment]) -> &Deployment {
    assert_eq!(deployments.len(), 1, "{deployments:#?}");
    &deployments[0]
}

#[test]
fn a_successful_deploy_is_a_deployment_in_progress_then_successful_and_the_record_links_it() {
    let mut world = World::new(&[]);
    world
        .manifests(APP)
        .runner
        .input("environment-url", ENVIRONMENT_URL);
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert!(warnings(&main).is_empty(), "{}", main.stdout);

    let deployments = world.github.deployments();
    let deployment = only(&deployments);
    assert_eq!(deployment.repo, REPO);
    assert_eq!(deployment.environment, "prod");
    assert_eq!(deployment.git_ref, SHA, "the commit deployed, exactly");
    assert!(!deployment.auto_merge);
    assert_eq!(deployment.required_contexts, Some(Vec::new()));
    assert_eq!(deployment.payload["shiplog_deploy_id"], 1);
    assert_eq!(
        deployment.payload["shiplog_url"],
        format!("{}/deploys/1", world.server.base)
    );
    assert_eq!(deployment.payload["ref"], "refs/heads/main");
    let step = deployment.payload["shiplog_step"].as_str().unwrap();
    let (run_attempt_job_step, started) = step.split_once('@').unwrap();
    assert_eq!(
        run_attempt_job_step, "7/1/deploy/",
        "run, attempt, job and step (none set here)"
    );
    assert!(started.parse::<i64>().is_ok(), "started, in ms: {step}");
    assert_eq!(deployment.states(), ["in_progress", "success"]);
    for status in &deployment.statuses {
        assert_eq!(status.log_url, LOG_URL);
        assert_eq!(status.environment_url, ENVIRONMENT_URL);
    }
    assert_eq!(deployment.statuses[1].description, "deployed api to prod");

    let record = world.deploy_record("1");
    assert_eq!(record["github_deployment"]["id"], deployment.id, "{record}");
    assert_eq!(
        record["github_deployment"]["url"],
        "https://github.com/acme/shop/deployments/prod"
    );
    main.assert_secrets_hidden(&[crate::GITHUB_TOKEN]);

    // A later deploy to the same environment (a redeploy, a rollback) is the live one: GitHub
    // marks the earlier deployment inactive when the new one succeeds.
    // (Another run attempt: the same one would be the same deploy to the history server.)
    world
        .runner
        .env("GITHUB_RUN_ATTEMPT", "2")
        .input("images", "ghcr.io/acme/api:v2");
    let again = world.main();
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    let deployments = world.github.deployments();
    assert_eq!(deployments.len(), 2, "{deployments:#?}");
    assert_eq!(
        deployments[0].states(),
        ["in_progress", "success", "inactive"]
    );
    assert!(deployments[0].statuses[2].automatic, "by auto_inactive");
    assert_eq!(deployments[1].states(), ["in_progress", "success"]);
    assert_eq!(deployments[1].payload["shiplog_deploy_id"], 2);

    // Turned off, the deploy leaves GitHub's deployments alone.
    world
        .runner
        .env("GITHUB_RUN_ATTEMPT", "3")
        .input("github-deployment", "false");
    let quiet = world.main();
    assert_eq!(quiet.code, 0, "{}{}", quiet.stdout, quiet.stderr);
    assert_eq!(world.github.deployments().len(), 2);
    assert!(world.deploy_record("3")["github_deployment"].is_null());
}

#[test]
fn a_failed_rollout_is_a_failure_that_says_why_in_at_most_140_characters() {
    let mut world = World::new(&["--image-rule", "*:broken=ImagePullBackOff"]);
    let main = world.failing_deploy("ghcr.io/acme/api:broken", "20s");
    let deployments = world.github.deployments();
    let deployment = only(&deployments);
    assert_eq!(deployment.states(), ["in_progress", "failure"]);
    let description = &deployment.statuses[1].description;
    assert!(description.contains("ImagePullBackOff"), "{description}");
    assert!(description.chars().count() <= 140, "{description}");
    assert!(!description.contains('\n'), "{description}");
    assert_eq!(deployment.statuses[1].log_url, LOG_URL);
    let record = world.deploy_record(&main.outputs["deploy-id"]);
    assert_eq!(record["status"], "failed");
    assert_eq!(record["github_deployment"]["id"], deployment.id, "{record}");
}

#[test]
fn a_deploy_that_cannot_be_carried_out_is_an_error() {
    let mut world = World::new(&[]);
    let broken = format!("{APP}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web.front\n");
    world.manifests(&broken);
    let main = world.main();
    assert_eq!(main.code, 1, "{}{}", main.stdout, main.stderr);
    let deployments = world.github.deployments();
    let deployment = only(&deployments);
    assert_eq!(deployment.states(), ["error"], "it never ran");
    assert!(
        deployment.statuses[0].description.contains("problem"),
        "{:?}",
        deployment.statuses[0]
    );
}

#[test]
fn without_deployments_write_the_deploy_succeeds_with_one_warning() {
    let mut world = World::new(&[]);
    world.github.deny_deployments();
    world.manifests(APP);
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert_eq!(main.outputs["status"], "succeeded");
    assert_eq!(
        warnings(&main),
        ["::warning::GitHub deployments are not updated: the token lacks `deployments: write`"],
        "{}",
        main.stdout
    );
    let asked: Vec<_> = world
        .github
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/deployments"))
        .collect();
    assert_eq!(
        asked.len(),
        1,
        "one refusal, then no more asking: {asked:?}"
    );
    let record = world.deploy_record("1");
    assert_eq!(record["status"], "succeeded");
    assert!(record["github_deployment"].is_null(), "{record}");
}

#[test]
fn a_deploy_killed_mid_rollout_leaves_its_deployment_inactive_after_the_post_step() {
    let mut world = World::on(crate::slow_cluster(), crate::token_auth);
    let state = crate::kill_mid_rollout(&mut world);
    let deployments = world.github.deployments();
    let deployment = only(&deployments);
    assert_eq!(deployment.states(), ["in_progress"]);
    assert_eq!(
        state.get("github-deployment-id"),
        Some(&deployment.id.to_string())
    );

    world.post_saying(&state, "deploy 1 is recorded as cancelled");
    let deployment = world.github.deployments().remove(0);
    assert_eq!(deployment.states(), ["in_progress", "inactive"]);
    assert!(!deployment.statuses[1].automatic);
    assert!(
        deployment.statuses[1].description.contains("cancelled"),
        "{:?}",
        deployment.statuses[1]
    );
}

#[test]
fn a_creation_github_stored_but_answered_502_is_one_deployment_not_two() {
    let mut world = World::new(&[]);
    world.manifests(APP);
    world.github.lose_created_answers(1);
    let main = world.main();
    assert_eq!(main.code, 0, "{}{}", main.stdout, main.stderr);
    assert!(warnings(&main).is_empty(), "{}", main.stdout);
    let deployments = world.github.deployments();
    let deployment = only(&deployments);
    assert_eq!(deployment.states(), ["in_progress", "success"]);
    assert_eq!(
        world.deploy_record("1")["github_deployment"]["id"],
        deployment.id
    );
}
