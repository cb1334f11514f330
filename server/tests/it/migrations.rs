//! A database written by an earlier release keeps working after the migrations that followed:
//! its deploys, its environment matrix, its idempotency keys; its open deploys get a deadline.

use std::path::Path;

use chrono::{Duration, Utc};
use shiplog_model::{DeployStatus, NewDeploy};
use shiplog_server::store::{Created, Store};

use crate::common::*;

/// Migrates the database at `url` as the first release did (`0001` only).
pub async fn migrate_as_first_release(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let backend = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let first = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend)
        .join("0001_deploys.sql");
    std::fs::copy(&source, first.path().join("0001_deploys.sql")).unwrap();
    let url = if backend == "sqlite" {
        format!("{url}?mode=rwc")
    } else {
        url.to_owned()
    };
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(first.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    pool
}

/// Writes `new` as the first release did: the row with its old key, and its `heads` row.
async fn insert_as_first_release(pool: &sqlx::AnyPool, new: NewDeploy) {
    let deploy = new.into_deploy(shiplog_model::DeployId(0), Utc::now());
    let mut record = serde_json::to_value(&deploy).unwrap();
    record.as_object_mut().unwrap().remove("deadline");
    let row = sqlx::query(
        "INSERT INTO deploys (repo, app, environment, namespace, status, actor, run_id, \
         run_attempt, run_job, started_at, finished_at, search, record) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(&deploy.repo)
    .bind(&deploy.app)
    .bind(&deploy.environment)
    .bind(&deploy.namespace)
    .bind(deploy.status.as_str())
    .bind(&deploy.actor)
    .bind(deploy.run.id)
    .bind(i64::from(deploy.run.attempt))
    .bind(&deploy.run.job)
    .bind(deploy.started_at.timestamp_millis())
    .bind(deploy.finished_at.map(|t| t.timestamp_millis()))
    .bind(shiplog_server::store::search_text(&deploy))
    .bind(record.to_string())
    .fetch_one(pool)
    .await
    .unwrap();
    let id: i64 = sqlx::Row::get(&row, "id");
    let at = deploy.started_at.timestamp_millis();
    sqlx::query(
        "INSERT INTO heads (app, workload, namespace, latest_id, latest_at, success_id, success_at) \
         VALUES ($1, '', $2, $3, $4, NULL, NULL) \
         ON CONFLICT (app, workload, namespace) DO UPDATE SET latest_id = excluded.latest_id, \
         latest_at = excluded.latest_at",
    )
    .bind(&deploy.app)
    .bind(&deploy.namespace)
    .bind(id)
    .bind(at)
    .execute(pool)
    .await
    .unwrap();
}

fn new(app: &str, run: i64, status: &str, started_hours_ago: i64) -> NewDeploy {
    let mut body = new_deploy(app, "prod", run);
    body["status"] = status.into();
    body["started_at"] = (Utc::now() - Duration::hours(started_hours_ago))
        .to_rfc3339()
        .into();
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn a_database_of_the_first_release_keeps_working() {
    let db = TestDb::new().await;
    let pool = migrate_as_first_release(&db.url).await;
    insert_as_first_release(&pool, new("api", 1, "succeeded", 3)).await;
    insert_as_first_release(&pool, new("web", 2, "in_progress", 2)).await;
    insert_as_first_release(&pool, new("worker", 3, "in_progress", 0)).await;
    pool.close().await;

    let store: Store = db.store().await;
    assert_eq!(store.count().await.unwrap(), 3);
    let old = store.get(shiplog_model::DeployId(1)).await.unwrap();
    assert_eq!(old.status, DeployStatus::Succeeded);
    assert_eq!(old.run.step, None);
    let matrix = store.environments().await.unwrap();
    assert_eq!(matrix.apps, ["api", "web", "worker"]);

    // An old writer's retry finds its deploy under the old key.
    match store
        .create(new("api", 1, "succeeded", 3), Utc::now())
        .await
    {
        Ok(Created::Existing(deploy)) => assert_eq!(deploy.id.0, 1),
        other => panic!("expected the existing deploy: {other:?}"),
    }
    // New ids continue after the old ones; a matrix leg of the old run is a deploy of its own.
    let mut leg = new("api", 1, "succeeded", 3);
    leg.app = "api-eu".into();
    match store.create(leg, Utc::now()).await {
        // (PostgreSQL spends a sequence number on the retry that conflicted.)
        Ok(Created::New(deploy)) => assert!(deploy.id.0 > 3, "{deploy:?}"),
        other => panic!("expected a new deploy: {other:?}"),
    }

    // Deploys left open by the old release are due an hour after their start.
    let abandoned = store.abandon_overdue(Utc::now()).await.unwrap();
    assert_eq!(abandoned.len(), 1, "{abandoned:?}");
    assert_eq!(abandoned[0].app, "web");
    assert_eq!(abandoned[0].status, DeployStatus::Abandoned);
    let recent = store.get(shiplog_model::DeployId(3)).await.unwrap();
    assert_eq!(recent.status, DeployStatus::InProgress, "due in an hour");
    let due = store
        .abandon_overdue(Utc::now() + Duration::minutes(61))
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].app, "worker");
}
