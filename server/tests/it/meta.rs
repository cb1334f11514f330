//! Health, metrics and the OpenAPI document.

use axum::http::StatusCode;

use crate::common::*;

#[tokio::test]
async fn openapi_describes_every_route() {
    let (state, _db) = fixture().await;
    let (status, doc) = get(&state, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/deploys", "post"),
        ("/api/v1/deploys", "get"),
        ("/api/v1/deploys/{id}", "get"),
        ("/api/v1/deploys/{id}", "patch"),
        ("/api/v1/environments", "get"),
        ("/api/v1/deliveries", "get"),
        ("/api/v1/stream", "get"),
        ("/healthz", "get"),
        ("/metrics", "get"),
        ("/api/v1/openapi.json", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "Deploy",
        "NewDeploy",
        "DeployUpdate",
        "EnvironmentMatrix",
        "ErrorBody",
        "Deliveries",
        "Delivery",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
}

#[tokio::test]
async fn health_and_metrics() {
    let (state, _db) = fixture().await;
    assert_eq!(
        get(&state, "/healthz").await,
        (StatusCode::OK, serde_json::json!({"status": "ok"}))
    );
    create(&state, &new_deploy("api", "prod", 1)).await;
    let text = state.metrics.render();
    assert!(
        text.contains(
            r#"shiplog_http_requests_total{method="POST",route="/api/v1/deploys",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"shiplog_deploy_writes_total{kind="created"} 1"#),
        "{text}"
    );
}

/// The response to `uri` for a client that accepts `accept_encoding`: status, headers, body.
async fn fetch(
    state: &shiplog_server::AppState,
    uri: &str,
    accept_encoding: Option<&str>,
) -> axum::http::Response<axum::body::Body> {
    use tower::ServiceExt as _;
    let mut request = axum::http::Request::builder().uri(uri);
    if let Some(encoding) = accept_encoding {
        request = request.header("accept-encoding", encoding);
    }
    shiplog_server::app(state.clone())
        .oneshot(request.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn answers_are_gzipped_for_clients_that_ask_and_streams_never() {
    use http_body_util::BodyExt as _;
    use std::io::Read as _;

    let (state, _db) = fixture().await;
    for run in 1..=20 {
        create(&state, &new_deploy("api", "prod", run)).await;
    }
    let plain = fetch(&state, "/api/v1/deploys", None).await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.into_body().collect().await.unwrap().to_bytes();

    let gzipped = fetch(&state, "/api/v1/deploys", Some("br;q=1.0, gzip;q=0.8")).await;
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert!(
        gzipped.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("accept-encoding")
    );
    let compressed = gzipped.into_body().collect().await.unwrap().to_bytes();
    assert!(
        compressed.len() * 3 < plain.len(),
        "{} → {}",
        plain.len(),
        compressed.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);

    // Events must reach the browser as they happen, not when a compressor's buffer fills.
    let stream = fetch(&state, "/api/v1/stream", Some("gzip")).await;
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert!(stream.headers().get("content-encoding").is_none());
}
