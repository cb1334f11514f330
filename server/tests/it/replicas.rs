//! Two server processes on one database, as replicas behind a load balancer: each sees the
//! other's writes live (PostgreSQL); on SQLite, which one process owns, nothing is followed.

use std::time::Duration;

use axum::http::StatusCode;
use shiplog_model::{DeployEventKind, DeployId};
use shiplog_server::AppState;
use shiplog_server::auth::Tokens;
use shiplog_server::events::{Next, Subscription};

use crate::common::*;

fn tokens() -> Tokens {
    writer_only()
}

/// The next event of `events`: its kind and deploy.
pub async fn next(events: &mut Subscription) -> (DeployEventKind, DeployId) {
    let next = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s");
    let Next::Event(frame) = next else {
        panic!("the stream is open, got {next:?}")
    };
    (frame.kind, frame.deploy)
}

#[tokio::test]
async fn a_replica_streams_and_shows_the_deploys_another_one_records() {
    let db = TestDb::new().await;
    let a = AppState::new(db.store().await, tokens(), "https://a.shiplog.test");
    let b = AppState::new(db.store().await, tokens(), "https://b.shiplog.test");
    let follower = shiplog_server::replicas::follow(&b).await.unwrap();
    if !db.is_postgres() {
        // One process owns a SQLite database: there is nobody to follow.
        assert!(follower.is_none());
        return;
    }
    let follower = follower.expect("PostgreSQL is followed");
    let mut events = b.events.subscribe(64, None);
    // B's environment matrix is cached before A writes.
    let (status, before) = get(&b, "/api/v1/environments").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!before.to_string().contains("\"billing\""));

    let created = create(&a, &new_deploy("billing", "prod", 1)).await;
    assert_eq!(
        next(&mut events).await,
        (DeployEventKind::Created, DeployId(created))
    );
    let (_, after) = get(&b, "/api/v1/environments").await;
    assert!(after.to_string().contains("\"billing\""), "{after}");

    let (status, _) = patch(&a, created, &serde_json::json!({"status": "succeeded"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        next(&mut events).await,
        (DeployEventKind::Updated, DeployId(created))
    );

    // B's own writes reach its stream once: from its API, not again from the database.
    let own = create(&b, &new_deploy("billing", "stage", 2)).await;
    assert_eq!(
        next(&mut events).await,
        (DeployEventKind::Created, DeployId(own))
    );
    let later = create(&a, &new_deploy("billing", "dev", 3)).await;
    assert_eq!(
        next(&mut events).await,
        (DeployEventKind::Created, DeployId(later))
    );
    follower.abort();
}
