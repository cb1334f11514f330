//! What a deploy applied, kept beside its record, and the diff of two deploys' sets.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

fn set(digest_char: char, image: &str) -> Value {
    json!({
        "digest": digest_char.to_string().repeat(64),
        "objects": [
            {"api_version": "apps/v1", "kind": "Deployment", "name": "api", "namespace": "prod",
             "yaml": format!("spec:\n  replicas: 2\n  image: {image}\n")},
            {"api_version": "v1", "kind": "Secret", "name": "db", "namespace": "prod",
             "yaml": "data:\n  password: sha256:0123456789abcdef\n"},
        ]
    })
}

async fn keep(state: &shiplog_server::AppState, id: i64, body: &Value) -> (StatusCode, Value) {
    send(
        state,
        Method::POST,
        &format!("/api/v1/deploys/{id}/manifests"),
        Some(WRITER),
        Some(Body::from(body.to_string())),
    )
    .await
}

#[tokio::test]
async fn a_set_is_kept_once_and_read_back() {
    let (state, _db) = fixture().await;
    let id = create(&state, &new_deploy("api", "prod", 1)).await;
    let uri = format!("/api/v1/deploys/{id}/manifests");
    let (status, body) = get(&state, &uri).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no manifests kept")
    );

    let first = set('a', "api:v1");
    assert_eq!(keep(&state, id, &first).await.0, StatusCode::CREATED);
    assert_eq!(keep(&state, id, &first).await.0, StatusCode::OK, "a retry");
    let (status, body) = keep(&state, id, &set('b', "api:v2")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, kept) = get(&state, &uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept, first, "the first set stays");

    // Anyone's input: no token, a malformed digest, an unknown deploy, too much YAML.
    let (status, _) = send(
        &state,
        Method::POST,
        &uri,
        None,
        Some(Body::from(first.to_string())),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut bad = first.clone();
    bad["digest"] = "not-a-digest".into();
    let other = create(&state, &new_deploy("api", "prod", 2)).await;
    let (status, body) = keep(&state, other, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "digest");
    assert_eq!(keep(&state, 999_999, &first).await.0, StatusCode::NOT_FOUND);
    let mut big = first.clone();
    big["objects"][0]["yaml"] = "x".repeat(600 * 1024).into();
    let (status, body) = keep(&state, other, &big).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        get(&state, &format!("/api/v1/deploys/{other}/manifests"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn two_deploys_are_compared_object_by_object() {
    let (state, _db) = fixture().await;
    let a = create(&state, &new_deploy("api", "prod", 1)).await;
    let b = create(&state, &new_deploy("api", "prod", 2)).await;
    let c = create(&state, &new_deploy("api", "prod", 3)).await;
    keep(&state, a, &set('a', "ghcr.io/acme/api:v1")).await;
    keep(&state, b, &set('b', "ghcr.io/acme/api:v2")).await;

    let (status, diff) = get(&state, &format!("/api/v1/deploys/{a}/diff/{b}")).await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    assert_eq!(diff["from"], a);
    assert_eq!(diff["unchanged"], 1, "the Secret is the same");
    assert_eq!(diff["objects"][0]["object"], "Deployment/api in prod");
    assert_eq!(diff["objects"][0]["change"], "changed");
    let text = diff["objects"][0]["diff"].as_str().unwrap();
    assert!(
        text.contains("-  image: ghcr.io/acme/api:v1\n+  image: ghcr.io/acme/api:v2"),
        "{text}"
    );

    // A deploy without a kept set is compared as far as it can be, and says so.
    let (status, diff) = get(&state, &format!("/api/v1/deploys/{a}/diff/{c}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(diff["objects"], json!([]));
    assert!(
        diff["notes"][0]
            .as_str()
            .unwrap()
            .contains(&format!("deploy {c} has no manifests kept"))
    );
    assert_eq!(
        get(&state, &format!("/api/v1/deploys/{a}/diff/0")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&state, &format!("/api/v1/deploys/{a}/diff/424242"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
