//! Honest records: the idempotency key tells matrix legs, steps and apps apart; a finished record
//! never changes; times far ahead of the server's clock are refused.

use axum::http::StatusCode;
use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::common::*;

fn time(at: chrono::DateTime<Utc>) -> Value {
    at.to_rfc3339_opts(SecondsFormat::Millis, true).into()
}

#[tokio::test]
async fn two_matrix_legs_of_one_run_make_two_records() {
    let (state, _db) = fixture().await;
    let mut leg = new_deploy("api", "prod", 1);
    leg["run"]["step"] = "shiplog".into();
    let first = create(&state, &leg).await;

    // The same run, attempt, job and step: another app (a matrix leg per service), another
    // environment sharing the namespace, another step of the job.
    let mut other_app = leg.clone();
    other_app["app"] = "worker".into();
    let mut other_environment = leg.clone();
    other_environment["environment"] = "prod-eu".into();
    let mut other_step = leg.clone();
    other_step["run"]["step"] = "shiplog-2".into();
    let mut ids = vec![first];
    for body in [&other_app, &other_environment, &other_step] {
        ids.push(create(&state, body).await);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "four deploys, none overwritten: {ids:?}");

    // The same payload twice is still one record.
    let (status, again) = post(&state, &leg).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first);
    let (status, again) = post(&state, &other_app).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(again["id"], first);
    assert_eq!(state.store.count().await.unwrap(), 4);

    // Each leg finishes its own record.
    let (status, finished) = patch(&state, first, &json!({"status": "succeeded"})).await;
    assert_eq!(status, StatusCode::OK, "{finished}");
    let (_, worker) = get(&state, &format!("/api/v1/deploys/{}", again["id"])).await;
    assert_eq!(
        worker["status"], "in_progress",
        "the other leg is untouched"
    );
    assert_eq!(worker["app"], "worker");
}

#[tokio::test]
async fn writers_without_a_step_keep_their_key() {
    let (state, _db) = fixture().await;
    let old = new_deploy("api", "prod", 1);
    assert!(old["run"].get("step").is_none());
    let first = create(&state, &old).await;
    let (status, again) = post(&state, &old).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first);
    let (_, stored) = get(&state, &format!("/api/v1/deploys/{first}")).await;
    assert!(stored["run"].get("step").is_none(), "{stored}");

    // A step is a different key from no step at all.
    let mut stepped = old.clone();
    stepped["run"]["step"] = "deploy".into();
    let (status, _) = post(&state, &stepped).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_finished_record_is_immutable_and_a_later_patch_gets_409_with_it() {
    let (state, _db) = fixture().await;
    let endings = [
        json!({"status": "succeeded"}),
        json!({"status": "failed", "failure": {"reason": "api: ImagePullBackOff"}}),
        json!({"status": "rolled_back", "failure": {"reason": "api: CrashLoopBackOff"}}),
        json!({"status": "cancelled"}),
    ];
    let later = [
        json!({"status": "in_progress"}),
        json!({"status": "succeeded", "failure": {"reason": "rewritten"}}),
        json!({"status": "failed", "failure": {"reason": "rewritten"}}),
        json!({"status": "rolled_back"}),
        json!({"version": "v9.9.9"}),
        json!({"slack": {"channel": "C999"}}),
        json!({"resources": [{"kind": "Deployment", "name": "api", "action": "configured"}]}),
    ];
    for (run, ending) in endings.iter().enumerate() {
        let id = create(&state, &new_deploy("api", "prod", run as i64 + 1)).await;
        let (status, finished) = patch(&state, id, ending).await;
        assert_eq!(status, StatusCode::OK, "{finished}");

        for change in &later {
            let (status, refused) = patch(&state, id, change).await;
            if change.get("status") == ending.get("status")
                && change.as_object().unwrap().len() == 1
            {
                // The same status again changes nothing: a retry, answered as one.
                assert_eq!(status, StatusCode::OK, "{change}");
                assert_eq!(refused, finished);
                continue;
            }
            assert_eq!(
                status,
                StatusCode::CONFLICT,
                "{ending} then {change}: {refused}"
            );
            assert_eq!(refused["error"]["code"], "finished");
            assert!(
                refused["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("already finished"),
                "{refused}"
            );
            assert_eq!(
                refused["deploy"], finished,
                "the 409 carries the stored record"
            );
        }
        // The very update that finished it, sent again (its answer was lost): harmless.
        let (status, retried) = patch(&state, id, ending).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(retried, finished);
        let (_, stored) = get(&state, &format!("/api/v1/deploys/{id}")).await;
        assert_eq!(stored, finished, "nothing changed");
    }
}

#[tokio::test]
async fn only_the_server_abandons_a_deploy() {
    let (state, _db) = fixture().await;
    let id = create(&state, &new_deploy("api", "prod", 1)).await;
    let (status, refused) = patch(&state, id, &json!({"status": "abandoned"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "conflict");
    assert_eq!(refused["deploy"]["status"], "in_progress");

    let mut body = new_deploy("api", "prod", 2);
    body["status"] = "abandoned".into();
    let (status, error) = post(&state, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "status");
}

#[tokio::test]
async fn times_more_than_five_minutes_ahead_are_422_naming_the_field() {
    let (state, _db) = fixture().await;
    let now = Utc::now();
    let far = now + Duration::days(3650);
    let cases = [
        ("started_at", json!({"started_at": time(far)})),
        (
            "finished_at",
            json!({"status": "succeeded", "finished_at": time(far)}),
        ),
        (
            "started_at",
            json!({"started_at": time(now + Duration::minutes(6))}),
        ),
        (
            "deadline",
            json!({"deadline": time(now + Duration::hours(26))}),
        ),
        (
            "deadline",
            json!({"deadline": time(now - Duration::hours(1))}),
        ),
    ];
    for (run, (field, extra)) in cases.iter().enumerate() {
        let mut body = new_deploy("api", "prod", run as i64 + 1);
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, error) = post(&state, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {error}");
        assert_eq!(error["error"]["code"], "invalid_field");
        assert_eq!(error["error"]["field"], *field, "{extra}: {error}");
    }
    assert_eq!(state.store.count().await.unwrap(), 0);

    // A writer's clock a little ahead is believed.
    let mut body = new_deploy("api", "prod", 100);
    body["started_at"] = time(now + Duration::minutes(4));
    body["deadline"] = time(now + Duration::hours(24));
    let id = create(&state, &body).await;
    let (status, error) = patch(
        &state,
        id,
        &json!({"status": "succeeded", "finished_at": time(far)}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "finished_at");
    let (status, done) = patch(
        &state,
        id,
        &json!({"status": "succeeded", "finished_at": time(now + Duration::minutes(5))}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
}

#[tokio::test]
async fn a_far_future_start_cannot_pin_the_latest_deploy() {
    let (state, _db) = fixture().await;
    let mut pinned = new_deploy("api", "prod", 1);
    pinned["started_at"] = "2999-01-01T00:00:00Z".into();
    let (status, _) = post(&state, &pinned).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let now = create(&state, &new_deploy("api", "prod", 2)).await;
    let (_, page) = get(&state, "/api/v1/deploys?app=api&namespace=prod&limit=1").await;
    assert_eq!(
        page["items"][0]["id"], now,
        "the latest deploy is the one just made"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_lifecycle() {
    let (state, _db) = fixture().await;
    let (_, doc) = get(&state, "/api/v1/openapi.json").await;
    let conflict = &doc["paths"]["/api/v1/deploys/{id}"]["patch"]["responses"]["409"];
    assert_eq!(
        conflict["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ConflictBody",
        "{conflict}"
    );
    let schemas = &doc["components"]["schemas"];
    let body = &schemas["ConflictBody"]["properties"];
    assert!(
        body.get("error").is_some() && body.get("deploy").is_some(),
        "{body}"
    );
    let statuses = schemas["DeployStatus"].to_string();
    assert!(statuses.contains("\"abandoned\""), "{statuses}");
    assert!(schemas["NewDeploy"]["properties"].get("deadline").is_some());
    assert!(schemas["WorkflowRun"]["properties"].get("step").is_some());
    let row = &schemas["InsightRow"]["properties"];
    assert!(
        row.get("cancelled").is_some() && row.get("abandoned").is_some(),
        "{row}"
    );
}
