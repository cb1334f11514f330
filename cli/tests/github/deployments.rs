//! GitHub deployments through the native host against the stand-in, which holds clients to the
//! API's documented rules: a deployment needs a `ref`, a status a known deployment, one of
//! GitHub's states and a description of at most 140 characters; a success marks the
//! environment's earlier successful deployments inactive unless `auto_inactive` is false; a
//! token without `deployments: write` is refused 403.

use serde_json::json;
use shiplog_engine::github::GithubError;
use shiplog_engine::github_deployments::{
    self as deployments, NewDeployment, NewStatus, State, create, set_status,
};
use shiplog_engine::kube::client::KubeError;
use shiplog_engine::kube::request::Request;

use crate::{REPO, TOKEN, api, github_standin::GithubStandin};

fn new(environment: &str) -> NewDeployment<'_> {
    NewDeployment {
        git_ref: "4f2a9c1e0b7d",
        environment,
        payload: json!({"shiplog_deploy_id": 7}),
        description: "shiplog: api to stage",
    }
}

fn status(state: State) -> NewStatus<'static> {
    NewStatus {
        state,
        log_url: Some("https://github.com/acme/shop/actions/runs/7/attempts/1"),
        environment_url: None,
        description: "deployed",
    }
}

/// The status of an answer that was an error.
fn refused(error: KubeError) -> u16 {
    match error {
        KubeError::Api { status, .. } | KubeError::Unauthorized { status, .. } => status,
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn the_stand_in_holds_deployments_to_githubs_rules() {
    let standin = GithubStandin::start(TOKEN).await;
    let api = api(&standin, Some(TOKEN));
    let first = create(&api, REPO, &new("stage")).await.unwrap();

    let path = format!("/repos/{REPO}/deployments");
    let no_ref = Request::post_json(path.clone(), &json!({"environment": "stage"}));
    assert_eq!(refused(api.send(&no_ref).await.unwrap_err()), 422);
    let statuses = format!("{path}/{first}/statuses");
    let long = json!({"state": "failure", "description": "é".repeat(141)});
    let long = Request::post_json(statuses.clone(), &long);
    assert_eq!(refused(api.send(&long).await.unwrap_err()), 422);
    let unknown_state = Request::post_json(statuses, &json!({"state": "done"}));
    assert_eq!(refused(api.send(&unknown_state).await.unwrap_err()), 422);
    let unknown = set_status(&api, REPO, 999, &status(State::Success)).await;
    assert!(
        matches!(unknown, Err(GithubError::Api { status: 404, .. })),
        "{unknown:?}"
    );
    // The longest description the client can make fits.
    let mut longest = status(State::Failure);
    let reason = "x".repeat(1000);
    longest.description = &reason;
    set_status(&api, REPO, first, &longest).await.unwrap();

    set_status(&api, REPO, first, &status(State::Success))
        .await
        .unwrap();
    let elsewhere = create(&api, REPO, &new("prod")).await.unwrap();
    set_status(&api, REPO, elsewhere, &status(State::Success))
        .await
        .unwrap();
    let second = create(&api, REPO, &new("stage")).await.unwrap();
    set_status(&api, REPO, second, &status(State::Success))
        .await
        .unwrap();
    let kept = standin.deployments();
    assert_eq!(kept[0].states(), ["failure", "success", "inactive"]);
    assert_eq!(kept[1].states(), ["success"], "another environment");
    assert_eq!(kept[2].states(), ["success"]);
    assert_eq!(kept[2].payload["shiplog_deploy_id"], 7);
    assert!(!kept[2].auto_merge && kept[2].required_contexts == Some(Vec::new()));
    assert_eq!(
        deployments::environment_page("https://github.com", REPO, "stage").unwrap(),
        "https://github.com/acme/shop/deployments/stage"
    );

    standin.deny_deployments();
    let denied = create(&api, REPO, &new("stage")).await;
    assert!(
        matches!(denied, Err(GithubError::Refused { status: 403, ref message })
            if message == "Resource not accessible by integration"),
        "{denied:?}"
    );
}

#[tokio::test]
async fn a_creation_answered_502_after_github_stored_it_makes_one_deployment() {
    let standin = GithubStandin::start(TOKEN).await;
    let api = api(&standin, Some(TOKEN));
    let step = |attempt: u32| NewDeployment {
        payload: json!({"app": "api", "shiplog_step": format!("7/{attempt}/deploy/api")}),
        ..new("stage")
    };
    // The first attempt of the run deployed the same ref to the same environment.
    let earlier = create(&api, REPO, &step(1)).await.unwrap();

    standin.lose_created_answers(2);
    let id = create(&api, REPO, &step(2)).await.unwrap();
    let kept = standin.deployments();
    assert_eq!(kept.len(), 2, "one deployment per deploy step: {kept:#?}");
    assert_eq!(id, kept[1].id);
    assert_ne!(
        id, earlier,
        "the earlier attempt's deployment is not taken for this one"
    );
}
