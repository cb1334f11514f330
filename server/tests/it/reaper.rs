//! No eternal "deploying": a deploy still open past its deadline is marked `abandoned` by the
//! server's reaper, streamed, kept in the environment matrix, and left alone by a second reaper
//! on the same database.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use shiplog_model::{DeployEventKind, DeployStatus};
use shiplog_server::auth::Tokens;
use shiplog_server::{AppState, reaper, serve};
use tokio::net::TcpListener;

use crate::common::*;
use crate::replicas::next;
use crate::sse::SseReader;

/// The reaper's period in these tests (30 s in production).
const PERIOD: Duration = Duration::from_millis(1000);

/// What a slow machine may add to a period: the database write and the event's way out.
const SLACK: Duration = Duration::from_secs(3);

fn tokens() -> Tokens {
    writer_only()
}

fn millis(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap()
}

fn time(at: DateTime<Utc>) -> Value {
    at.to_rfc3339_opts(SecondsFormat::Millis, true).into()
}

/// A deploy started ten minutes ago, due at `deadline`.
fn due(app: &str, run: i64, deadline: DateTime<Utc>) -> Value {
    let mut body = new_deploy(app, "prod", run);
    body["started_at"] = time(Utc::now() - chrono::Duration::minutes(10));
    body["deadline"] = time(deadline);
    body
}

/// The environment matrix's entry for `app` in `namespace` (the app as a whole), as JSON text.
async fn matrix_cell(state: &AppState, app: &str, namespace: &str) -> String {
    let (status, matrix) = get(state, "/api/v1/environments").await;
    assert_eq!(status, StatusCode::OK);
    matrix["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["app"] == app && c["namespace"] == namespace && c.get("workload").is_none())
        .map(Value::to_string)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_record_open_past_its_deadline_is_abandoned_within_one_reaper_period() {
    let db = TestDb::new().await;
    let state =
        AppState::new(db.store().await, tokens(), "https://shiplog.test").with_reap_period(PERIOD);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    let stream = reqwest::get(format!("{base}/api/v1/stream")).await.unwrap();
    let mut events = SseReader::new(stream);

    let deadline = millis(Utc::now() + chrono::Duration::milliseconds(500));
    let overdue = create(&state, &due("api", 1, deadline)).await;
    let open = create(
        &state,
        &due("web", 2, Utc::now() + chrono::Duration::hours(1)),
    )
    .await;
    let seen = tokio::time::timeout(PERIOD * 2 + SLACK, async {
        loop {
            let (kind, event) = events.next().await;
            if kind == "updated" {
                return event;
            }
        }
    })
    .await
    .expect("an update within one period after the deadline");
    let late = (Utc::now() - deadline).to_std().unwrap_or_default();
    assert!(
        late <= PERIOD + SLACK,
        "abandoned {late:?} after its deadline"
    );

    let deploy = &seen["deploy"];
    assert_eq!(deploy["id"], overdue);
    assert_eq!(deploy["status"], "abandoned");
    assert_eq!(
        deploy["failure"]["reason"],
        format!(
            "no result was reported by {} UTC: the job was cancelled or its runner stopped",
            deadline.format("%H:%M")
        )
    );
    assert_eq!(
        deploy["finished_at"],
        time(deadline),
        "it ended at its deadline"
    );
    let (_, stored) = get(&state, &format!("/api/v1/deploys/{overdue}")).await;
    assert_eq!(&stored, deploy);
    let (_, still_open) = get(&state, &format!("/api/v1/deploys/{open}")).await;
    assert_eq!(still_open["status"], "in_progress", "not due yet");

    // The environment matrix and the history agree with the record.
    let cell = matrix_cell(&state, "api", "prod").await;
    assert!(cell.contains("\"abandoned\""), "{cell}");
    let (_, page) = get(&state, "/api/v1/deploys?status=abandoned").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], overdue);

    // A writer that reports after all is refused with the record as the server left it.
    let (status, refused) = patch(&state, overdue, &json!({"status": "succeeded"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "finished");
    assert_eq!(&refused["deploy"], deploy);

    // A stream stays open until its client leaves (or the last publisher goes).
    drop(events);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn deploys_without_a_declared_deadline_get_one_hour() {
    let (state, _db) = fixture().await;
    let before = Utc::now();
    let id = create(&state, &new_deploy("api", "prod", 1)).await;
    let (_, deploy) = get(&state, &format!("/api/v1/deploys/{id}")).await;
    let deadline: DateTime<Utc> = deploy["deadline"].as_str().unwrap().parse().unwrap();
    let hour = chrono::Duration::hours(1);
    assert!(
        deadline >= before + hour && deadline <= Utc::now() + hour,
        "{deadline}"
    );
    assert!(reaper::reap(&state).await.unwrap().is_empty(), "not due");

    // A deploy recorded once it ended has no deadline to keep.
    let mut ended = new_deploy("api", "prod", 2);
    ended["status"] = "succeeded".into();
    let id = create(&state, &ended).await;
    let (_, deploy) = get(&state, &format!("/api/v1/deploys/{id}")).await;
    assert!(deploy.get("deadline").is_none(), "{deploy}");
}

#[tokio::test]
async fn two_reapers_on_one_database_abandon_a_deploy_once() {
    let db = TestDb::new().await;
    let a = AppState::new(db.store().await, tokens(), "https://a.shiplog.test");
    let b = AppState::new(db.store().await, tokens(), "https://b.shiplog.test");
    // On PostgreSQL each replica follows the other's writes (nobody to follow on SQLite).
    let follower = shiplog_server::replicas::follow(&b).await.unwrap();
    let mut a_events = a.events.subscribe(64, None);
    let mut b_events = b.events.subscribe(64, None);
    let deadline = Utc::now() - chrono::Duration::seconds(1);
    let ids: Vec<i64> = [
        create(&a, &due("api", 1, deadline)).await,
        create(&a, &due("web", 2, deadline)).await,
        create(&a, &due("worker", 3, deadline)).await,
    ]
    .into();
    // Created events of a's own writes.
    for _ in &ids {
        let (kind, _) = next(&mut a_events).await;
        assert_eq!(kind, DeployEventKind::Created);
    }

    let mut abandoned = Vec::new();
    for _ in 0..3 {
        if db.is_postgres() {
            let (by_a, by_b) = tokio::join!(reaper::reap(&a), reaper::reap(&b));
            abandoned.extend(by_a.unwrap());
            abandoned.extend(by_b.unwrap());
        } else {
            // A SQLite file belongs to one server process: its writers take turns.
            abandoned.extend(reaper::reap(&a).await.unwrap());
            abandoned.extend(reaper::reap(&b).await.unwrap());
        }
    }
    let mut abandoned_ids: Vec<i64> = abandoned.iter().map(|d| d.id.0).collect();
    abandoned_ids.sort_unstable();
    assert_eq!(abandoned_ids, ids, "each deploy abandoned exactly once");
    assert!(
        abandoned
            .iter()
            .all(|d| d.status == DeployStatus::Abandoned)
    );

    // On PostgreSQL the other replica's stream tells of every abandoned deploy once: of its own
    // reaping, and of the other's through its announcements.
    if let Some(follower) = follower {
        let mut seen: Vec<i64> = Vec::new();
        let mut distinct = std::collections::BTreeSet::new();
        while distinct.len() < ids.len() {
            let (kind, id) = next(&mut b_events).await;
            if kind == DeployEventKind::Updated {
                seen.push(id.0);
                distinct.insert(id.0);
            }
        }
        assert_eq!(seen.len(), ids.len(), "no deploy told twice: {seen:?}");
        follower.abort();
    }
}
