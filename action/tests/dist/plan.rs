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
