//! Environment locks, freeze windows and their audit log, through the API.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{Duration, Utc};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use shiplog_server::auth::Tokens;
use shiplog_server::auth::lock_access::ConsoleLocks;
use shiplog_server::auth::session::COOKIE;
use shiplog_server::freeze::FreezeWindow;
use shiplog_server::{AppState, app};
use tower::ServiceExt as _;

use crate::common::*;

/// Sends `method uri` with `headers` and an optional JSON body.
async fn call(
    state: &AppState,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = app(state.clone())
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const BEARER: (&str, &str) = ("authorization", "Bearer writer-token");
const CONSOLE: (&str, &str) = ("x-shiplog-console", "lock");

fn reason(text: &str) -> Option<Value> {
    Some(json!({"reason": text, "by": "@octocat"}))
}

/// The status of `method uri` with `headers` and no body.
async fn status_of(
    state: &AppState,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
) -> StatusCode {
    call(state, method, uri, headers, None).await.0
}

async fn check(state: &AppState, query: &str) -> Value {
    let (status, body) = call(
        state,
        Method::GET,
        &format!("/api/v1/locks/check?{query}"),
        &[BEARER],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_lock_holds_deploys_until_it_is_lifted_and_every_step_is_audited() {
    let (state, _db) = fixture().await;
    let query = "environment=production&namespace=prod&app=api";
    assert_eq!(check(&state, query).await, json!({}), "nothing holds it");

    let (status, lock) = call(
        &state,
        Method::PUT,
        "/api/v1/locks/prod",
        &[BEARER],
        reason("incident 4711"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lock}");
    assert_eq!(lock["by"], "@octocat");
    assert!(
        lock["via"]
            .as_str()
            .unwrap()
            .starts_with("token --token #1"),
        "{lock}"
    );

    // Locked by namespace name: a deploy to environment `production` in namespace `prod`.
    let held = check(&state, query).await;
    assert_eq!(held["held"]["kind"], "locked");
    assert_eq!(held["held"]["lock"]["reason"], "incident 4711");
    assert_eq!(
        check(&state, "environment=staging&app=api").await,
        json!({}),
        "other environments deploy"
    );

    // An app lock holds that app only.
    let (status, _) = call(
        &state,
        Method::PUT,
        "/api/v1/locks/staging/api",
        &[BEARER],
        reason("migrating the api's database"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        check(&state, "environment=staging&app=api").await["held"]["lock"]["app"],
        "api"
    );
    assert_eq!(
        check(&state, "environment=staging&app=web").await,
        json!({})
    );

    let (status, _) = call(
        &state,
        Method::DELETE,
        "/api/v1/locks/prod?by=%40hubot",
        &[BEARER],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(check(&state, query).await, json!({}), "unlocked");
    let (status, body) = call(
        &state,
        Method::DELETE,
        "/api/v1/locks/prod",
        &[BEARER],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["message"], "prod is not locked");

    let (status, all) = get(&state, "/api/v1/locks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["locks"].as_array().unwrap().len(), 1, "{all}");
    let events: Vec<(&str, &str, &str)> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["environment"].as_str().unwrap(),
                e["by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("unlocked", "prod", "@hubot"),
            ("locked", "staging", "@octocat"),
            ("locked", "prod", "@octocat"),
        ],
        "newest first"
    );
}

#[tokio::test]
async fn an_environment_named_check_locks_like_any_other() {
    let (state, _db) = fixture().await;
    let (status, lock) = call(
        &state,
        Method::PUT,
        "/api/v1/locks/check",
        &[BEARER],
        reason("the route's name"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lock}");
    assert_eq!(lock["environment"], "check", "{lock}");
    let held = check(&state, "environment=check&app=api").await;
    assert_eq!(held["held"]["lock"]["reason"], "the route's name");
    assert_eq!(
        status_of(
            &state,
            Method::DELETE,
            "/api/v1/locks/check?by=me",
            &[BEARER]
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(check(&state, "environment=check&app=api").await, json!({}));
    // Without a credential the route refuses as every lock route does.
    assert_eq!(
        status_of(&state, Method::DELETE, "/api/v1/locks/check", &[]).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_deploy_that_overrides_a_hold_is_in_the_audit_log() {
    let (state, _db) = fixture().await;
    let mut deploy = new_deploy("api", "prod", 7);
    deploy["lock_override"] = "prod is locked by @octocat since 2026-12-03 14:05 UTC: x".into();
    let id = create(&state, &deploy).await;
    let (_, all) = get(&state, "/api/v1/locks").await;
    let event = &all["events"][0];
    assert_eq!(event["action"], "overridden");
    assert_eq!(event["deploy"], id);
    assert_eq!(event["by"], "alice");
    assert_eq!(event["app"], "api");
    assert!(
        event["reason"]
            .as_str()
            .unwrap()
            .contains("locked by @octocat")
    );
    assert!(
        event["via"]
            .as_str()
            .unwrap()
            .starts_with("token --token #1")
    );
    let (_, record) = get(&state, &format!("/api/v1/deploys/{id}")).await;
    assert!(record["lock_override"].is_string(), "{record}");
}

#[tokio::test]
async fn a_blocked_deploy_is_recorded_and_has_no_outcome() {
    let (state, _db) = fixture().await;
    let id = create(&state, &new_deploy("api", "prod", 8)).await;
    let (status, body) = patch(
        &state,
        id,
        &json!({"status": "blocked", "failure": {"reason": "prod is locked by @octocat"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = get(&state, "/api/v1/deploys?status=blocked").await;
    assert_eq!(page["items"][0]["id"], id, "{page}");
    let (_, insights) = get(&state, "/api/v1/insights").await;
    let row = &insights["rows"][0];
    assert_eq!(
        (row["deploys"].as_u64(), row["blocked"].as_u64()),
        (Some(0), Some(1)),
        "{insights}"
    );
}

#[tokio::test]
async fn an_open_freeze_window_holds_its_environment_in_its_own_time_zone() {
    let (state, _db) = fixture().await;
    let today = Utc::now().date_naive();
    let window = |environment: &str, from: chrono::NaiveDate, to: chrono::NaiveDate| {
        FreezeWindow::parse(&format!("{environment} {from}..{to} Pacific/Auckland")).unwrap()
    };
    let state = state.with_freezes(vec![
        window("prod", today - Duration::days(2), today + Duration::days(2)),
        window(
            "staging",
            today + Duration::days(30),
            today + Duration::days(40),
        ),
    ]);
    let held = check(&state, "environment=prod&app=api").await;
    assert_eq!(held["held"]["kind"], "frozen", "{held}");
    assert!(held["held"]["freeze"]["until"].is_string());
    assert_eq!(
        check(&state, "environment=staging&app=api").await,
        json!({})
    );
    let (_, all) = get(&state, "/api/v1/locks").await;
    let active: Vec<bool> = all["freezes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["active"].as_bool().unwrap())
        .collect();
    assert_eq!(active, [true, false]);
}

#[tokio::test]
async fn the_console_locks_only_as_the_server_allows() {
    // No read token, default policy: nobody signs in, so the console cannot lock.
    let (state, _db) = fixture().await;
    let (status, body) = call(
        &state,
        Method::PUT,
        "/api/v1/locks/prod",
        &[CONSOLE],
        reason("x"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--console-locks open")
    );
    // Without the console's header a request needs a writer's token.
    let (status, _) = call(&state, Method::PUT, "/api/v1/locks/prod", &[], reason("x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let open = state.clone().with_console_locks(ConsoleLocks::Open);
    let (status, lock) = call(
        &open,
        Method::PUT,
        "/api/v1/locks/prod",
        &[CONSOLE],
        reason("x"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lock}");
    assert_eq!(lock["via"], "console");
    let off = state.clone().with_console_locks(ConsoleLocks::Off);
    let (status, _) = call(&off, Method::DELETE, "/api/v1/locks/prod", &[CONSOLE], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Behind a read token: a signed-in console may, an anonymous one may not.
    let (state, _db) = fixture_with(Tokens {
        write: vec![WRITER.into()],
        read: Some("reader".into()),
    })
    .await;
    let (status, _) = call(
        &state,
        Method::PUT,
        "/api/v1/locks/prod",
        &[CONSOLE],
        reason("x"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let cookie = format!(
        "{COOKIE}={}",
        state.auth.session().unwrap().mint(Utc::now())
    );
    let signed_in = [CONSOLE, ("cookie", cookie.as_str())];
    let (status, lock) = call(
        &state,
        Method::PUT,
        "/api/v1/locks/prod",
        &signed_in,
        reason("x"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lock}");
    assert_eq!(lock["via"], "console (signed in)");
    // The read token itself writes nothing, locks included.
    let reader = [("authorization", "Bearer reader")];
    let unlock = status_of(&state, Method::DELETE, "/api/v1/locks/prod", &reader).await;
    assert_eq!(unlock, StatusCode::FORBIDDEN);
    // A deploy step asks with its write token; a reader may ask too; nobody else.
    let ask = |headers: &'static [(&'static str, &'static str)]| {
        status_of(
            &state,
            Method::GET,
            "/api/v1/locks/check?environment=prod&app=a",
            headers,
        )
    };
    assert_eq!(ask(&[BEARER]).await, StatusCode::OK);
    assert_eq!(
        ask(&[("authorization", "Bearer reader")]).await,
        StatusCode::OK
    );
    assert_eq!(ask(&[]).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn hostile_lock_requests_are_refused_whole() {
    let (state, _db) = fixture().await;
    for (uri, body, field) in [
        (
            "/api/v1/locks/prod",
            reason("line\n::error::owned"),
            "reason",
        ),
        ("/api/v1/locks/prod", reason(&"x".repeat(1025)), "reason"),
        (
            "/api/v1/locks/prod",
            Some(json!({"reason": "x", "by": "a".repeat(257)})),
            "by",
        ),
        ("/api/v1/locks/pr%1Bod", reason("x"), "environment"),
        ("/api/v1/locks/prod/%0A", reason("x"), "app"),
    ] {
        let (status, body) = call(&state, Method::PUT, uri, &[BEARER], body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {body}");
        assert_eq!(body["error"]["field"], field, "{uri}: {body}");
    }
    let (status, _) = call(
        &state,
        Method::PUT,
        "/api/v1/locks/prod",
        &[BEARER],
        Some(json!({"reason": "x", "by": "y", "admin": true})),
    )
    .await;
    assert!(status.is_client_error(), "unknown fields are refused");
    let (status, body) = call(
        &state,
        Method::GET,
        &format!("/api/v1/locks/check?environment={}&app=a", "e".repeat(300)),
        &[BEARER],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, all) = get(&state, "/api/v1/locks").await;
    assert_eq!(all["locks"], json!([]), "nothing was locked");
    assert_eq!(all["events"], json!([]));
}

#[tokio::test]
async fn the_number_of_locks_is_bounded() {
    let (state, _db) = fixture().await;
    let store = &state.store;
    let actor = shiplog_server::store::Actor {
        by: "@bot",
        via: "test",
    };
    for n in 0..shiplog_model::locks::MAX_LOCKS {
        store
            .lock(&format!("env-{n}"), None, "x", &actor, Utc::now())
            .await
            .unwrap();
    }
    let (status, body) = call(
        &state,
        Method::PUT,
        "/api/v1/locks/one-too-many",
        &[BEARER],
        reason("x"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Locking again what is locked still works: it replaces the reason.
    let (status, lock) = call(
        &state,
        Method::PUT,
        "/api/v1/locks/env-7",
        &[BEARER],
        reason("new"),
    )
    .await;
    assert_eq!(
        (status, lock["reason"].as_str()),
        (StatusCode::OK, Some("new"))
    );
}
