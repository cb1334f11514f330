//! Malformed, oversized, wrongly typed and hostile input gets the documented error, and the
//! server stays healthy afterwards.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::*;

async fn post_raw(
    state: &shiplog_server::AppState,
    body: impl Into<Body>,
) -> (StatusCode, serde_json::Value) {
    send(
        state,
        Method::POST,
        "/api/v1/deploys",
        Some(WRITER),
        Some(body.into()),
    )
    .await
}

#[tokio::test]
async fn malformed_json_is_400() {
    let (state, _db) = fixture().await;
    for body in ["{", "not json", "{\"repo\": }", "{} trailing", "\u{feff}{}"] {
        let (status, error) = post_raw(&state, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {error}");
        assert_eq!(error["error"]["code"], "malformed_json");
    }
    let (status, error) = post_raw(&state, vec![b'{', 0xff, 0xfe, b'}']).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
}

#[tokio::test]
async fn invalid_fields_are_422_and_named() {
    let (state, _db) = fixture().await;
    let cases = [
        ("app", {
            let mut b = new_deploy("api", "prod", 1);
            b.as_object_mut().unwrap().remove("app");
            b
        }),
        ("namespace", {
            let mut b = new_deploy("api", "prod", 1);
            b["namespace"] = "".into();
            b
        }),
        ("run.id", {
            let mut b = new_deploy("api", "prod", 1);
            b["run"]["id"] = "forty-two".into();
            b
        }),
        ("status", {
            let mut b = new_deploy("api", "prod", 1);
            b["status"] = 5.into();
            b
        }),
        ("status", {
            let mut b = new_deploy("api", "prod", 1);
            b["status"] = "done".into();
            b
        }),
        ("images", {
            let mut b = new_deploy("api", "prod", 1);
            b["images"] = "one".into();
            b
        }),
        ("started_at", {
            let mut b = new_deploy("api", "prod", 1);
            b["started_at"] = "yesterday".into();
            b
        }),
        ("colour", {
            let mut b = new_deploy("api", "prod", 1);
            b["colour"] = "blue".into();
            b
        }),
        ("(body)", json!("a string")),
    ];
    for (field, body) in cases {
        let (status, error) = post(&state, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {error}");
        assert_eq!(error["error"]["code"], "invalid_field", "{error}");
        let reported = error["error"]["field"].as_str().unwrap();
        assert!(
            reported == field || error["error"]["message"].as_str().unwrap().contains(field),
            "expected {field}, got {error}"
        );
    }
    assert_eq!(state.store.count().await.unwrap(), 0);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let (state, _db) = fixture().await;
    let mut body = new_deploy("api", "prod", 1);
    body["commit"]["message"] = "x".repeat(1024 * 1024 + 1).into();
    let (status, error) = post(&state, &body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn a_body_without_json_content_type_is_415() {
    let (state, _db) = fixture().await;
    let request = axum::http::Request::post("/api/v1/deploys")
        .header("authorization", format!("Bearer {WRITER}"))
        .header("content-type", "text/plain")
        .body(Body::from(new_deploy("api", "prod", 1).to_string()))
        .unwrap();
    let response = tower::ServiceExt::oneshot(shiplog_server::app(state.clone()), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn hostile_query_strings_are_answered_and_harmless() {
    let (state, _db) = fixture().await;
    create(&state, &new_deploy("api", "prod", 1)).await;
    let harmless = [
        "/api/v1/deploys?namespace=prod%27%20OR%20%271%27%3D%271",
        "/api/v1/deploys?app=api%22%3B%20DROP%20TABLE%20deploys%3B--",
        "/api/v1/deploys?q=%25",
        "/api/v1/deploys?q=_",
        "/api/v1/deploys?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ];
    for uri in harmless {
        let (status, page) = get(&state, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {page}");
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            0,
            "{uri} matched literally: {page}"
        );
    }
    let invalid = [
        ("/api/v1/deploys?q=%FF%FE", StatusCode::BAD_REQUEST),
        ("/api/v1/deploys?app=%C3%28", StatusCode::BAD_REQUEST),
        ("/api/v1/deploys?limit=-1", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "/api/v1/deploys?limit=1e9",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/deploys?status=1%20OR%201%3D1",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/deploys?cursor=%27%3B--",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/deploys?since=now",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("/api/v1/deploys?app=%00", StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (uri, expected) in invalid {
        let (status, error) = get(&state, uri).await;
        assert_eq!(status, expected, "{uri}: {error}");
        assert!(error["error"]["message"].is_string(), "{uri}: {error}");
    }
    let (status, page) = get(&state, "/api/v1/deploys").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "the table survived"
    );
    assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_error_shape() {
    let (state, _db) = fixture().await;
    let (status, error) = get(&state, "/api/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");
}

/// A server on a loopback port with the default limits, and its database.
async fn listening() -> (shiplog_server::local::LocalServer, TestDb) {
    let db = TestDb::new().await;
    let tokens = writer_only();
    let server = shiplog_server::local::LocalServer::start(db.store().await, tokens)
        .await
        .unwrap();
    (server, db)
}

async fn metrics_text(base: &str) -> String {
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn invented_methods_do_not_grow_the_metrics() {
    use rand::Rng as _;
    use rand::distr::Alphanumeric;

    let (server, _db) = listening().await;
    let address = crate::wire::address(&server.base);
    // A method as long as the head limit lets through, and one far longer.
    let method_length = shiplog_server::limits::MAX_HEAD_BYTES - 1024;
    let (status, _) = crate::wire::exchange(
        address,
        format!(
            "{} /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "X".repeat(300 * 1024)
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(status, 431, "a 300 KB method is over the head limit");
    let before = metrics_text(&server.base).await;

    let attacks: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async move {
                for n in 0..500 / 8 + 1 {
                    let method: String = rand::rng()
                        .sample_iter(Alphanumeric)
                        .take(method_length)
                        .map(char::from)
                        .collect();
                    let path = ["/healthz", "/api/v1/deploys", "/api/v1/nothing-here", "/"][n % 4];
                    let request = format!(
                        "{method} {path}?{n} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
                    );
                    let (status, _) = crate::wire::exchange(address, request.as_bytes()).await;
                    assert!(status >= 400, "{status} for an invented method on {path}");
                }
            })
        })
        .collect();
    for attack in attacks {
        attack.await.unwrap();
    }

    let after = metrics_text(&server.base).await;
    assert!(
        after.len() < before.len() + 10 * 1024,
        "/metrics grew from {} to {} bytes:\n{after}",
        before.len(),
        after.len()
    );
    assert!(after.contains("method=\"other\""), "{after}");
    assert!(after.contains("route=\"unmatched\""), "{after}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn query_parameters_over_their_maximum_are_400_and_named() {
    use shiplog_model::HistoryQuery;

    let (server, _db) = listening().await;
    let state = server.state.clone();
    create(&state, &new_deploy("api", "prod", 1)).await;
    let client = reqwest::Client::new();
    let get = |path: String| {
        let (client, base) = (client.clone(), server.base.clone());
        async move {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let insights_limits = [
        ("since", 64),
        ("until", 64),
        ("namespace", 1024),
        ("app", 1024),
    ];
    let cases = HistoryQuery::MAX_LENGTHS
        .iter()
        .map(|&(key, max)| ("/api/v1/deploys", key, max))
        .chain(insights_limits.map(|(key, max)| ("/api/v1/insights", key, max)));
    for (path, key, max) in cases {
        // Multi-byte characters: the maximum is in bytes.
        let value = "é".repeat(max / 2 + 1);
        let (status, error) = get(format!("{path}?{key}={value}")).await;
        assert_eq!(status, 400, "{path}?{key}: {error}");
        assert_eq!(error["error"]["code"], "parameter_too_long", "{error}");
        assert_eq!(error["error"]["field"], key, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&max.to_string()),
            "{error}"
        );
    }
    // The longest `q` is searched, not a database error: LIKE's special characters at their
    // longest (escaped, the pattern doubles) and multi-byte text.
    for q in ["%".repeat(1024), "_\\".repeat(512), "é".repeat(512)] {
        let encoded: String = url_encode(&q);
        let (status, page) = get(format!("/api/v1/deploys?q={encoded}")).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["items"].as_array().unwrap().len(), 0);
    }
    let (status, page) = get(format!("/api/v1/deploys?app=api&q={}", "api")).await;
    assert_eq!((status, page["items"].as_array().unwrap().len()), (200, 1));
    server.stop().await.unwrap();
}

fn url_encode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}
