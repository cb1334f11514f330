//! Scoped access, tried as an attacker would: OIDC tokens forged, expired, for another audience,
//! issuer or repository; static tokens beyond their repositories; the console's sign-in cookie;
//! `/metrics` behind the read token; empty tokens refused at start-up.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use shiplog_server::auth::oidc::{Oidc, OidcConfig};
use shiplog_server::auth::scope::RepoScope;
use shiplog_server::auth::secret::SecretDigest;
use shiplog_server::auth::test_issuer::{KID, TestIssuer};
use shiplog_server::auth::{Auth, Tokens, token_file};
use shiplog_server::{AppState, app};
use tower::ServiceExt as _;

use crate::common::*;

const AUDIENCE: &str = "https://shiplog.test";

struct OidcWorld {
    state: AppState,
    issuer: Arc<TestIssuer>,
    _db: TestDb,
    _task: tokio::task::JoinHandle<()>,
}

async fn oidc_world(min_refresh: Duration) -> OidcWorld {
    let (issuer, task) = TestIssuer::serve().await;
    let oidc = Oidc::new(OidcConfig {
        issuer: issuer.url().to_owned(),
        audience: AUDIENCE.to_owned(),
        allow: RepoScope::parse(["acme/*"]).unwrap(),
        min_refresh,
    })
    .unwrap();
    let auth = Auth::from(writer_only()).with_oidc(oidc);
    let db = TestDb::new().await;
    let state = AppState::new(db.store().await, auth, AUDIENCE);
    OidcWorld {
        state,
        issuer,
        _db: db,
        _task: task,
    }
}

async fn post_as(state: &AppState, token: &str, body: &Value) -> (StatusCode, Value) {
    send(
        state,
        Method::POST,
        "/api/v1/deploys",
        Some(token),
        Some(Body::from(body.to_string())),
    )
    .await
}

async fn patch_as(state: &AppState, token: &str, id: i64, body: &Value) -> (StatusCode, Value) {
    let uri = format!("/api/v1/deploys/{id}");
    send(
        state,
        Method::PATCH,
        &uri,
        Some(token),
        Some(Body::from(body.to_string())),
    )
    .await
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// Asserts a refusal with `status` whose message contains `expected`, and that nothing was
/// written.
async fn assert_refused(
    state: &AppState,
    token: &str,
    status: StatusCode,
    expected: &str,
    case: &str,
) {
    let before = state.store.count().await.unwrap();
    let (code, body) = post_as(state, token, &new_deploy("api", "prod", 7)).await;
    assert_eq!(code, status, "{case}: {body}");
    assert!(message(&body).contains(expected), "{case}: {body}");
    assert!(
        !message(&body).contains(token),
        "{case}: the token is echoed"
    );
    assert_eq!(
        state.store.count().await.unwrap(),
        before,
        "{case}: written"
    );
}

#[tokio::test]
async fn a_valid_oidc_token_writes_its_own_repository() {
    let world = oidc_world(Duration::from_secs(60)).await;
    let token = world
        .issuer
        .sign(&world.issuer.github_claims(AUDIENCE, "acme/shop"));
    let (status, created) = post_as(&world.state, &token, &new_deploy("api", "prod", 1)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, updated) =
        patch_as(&world.state, &token, id, &json!({"status": "succeeded"})).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["status"], "succeeded");
    // GitHub's names ignore case.
    let mut body = new_deploy("api", "stage", 2);
    body["repo"] = "Acme/Shop".into();
    assert_eq!(
        post_as(&world.state, &token, &body).await.0,
        StatusCode::CREATED
    );
    assert_eq!(world.issuer.key_fetches(), 1, "keys are cached");
}

#[tokio::test]
async fn forged_and_misdirected_oidc_tokens_are_refused() {
    let world = oidc_world(Duration::from_secs(60)).await;
    let issuer = &world.issuer;
    let good = issuer.github_claims(AUDIENCE, "acme/shop");
    let now = jsonwebtoken::get_current_timestamp();
    let with = |field: &str, value: Value| {
        let mut claims = good.clone();
        claims[field] = value;
        claims
    };
    let mut no_repository = good.clone();
    no_repository.as_object_mut().unwrap().remove("repository");
    let hs256 = {
        // The issuer's public key used as an HMAC secret: the classic algorithm confusion.
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(KID.into());
        jsonwebtoken::encode(
            &header,
            &good,
            &jsonwebtoken::EncodingKey::from_secret(b"public key"),
        )
        .unwrap()
    };
    let unauthorized = StatusCode::UNAUTHORIZED;
    let cases = [
        (
            "wrong signature",
            issuer.forge(KID, &good),
            unauthorized,
            "signature that does not verify",
        ),
        (
            "wrong audience",
            issuer.sign(&with("aud", "https://elsewhere.test".into())),
            unauthorized,
            "request it with audience https://shiplog.test",
        ),
        (
            "wrong issuer",
            issuer.sign(&with(
                "iss",
                "https://token.actions.githubusercontent.com".into(),
            )),
            unauthorized,
            "was not issued by",
        ),
        (
            "expired",
            issuer.sign(&with("exp", (now - 120).into())),
            unauthorized,
            "has expired",
        ),
        (
            "not yet valid",
            issuer.sign(&with("nbf", (now + 600).into())),
            unauthorized,
            "is not valid yet",
        ),
        (
            "unknown key id",
            issuer.forge("someone-elses-key", &good),
            unauthorized,
            "unknown key id",
        ),
        (
            "alg none",
            issuer.unsigned(&good),
            unauthorized,
            "algorithm",
        ),
        (
            "HS256 with the public key",
            hs256,
            unauthorized,
            "algorithm",
        ),
        (
            "no repository claim",
            issuer.sign(&no_repository),
            unauthorized,
            "repository claim",
        ),
        (
            "repository outside --allow-repo",
            issuer.sign(&issuer.github_claims(AUDIENCE, "evil/shop")),
            StatusCode::FORBIDDEN,
            "the OIDC token is from evil/shop, and this server lets only acme/* write",
        ),
    ];
    for (case, token, status, expected) in cases {
        assert_refused(&world.state, &token, status, expected, case).await;
    }
    // Within the clock skew, an expired token still counts.
    let late = issuer.sign(&with("exp", (now - 20).into()));
    assert_eq!(
        post_as(&world.state, &late, &new_deploy("api", "prod", 8))
            .await
            .0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn an_oidc_token_writes_no_other_repository() {
    let world = oidc_world(Duration::from_secs(60)).await;
    let token = world
        .issuer
        .sign(&world.issuer.github_claims(AUDIENCE, "acme/shop"));
    let mut body = new_deploy("api", "prod", 1);
    body["repo"] = "acme/billing".into();
    let (status, error) = post_as(&world.state, &token, &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["code"], "forbidden");
    assert_eq!(
        message(&error),
        "this OIDC token may write acme/shop only, not acme/billing"
    );

    // Nor update another repository's record.
    let other = create(&world.state, &body).await;
    let (status, error) = patch_as(&world.state, &token, other, &json!({"status": "failed"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    let (_, stored) = get(&world.state, &format!("/api/v1/deploys/{other}")).await;
    assert_eq!(stored["status"], "in_progress", "unchanged");
}

#[tokio::test]
async fn a_flood_of_unknown_key_ids_costs_the_issuer_one_fetch() {
    let world = oidc_world(Duration::from_secs(60)).await;
    let claims = world.issuer.github_claims(AUDIENCE, "acme/shop");
    let flood = (0..50).map(|i| {
        let token = world.issuer.forge(&format!("random-kid-{i}"), &claims);
        let state = world.state.clone();
        async move {
            post_as(&state, &token, &new_deploy("api", "prod", 1))
                .await
                .0
        }
    });
    let statuses = futures_util::future::join_all(flood).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(
        world.issuer.key_fetches(),
        1,
        "one fetch for the whole flood"
    );
    // The cached keys still verify good tokens without another fetch.
    let token = world.issuer.sign(&claims);
    assert_eq!(
        post_as(&world.state, &token, &new_deploy("api", "prod", 2))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(world.issuer.key_fetches(), 1);
}

#[tokio::test]
async fn an_unknown_key_id_makes_the_server_fetch_the_keys_again() {
    let world = oidc_world(Duration::ZERO).await;
    let claims = world.issuer.github_claims(AUDIENCE, "acme/shop");
    let token = world.issuer.sign(&claims);
    assert_eq!(
        post_as(&world.state, &token, &new_deploy("api", "prod", 1))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(world.issuer.key_fetches(), 1);
    let rotated = world.issuer.forge("next-key", &claims);
    post_as(&world.state, &rotated, &new_deploy("api", "prod", 2)).await;
    assert_eq!(
        world.issuer.key_fetches(),
        2,
        "an unknown kid refreshes the keys"
    );
}

#[tokio::test]
async fn an_unreachable_issuer_is_a_503_not_a_pass() {
    let oidc = Oidc::new(OidcConfig {
        // Nothing listens on port 9 of loopback (discard), so the fetch fails at once.
        issuer: "http://127.0.0.1:9".into(),
        audience: AUDIENCE.into(),
        allow: RepoScope::parse(["acme/*"]).unwrap(),
        min_refresh: Duration::from_secs(60),
    })
    .unwrap();
    let (state, _db) = fixture_with_auth(Auth::from(Tokens::default()).with_oidc(oidc)).await;
    let (issuer, _task) = TestIssuer::serve().await;
    let token = issuer.sign(&issuer.github_claims(AUDIENCE, "acme/shop"));
    let (status, body) = post_as(&state, &token, &new_deploy("api", "prod", 1)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(message(&body).contains("cannot be checked now"), "{body}");
}

async fn fixture_with_auth(auth: Auth) -> (AppState, TestDb) {
    let db = TestDb::new().await;
    let state = AppState::new(db.store().await, auth, AUDIENCE);
    (state, db)
}

#[tokio::test]
async fn static_tokens_write_only_their_repositories() {
    let file = format!(
        "# CI of the acme org\n{} acme/*\n",
        SecretDigest::of("acme-ci-token").to_hex()
    );
    let auth = Auth::from(writer_only())
        .with_scoped_tokens(token_file::parse("tokens.txt", &file).unwrap());
    let (state, _db) = fixture_with_auth(auth).await;

    let (status, created) = post_as(&state, "acme-ci-token", &new_deploy("api", "prod", 1)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mut evil = new_deploy("api", "prod", 2);
    evil["repo"] = "evil/x".into();
    let (status, error) = post_as(&state, "acme-ci-token", &evil).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(
        message(&error),
        "this token may write acme/* only, not evil/x"
    );

    // The unscoped --token writes anything; the scoped one may not update that record.
    let other = create(&state, &evil).await;
    let (status, _) = patch_as(&state, "acme-ci-token", other, &json!({"status": "failed"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, error) = post_as(&state, "acme-ci-tokem", &new_deploy("api", "prod", 3)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    assert_eq!(message(&error), "the bearer token is not valid");
}

fn read_protected() -> Tokens {
    Tokens {
        write: vec![WRITER.into()],
        read: Some("reader-token".into()),
    }
}

#[tokio::test]
async fn metrics_need_the_read_token_when_one_is_set() {
    let (state, _db) = fixture_with(read_protected()).await;
    assert_eq!(get(&state, "/metrics").await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = send(&state, Method::GET, "/metrics", Some("reader-token"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (open, _db) = fixture().await;
    assert_eq!(
        get(&open, "/metrics").await.0,
        StatusCode::OK,
        "open without one"
    );
}

/// Sends a raw request; the response's status, headers and body text.
async fn raw(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn sign_in_request(token: &str, next: &str) -> Request<Body> {
    let form = format!(
        "token={}&next={}",
        percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC),
        percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
    );
    Request::post("/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap()
}

fn with_cookie(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn the_read_token_is_exchanged_for_a_cookie() {
    let (state, _db) = fixture_with(read_protected()).await;

    // The console's page sends a browser without a credential to the sign-in page.
    let page = Request::get("/history?status=failed")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = raw(&state, page).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/sign-in?next=%2Fhistory%3Fstatus%3Dfailed"
    );
    let (status, headers, html) = raw(
        &state,
        Request::get("/sign-in?next=%2Fhistory")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("name=\"token\"") && html.contains("value=\"/history\""),
        "{html}"
    );
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("form-action 'self'")
    );

    // A wrong token is refused with a message and no cookie.
    let (status, headers, html) = raw(&state, sign_in_request("reader-tokem", "/history")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        html.contains("That is not this server&#x27;s read token.")
            || html.contains("That is not this server's read token."),
        "{html}"
    );
    assert!(!html.contains("reader-tokem"), "the attempt is not echoed");
    assert!(headers.get(header::SET_COOKIE).is_none());

    // The right one gives an HttpOnly, SameSite=Strict, Secure (https public URL) cookie that
    // is not the token, and goes back to the page.
    let (status, headers, _) = raw(&state, sign_in_request("reader-token", "/history")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/history");
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("reader-token"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    // The cookie reads the API, the event stream and the console's page.
    for uri in [
        "/api/v1/deploys",
        "/api/v1/environments",
        "/api/v1/stream",
        "/metrics",
    ] {
        // Only the status: the event stream's body never ends.
        let response = app(state.clone())
            .oneshot(with_cookie(uri, &cookie))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
    }
    let (status, _, _) = raw(&state, with_cookie("/history", &cookie)).await;
    assert_ne!(status, StatusCode::SEE_OTHER, "signed in");
    // A tampered cookie does not.
    let tampered = format!("{}x", cookie);
    let (status, _, body) = raw(&state, with_cookie("/api/v1/deploys", &tampered)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("sign in again"), "{body}");
    // A cookie never writes.
    let write = Request::post("/api/v1/deploys")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(new_deploy("api", "prod", 1).to_string()))
        .unwrap();
    assert_eq!(raw(&state, write).await.0, StatusCode::UNAUTHORIZED);

    // Signing out clears it.
    let out = Request::post("/sign-out").body(Body::empty()).unwrap();
    let (status, headers, _) = raw(&state, out).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn sign_in_does_not_redirect_elsewhere() {
    let (state, _db) = fixture_with(read_protected()).await;
    let (status, headers, _) = raw(
        &state,
        sign_in_request("reader-token", "https://evil.test/"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/");
}

#[test]
fn an_empty_read_token_stops_the_server_from_starting() {
    for (variable, value) in [("SHIPLOG_READ_TOKEN", ""), ("SHIPLOG_TOKEN", "")] {
        let dir = tempfile::tempdir().unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_shiplog-server"))
            .args(["--listen", "127.0.0.1:0", "--database"])
            .arg(format!("sqlite://{}", dir.path().join("db").display()))
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{variable}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("{variable} is set but empty")),
            "{stderr}"
        );
        assert!(
            !dir.path().join("db").exists(),
            "refused before the database is touched"
        );
    }
}
