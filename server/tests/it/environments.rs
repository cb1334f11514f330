//! The environment matrix: summaries of the latest and latest successful deploy per app and
//! namespace.

use serde_json::Value;

use crate::common::*;

fn cell<'a>(matrix: &'a Value, app: &str, namespace: &str) -> &'a Value {
    matrix["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["app"] == app && c["namespace"] == namespace)
        .unwrap_or_else(|| panic!("no cell for {app}/{namespace} in {matrix}"))
}

#[tokio::test]
async fn latest_and_latest_success_per_app_and_namespace() {
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

    assert_eq!(
        matrix["cells"].as_array().unwrap().len(),
        3,
        "one cell per app and namespace, none per workload: {matrix}"
    );
    let prod = cell(&matrix, "api", "prod");
    assert_eq!(prod["latest"]["id"], v2);
    assert_eq!(prod["latest"]["status"], "failed");
    assert_eq!(prod["latest_success"]["id"], v1);
    assert_ne!(prod["latest"]["id"], old);
    assert_eq!(cell(&matrix, "api", "stage")["latest"]["id"], stage);

    let in_progress = cell(&matrix, "web", "prod");
    assert_eq!(in_progress["latest"]["id"], web);
    assert!(in_progress.get("latest_success").is_none());

    // Finishing the in-progress deploy makes it the latest success.
    patch(&state, web, &serde_json::json!({"status": "succeeded"})).await;
    let (_, matrix) = get(&state, "/api/v1/environments").await;
    let finished = cell(&matrix, "web", "prod");
    assert_eq!(finished["latest_success"]["id"], web);
    assert_eq!(
        finished["latest"]["status"], "succeeded",
        "the summary was rewritten"
    );
    assert!(finished["latest"].get("finished_at").is_some());
}

#[tokio::test]
async fn a_cell_summarises_its_deploy() {
    let (state, _db) = fixture().await;
    let mut body = new_deploy("api", "prod", 7);
    body["commit"]["message"] = "Fix checkout\n\nThe long story.".into();
    body["resources"] = serde_json::json!([
        {"kind": "Deployment", "name": "api-server", "action": "configured"},
        {"kind": "Service", "name": "api", "action": "unchanged"},
    ]);
    let id = record(&state, body, "2026-01-01T10:00:00Z", "succeeded").await;
    let (_, matrix) = get(&state, "/api/v1/environments").await;
    let latest = &cell(&matrix, "api", "prod")["latest"];
    let (_, deploy) = get(&state, &format!("/api/v1/deploys/{id}")).await;
    assert_eq!(
        *latest,
        serde_json::json!({
            "id": id,
            "status": "succeeded",
            "version": "v1.7",
            "actor": "alice",
            "commit_sha": "0000000",
            "commit_title": "Fix checkout",
            "started_at": "2026-01-01T10:00:00Z",
            "finished_at": deploy["finished_at"],
            "workloads": 1,
            "resources": 2,
        })
    );
    assert_eq!(cell(&matrix, "api", "prod")["latest_success"], *latest);
}
