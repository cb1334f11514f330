//! The environment matrix: latest and latest successful deploy per app, workload and namespace.

use serde_json::Value;

use crate::common::*;

fn cell<'a>(matrix: &'a Value, app: &str, workload: Option<&str>, namespace: &str) -> &'a Value {
    matrix["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["app"] == app
                && c["namespace"] == namespace
                && c.get("workload").and_then(Value::as_str) == workload
        })
        .unwrap_or_else(|| panic!("no cell for {app}/{workload:?}/{namespace} in {matrix}"))
}

#[tokio::test]
async fn latest_and_latest_success_per_app_workload_and_namespace() {
    let (state, _db) = fixture().await;
    let v1 = record(
        &state,
        new_deploy("api", "prod", 1),
        "2026-01-01T10:00:00Z",
        "succeeded",
    )
    .await;
    let v2 = record(
        &state,
        new_deploy("api", "prod", 2),
        "2026-01-02T10:00:00Z",
        "failed",
    )
    .await;
    let stage = record(
        &state,
        new_deploy("api", "stage", 3),
        "2026-01-03T10:00:00Z",
        "succeeded",
    )
    .await;
    // Recorded late, but older: must not displace the newer deploy.
    let old = record(
        &state,
        new_deploy("api", "prod", 4),
        "2025-12-01T10:00:00Z",
        "succeeded",
    )
    .await;
    let web = create(&state, &new_deploy("web", "prod", 5)).await;

    let (_, matrix) = get(&state, "/api/v1/environments").await;
    assert_eq!(matrix["apps"], serde_json::json!(["api", "web"]));
    assert_eq!(matrix["namespaces"], serde_json::json!(["prod", "stage"]));

    let prod = cell(&matrix, "api", None, "prod");
    assert_eq!(prod["latest"]["id"], v2);
    assert_eq!(prod["latest"]["status"], "failed");
    assert_eq!(prod["latest_success"]["id"], v1);
    assert_ne!(prod["latest"]["id"], old);
    let workload = cell(&matrix, "api", Some("api-server"), "prod");
    assert_eq!(workload["latest"]["id"], v2);
    assert_eq!(workload["latest_success"]["id"], v1);
    assert_eq!(cell(&matrix, "api", None, "stage")["latest"]["id"], stage);

    let in_progress = cell(&matrix, "web", None, "prod");
    assert_eq!(in_progress["latest"]["id"], web);
    assert!(in_progress.get("latest_success").is_none());

    // Finishing the in-progress deploy makes it the latest success.
    patch(&state, web, &serde_json::json!({"status": "succeeded"})).await;
    let (_, matrix) = get(&state, "/api/v1/environments").await;
    assert_eq!(
        cell(&matrix, "web", None, "prod")["latest_success"]["id"],
        web
    );
}
