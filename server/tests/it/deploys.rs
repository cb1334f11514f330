//! Creating, updating and reading deploys: idempotency, transitions, auth, verbatim text.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use shiplog_server::auth::Tokens;

use crate::common::*;

#[tokio::test]
async fn create_returns_201_and_a_retry_returns_the_same_deploy_with_200() {
    let (state, _db) = fixture().await;
    let body = new_deploy("api", "prod", 1);
    let (status, first) = post(&state, &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = first["id"].as_i64().unwrap();
    assert_eq!(first["url"], format!("https://shiplog.test/deploys/{id}"));

    let (status, again) = post(&state, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);

    // Another attempt of the same run is a different deploy.
    let mut retry = body.clone();
    retry["run"]["attempt"] = 2.into();
    let (status, other) = post(&state, &retry).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(other["id"], first["id"]);
    assert_eq!(state.store.count().await.unwrap(), 2);
}

#[tokio::test]
async fn concurrent_retries_never_duplicate() {
    let (state, _db) = fixture().await;
    let body = new_deploy("api", "prod", 7);
    let attempts = (0..8).map(|_| {
        let (state, body) = (state.clone(), body.clone());
        tokio::spawn(async move { post(&state, &body).await })
    });
    let mut ids = Vec::new();
    for attempt in attempts {
        let (status, created) = attempt.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status} {created}"
        );
        ids.push(created["id"].as_i64().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one deploy for one idempotency key: {ids:?}");
    assert_eq!(state.store.count().await.unwrap(), 1);
}

#[tokio::test]
async fn a_deploy_finishes_and_cannot_go_back() {
    let (state, _db) = fixture().await;
    let id = create(&state, &new_deploy("api", "prod", 1)).await;
    let (status, deploy) = get(&state, &format!("/api/v1/deploys/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deploy["status"], "in_progress");
    assert!(deploy.get("finished_at").is_none());

    let results = json!({
        "status": "failed",
        "resources": [
            {"kind": "Deployment", "name": "api", "namespace": "prod", "action": "failed", "message": "ImagePullBackOff"},
            {"kind": "Service", "name": "api", "namespace": "prod", "action": "unchanged"}
        ],
        "failure": {"reason": "api: image cannot be pulled", "details": ["Back-off pulling image"]},
        "slack": {"channel": "C123", "ts": "1700000000.000100", "permalink": "https://slack.test/p1"}
    });
    let (status, failed) = patch(&state, id, &results).await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["resources"], results["resources"]);
    assert_eq!(failed["failure"], results["failure"]);
    assert_eq!(failed["slack"], results["slack"]);
    assert!(failed["finished_at"].is_string());

    for later in ["in_progress", "succeeded", "rolled_back"] {
        let (status, error) = patch(&state, id, &json!({"status": later})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{later}: {error}");
        assert_eq!(error["error"]["code"], "finished");
        assert_eq!(
            error["deploy"], failed,
            "the answer carries the stored deploy"
        );
    }

    let (_, stored) = get(&state, &format!("/api/v1/deploys/{id}")).await;
    assert_eq!(stored, failed);
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let (state, _db) = fixture().await;
    for uri in [
        "/api/v1/deploys/999",
        "/api/v1/deploys/0",
        "/api/v1/deploys/abc",
        "/api/v1/deploys/-1",
    ] {
        let (status, body) = get(&state, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, _) = patch(&state, 999, &json!({"status": "succeeded"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn writes_need_the_right_token() {
    let (state, _db) = fixture().await;
    let body = Some(Body::from(new_deploy("api", "prod", 1).to_string()));
    let (status, error) = send(&state, Method::POST, "/api/v1/deploys", None, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "unauthorized");

    let body = Some(Body::from(new_deploy("api", "prod", 1).to_string()));
    let (status, error) = send(&state, Method::POST, "/api/v1/deploys", Some("wrong"), body).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an invalid token is no credential"
    );
    assert_eq!(error["error"]["code"], "unauthorized");
    assert_eq!(state.store.count().await.unwrap(), 0, "nothing was written");

    // Reads are open when no read token is configured.
    assert_eq!(get(&state, "/api/v1/deploys").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_read_token_guards_reads() {
    let tokens = Tokens {
        write: vec![WRITER.into()],
        read: Some("reader".into()),
    };
    let (state, _db) = fixture_with(tokens).await;
    for uri in [
        "/api/v1/deploys",
        "/api/v1/environments",
        "/api/v1/deploys/1",
        "/api/v1/stream",
    ] {
        assert_eq!(get(&state, uri).await.0, StatusCode::UNAUTHORIZED, "{uri}");
        let (status, _) = send(&state, Method::GET, uri, Some("nope"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let (status, _) = send(&state, Method::GET, "/api/v1/deploys", Some("reader"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(&state, Method::GET, "/api/v1/deploys", Some(WRITER), None).await;
    assert_eq!(status, StatusCode::OK, "a writer may read");
    let body = Some(Body::from(new_deploy("api", "prod", 1).to_string()));
    let (status, _) = send(
        &state,
        Method::POST,
        "/api/v1/deploys",
        Some("reader"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a reader may not write");
    assert_eq!(
        get(&state, "/healthz").await.0,
        StatusCode::OK,
        "health stays open"
    );
}

#[tokio::test]
async fn text_is_stored_and_returned_verbatim() {
    let (state, _db) = fixture().await;
    let nasty = "Fix \"quotes\" and 'apostrophes'\n\nline two\ttab\r\n🚀 émoji <script>alert(1)</script> &amp; \
                 '; DROP TABLE deploys; -- $1 ? %s \\ \u{0000}";
    let mut body = new_deploy("api", "prod", 1);
    body["commit"]["message"] = nasty.into();
    body["actor"] = "o'brien <b>".into();
    let id = create(&state, &body).await;
    let (_, deploy) = get(&state, &format!("/api/v1/deploys/{id}")).await;
    assert_eq!(deploy["commit"]["message"], nasty);
    assert_eq!(deploy["actor"], "o'brien <b>");
    let (_, page) = get(&state, "/api/v1/deploys?actor=o%27brien%20%3Cb%3E").await;
    assert_eq!(page["items"][0]["commit"]["message"], nasty);
}
