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
