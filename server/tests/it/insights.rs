//! Delivery insights over the API.

use axum::http::StatusCode;

use crate::common::*;

#[tokio::test]
async fn insights_count_failures_and_restores_per_namespace_and_app() {
    let (state, _db) = fixture().await;
    let deploys = [
        (
            "prod",
            1,
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:01:00Z",
            "succeeded",
        ),
        (
            "prod",
            2,
            "2026-01-02T10:00:00Z",
            "2026-01-02T10:02:00Z",
            "failed",
        ),
        (
            "prod",
            3,
            "2026-01-03T10:00:00Z",
            "2026-01-03T10:01:00Z",
            "succeeded",
        ),
        (
            "dev",
            4,
            "2026-01-03T11:00:00Z",
            "2026-01-03T11:01:00Z",
            "succeeded",
        ),
    ];
    for (namespace, run, started, finished, status) in deploys {
        let mut body = new_deploy("api", namespace, run);
        body["started_at"] = started.into();
        let id = create(&state, &body).await;
        let end = serde_json::json!({"status": status, "finished_at": finished});
        assert_eq!(patch(&state, id, &end).await.0, StatusCode::OK);
    }

    let uri = "/api/v1/insights?since=2026-01-01T00:00:00Z&until=2026-01-11T00:00:00Z";
    let (status, insights) = get(&state, uri).await;
    assert_eq!(status, StatusCode::OK, "{insights}");
    let rows = insights["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let prod = rows.iter().find(|r| r["namespace"] == "prod").unwrap();
    assert_eq!(prod["deploys"], 3);
    assert_eq!(prod["failures"], 1);
    assert!((prod["change_failure_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    // Broken when the failure ended (Jan 2 10:02), restored when the fix ended (Jan 3 10:01).
    assert_eq!(prod["median_time_to_restore_secs"], 86_340.0);
    assert_eq!(prod["median_duration_secs"], 60.0);

    let (status, only_dev) = get(&state, &format!("{uri}&namespace=dev")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(only_dev["rows"].as_array().unwrap().len(), 1);

    let (status, error) = get(&state, "/api/v1/insights?since=later").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "since");
}

#[tokio::test]
async fn non_api_paths_lead_to_the_console_and_other_methods_do_not() {
    let (state, _db) = fixture().await;
    let (status, _) = send(
        &state,
        axum::http::Method::POST,
        "/history",
        Some(WRITER),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Whether or not the console has been built, a deep link is answered with a page.
    let request = axum::http::Request::get("/history?namespace=prod")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(shiplog_server::app(state.clone()), request)
        .await
        .unwrap();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
}
