//! The history query: filters, free text, time range and keyset pagination.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::*;

/// 24 finished deploys: 3 apps × 2 namespaces × 4 days; every 3rd failed.
async fn seed(state: &shiplog_server::AppState) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut run = 0;
    for day in 1..=4 {
        for app in ["api", "web", "worker"] {
            for namespace in ["stage", "prod"] {
                run += 1;
                let status = if run % 3 == 0 { "failed" } else { "succeeded" };
                let started = format!("2026-01-0{day}T{:02}:00:00Z", run % 24);
                ids.push(record(state, new_deploy(app, namespace, run), &started, status).await);
            }
        }
    }
    ids
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("items")
}

fn sort_key(deploy: &Value) -> (String, i64) {
    (
        deploy["started_at"].as_str().unwrap().to_owned(),
        deploy["id"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn filters_combine_and_results_are_newest_first() {
    let (state, _db) = fixture().await;
    seed(&state).await;
    let (status, page) = get(&state, "/api/v1/deploys?namespace=prod&status=failed").await;
    assert_eq!(status, StatusCode::OK);
    let found = items(&page);
    assert_eq!(found.len(), 4, "{page}");
    for deploy in found {
        assert_eq!(deploy["namespace"], "prod");
        assert_eq!(deploy["status"], "failed");
    }
    let keys: Vec<_> = found.iter().map(sort_key).collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "newest first");
    assert!(page["next_cursor"].is_null());

    let (_, page) = get(
        &state,
        "/api/v1/deploys?app=web&namespace=stage&actor=alice&repo=acme%2Fshop&environment=stage",
    )
    .await;
    assert_eq!(items(&page).len(), 4);
    let (_, page) = get(&state, "/api/v1/deploys?actor=bob").await;
    assert_eq!(items(&page).len(), 0);
}

#[tokio::test]
async fn time_range_is_since_inclusive_until_exclusive() {
    let (state, _db) = fixture().await;
    seed(&state).await;
    let (_, page) = get(
        &state,
        "/api/v1/deploys?since=2026-01-02T00:00:00Z&until=2026-01-04T00:00:00Z&limit=100",
    )
    .await;
    let found = items(&page);
    assert_eq!(found.len(), 12);
    assert!(found.iter().all(|d| {
        let at = d["started_at"].as_str().unwrap();
        at.starts_with("2026-01-02") || at.starts_with("2026-01-03")
    }));
}

#[tokio::test]
async fn free_text_matches_case_insensitively_and_literally() {
    let (state, _db) = fixture().await;
    let mut special = new_deploy("billing", "prod", 500);
    special["commit"]["message"] = "Raise limit to 100% for Über_users".into();
    let special_id = create(&state, &special).await;
    let other_id = create(&state, &new_deploy("api", "prod", 501)).await;
    for (q, expected) in [
        ("über_users", 1),
        ("100%", 1),
        ("BILLING", 1),
        ("0%f", 0),
        ("ship it", 1),
        ("ghcr.io/acme", 2),
    ] {
        let uri = format!("/api/v1/deploys?q={}", urlencode(q));
        let (status, page) = get(&state, &uri).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(items(&page).len(), expected, "q={q}: {page}");
    }
    // Pages carry each deploy exactly as `GET /api/v1/deploys/{id}` returns it.
    let (_, page) = get(&state, "/api/v1/deploys").await;
    for (item, id) in items(&page).iter().zip([other_id, special_id]) {
        assert_eq!(item["id"], id);
        assert_eq!(item, &get(&state, &format!("/api/v1/deploys/{id}")).await.1);
    }
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn cursor_paging_visits_every_match_once_in_order() {
    let (state, _db) = fixture().await;
    let ids = seed(&state).await;
    // Two deploys at the same instant must still page deterministically.
    let same_time = "2026-01-09T00:00:00Z";
    record(
        &state,
        new_deploy("api", "prod", 900),
        same_time,
        "succeeded",
    )
    .await;
    record(
        &state,
        new_deploy("web", "prod", 901),
        same_time,
        "succeeded",
    )
    .await;

    let mut seen = Vec::new();
    let mut uri = String::from("/api/v1/deploys?limit=5");
    let mut pages = 0;
    loop {
        let (status, page) = get(&state, &uri).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        seen.extend(items(&page).iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/v1/deploys?limit=5&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), ids.len() + 2);
    assert_eq!(pages, 6);
    let unique: HashSet<i64> = seen.iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(unique.len(), seen.len(), "no deploy twice");
    let keys: Vec<_> = seen.iter().map(sort_key).collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted);

    // A filter and a cursor together.
    let (_, first) = get(&state, "/api/v1/deploys?namespace=prod&limit=3").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = get(
        &state,
        &format!("/api/v1/deploys?namespace=prod&limit=3&cursor={cursor}"),
    )
    .await;
    assert!(items(&second).iter().all(|d| d["namespace"] == "prod"));
    assert!(sort_key(&items(&second)[0]) < sort_key(items(&first).last().unwrap()));
}
