//! Retention (`--retain`): finished deploys that ended before the cutoff are deleted in batches
//! of [`PRUNE_BATCH`]; open deploys and those the environment matrix shows are kept, and the
//! matrix reads as before.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use shiplog_model::{Deploy, DeployId, NewDeploy};
use shiplog_server::store::{PRUNE_BATCH, Pruned};

use crate::binary::{BINARY, start_with};
use crate::common::*;

/// A deploy of `app` in `namespace` that started `days` ago and, unless `status` is
/// `in_progress`, ended five minutes later.
fn aged(app: &str, namespace: &str, run: i64, days: i64, status: &str) -> Deploy {
    let now = Utc::now();
    let started = now - Duration::days(days) + Duration::minutes(run % 1000);
    let mut body = new_deploy(app, namespace, run);
    body["status"] = status.into();
    body["started_at"] = started.to_rfc3339().into();
    if status != "in_progress" {
        body["finished_at"] = (started + Duration::minutes(5)).to_rfc3339().into();
    }
    let new: NewDeploy = serde_json::from_value(body).unwrap();
    new.into_deploy(DeployId(0), now)
}

/// Ids of every deploy in the history, newest first.
async fn history_ids(state: &shiplog_server::AppState) -> Vec<i64> {
    let (status, page) = get(state, "/api/v1/deploys?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["next_cursor"].is_null(), "one page: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn old_finished_deploys_go_in_bounded_batches_and_the_matrix_stays() {
    let (state, _db) = fixture().await;
    let old = 2_500;
    // 2,500 old failures in shop/prod and shop/dev, then what must stay.
    let mut deploys: Vec<Deploy> = (0..old)
        .map(|n| aged("shop", ["prod", "dev"][n as usize % 2], n, 500, "failed"))
        .collect();
    let keep = [
        // The last success of shop in dev, however old: the matrix shows it.
        aged("shop", "dev", 10_001, 450, "succeeded"),
        // The only deploy of legacy in prod: the matrix shows it.
        aged("legacy", "prod", 10_002, 600, "succeeded"),
        // Still open: never deleted (the reaper closes it first).
        aged("shop", "prod", 10_003, 500, "in_progress"),
        // Ended within the retention.
        aged("shop", "prod", 10_004, 399, "failed"),
        aged("shop", "prod", 10_005, 1, "succeeded"),
        aged("shop", "dev", 10_006, 1, "failed"),
    ];
    deploys.extend(keep.iter().cloned());
    state.store.insert_bulk(&deploys).await.unwrap();
    let kept_ids: Vec<i64> = (old + 1..=old + keep.len() as i64).rev().collect();
    let (_, matrix_before) = get(&state, "/api/v1/environments").await;

    let cutoff: DateTime<Utc> = Utc::now() - Duration::days(400);
    let pruned = state.store.prune_finished(cutoff).await.unwrap();
    assert_eq!(
        pruned,
        Pruned {
            deleted: old as u64,
            batches: 3
        },
        "2,500 deploys in batches of {PRUNE_BATCH}"
    );
    assert_eq!(PRUNE_BATCH, 1000);

    let mut remaining = history_ids(&state).await;
    remaining.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(remaining, kept_ids);
    assert_eq!(state.store.count().await.unwrap(), keep.len() as i64);
    let (status, gone) = get(&state, "/api/v1/deploys/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");

    // The matrix is as it was, and every deploy it names can be opened.
    let (_, matrix_after) = get(&state, "/api/v1/environments").await;
    assert_eq!(matrix_after, matrix_before);
    let cells = matrix_after["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 3, "{matrix_after}");
    for cell in cells {
        for side in ["latest", "latest_success"] {
            if let Some(id) = cell[side]["id"].as_i64() {
                let (status, _) = get(&state, &format!("/api/v1/deploys/{id}")).await;
                assert_eq!(status, StatusCode::OK, "{side} of {cell}");
            }
        }
    }

    // Nothing more to do: one empty batch.
    let again = state.store.prune_finished(cutoff).await.unwrap();
    assert_eq!(
        again,
        Pruned {
            deleted: 0,
            batches: 1
        }
    );
}

#[tokio::test]
async fn the_server_prunes_at_start_with_retain() {
    let db = TestDb::new().await;
    let store = db.store().await;
    store
        .insert_bulk(&[
            aged("api", "prod", 1, 30, "succeeded"),
            aged("api", "prod", 2, 20, "failed"),
            aged("api", "prod", 3, 2, "succeeded"),
        ])
        .await
        .unwrap();
    let flags = ["--retain", "10d", "--log-format", "json"];
    let mut server = start_with(BINARY, &db.url, &flags).await;
    let line = server.logged("pruned finished deploys").await;
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["fields"]["deleted"], 2, "{line}");
    let client = reqwest::Client::new();
    for (id, status) in [(1, 404), (2, 404), (3, 200)] {
        let response = client
            .get(format!("{}/api/v1/deploys/{id}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "deploy {id}");
    }
    let matrix: Value = client
        .get(format!("{}/api/v1/environments", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(matrix["cells"][0]["latest"]["id"], 3);
}
