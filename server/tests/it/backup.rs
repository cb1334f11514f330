//! `shiplog-server backup`: a copy of a live SQLite database taken while clients keep writing
//! holds every deploy acknowledged before it began, passes SQLite's integrity check and is
//! served by a server; an existing file is only replaced with `--force`; on PostgreSQL the
//! command points to `pg_dump` and exits 2.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use serde_json::Value;
use shiplog_model::{Deploy, DeployId, NewDeploy};
use shiplog_server::backup::{BackupError, backup};
use sqlx::Connection as _;
use tokio::process::Command;
use tokio::sync::{Mutex, watch};

use crate::binary::{BINARY, start, start_with};
use crate::common::*;

/// Deploys in the database before the load starts, so the copy takes a while.
const HISTORY: usize = 20_000;
/// Concurrent writing clients.
const CLIENTS: i64 = 8;

async fn run_backup(database: &str, to: &Path, extra: &[&str]) -> Output {
    Command::new(BINARY)
        .args([
            "backup",
            "--to",
            to.to_str().unwrap(),
            "--database",
            database,
        ])
        .args(extra)
        .output()
        .await
        .unwrap()
}

fn history(count: usize) -> Vec<Deploy> {
    let now = chrono::Utc::now();
    (0..count)
        .map(|n| {
            let mut body = new_deploy(&format!("app-{}", n % 7), "prod", n as i64);
            body["status"] = "succeeded".into();
            body["run"]["job"] = "history".into();
            let new: NewDeploy = serde_json::from_value(body).unwrap();
            new.into_deploy(DeployId(0), now)
        })
        .collect()
}

#[tokio::test]
async fn a_backup_under_write_load_holds_every_acknowledged_deploy() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    if db.is_postgres() {
        let output = run_backup(&db.url, &copy, &[]).await;
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("pg_dump"), "{stderr}");
        assert!(!stderr.contains(&db.url), "the URL is redacted: {stderr}");
        assert!(!copy.exists());
        return;
    }
    let store = db.store().await;
    store.insert_bulk(&history(HISTORY)).await.unwrap();
    drop(store);
    let server = start(&db.url).await;

    let client = reqwest::Client::new();
    let acknowledged: Arc<Mutex<Vec<(i64, Value)>>> = Arc::default();
    let (count_tx, mut count_rx) = watch::channel(0usize);
    let (stop_tx, stop_rx) = watch::channel(false);
    let writers: Vec<_> = (0..CLIENTS)
        .map(|worker| {
            let (client, base, acknowledged) =
                (client.clone(), server.base.clone(), acknowledged.clone());
            let (count_tx, stop_rx) = (count_tx.clone(), stop_rx.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    if *stop_rx.borrow() {
                        return;
                    }
                    let body = new_deploy(
                        &format!("app-{}", worker % 3),
                        "prod",
                        worker * 1_000_000 + n,
                    );
                    let response = client
                        .post(format!("{base}/api/v1/deploys"))
                        .bearer_auth(WRITER)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 201);
                    let created: Value = response.json().await.unwrap();
                    let mut acked = acknowledged.lock().await;
                    acked.push((created["id"].as_i64().unwrap(), body));
                    count_tx.send_replace(acked.len());
                }
            })
        })
        .collect();

    count_rx.wait_for(|n| *n >= 200).await.unwrap();
    // Every deploy in this list was acknowledged before the backup started.
    let before: Vec<(i64, Value)> = acknowledged.lock().await.clone();
    let output = run_backup(&db.url, &copy, &[]).await;
    let at_end = acknowledged.lock().await.len();
    // The server kept taking writes: more are acknowledged after the copy too.
    count_rx.wait_for(|n| *n >= at_end + 100).await.unwrap();
    stop_tx.send_replace(true);
    for writer in writers {
        writer.await.unwrap();
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    eprintln!(
        "backup: {} acknowledged before, {} during; {stderr}",
        before.len(),
        at_end - before.len()
    );

    let url = format!("sqlite://{}", copy.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let in_copy: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deploys")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    assert!(in_copy as usize >= HISTORY + before.len(), "{in_copy}");
    let reported = format!("backed up {in_copy} deploys (");
    assert!(stderr.contains(&reported), "{stderr}");

    drop(server);
    let restored = start(&url).await;
    for (id, sent) in &before {
        let response = client
            .get(format!("{}/api/v1/deploys/{id}", restored.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "acknowledged deploy {id} is not in the copy"
        );
        let stored: Value = response.json().await.unwrap();
        assert_eq!(stored["run"]["id"], sent["run"]["id"]);
        assert_eq!(stored["app"], sent["app"]);
    }
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_existing_file_is_replaced_only_with_force() {
    let source = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", source.path().join("history.db").display());
    let server = start_with(BINARY, &url, &[]).await;
    let client = reqwest::Client::new();
    let post = |run| {
        client
            .post(format!("{}/api/v1/deploys", server.base))
            .bearer_auth(WRITER)
            .json(&new_deploy("api", "prod", run))
            .send()
    };
    assert_eq!(post(1).await.unwrap().status(), 201);

    let out = tempfile::tempdir().unwrap();
    let to = out.path().join("backup.db");
    std::fs::write(&to, "an older backup").unwrap();
    let refused = run_backup(&url, &to, &[]).await;
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("{}: already exists; give --force", to.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&to).unwrap(), b"an older backup");

    assert_eq!(post(2).await.unwrap().status(), 201);
    let replaced = run_backup(&url, &to, &["--force"]).await;
    assert!(replaced.status.success(), "{replaced:?}");
    assert_eq!(names(out.path()), ["backup.db"], "no partial copy is left");
    let copy = backup(&url, &out.path().join("second.db"), false)
        .await
        .unwrap();
    assert_eq!(copy.deploys, 2);
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", to.display()))
        .await
        .unwrap();
    let deploys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deploys")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(deploys, 2);
}

#[tokio::test]
async fn a_missing_or_foreign_database_is_named_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("nope.db").display());
    let to = dir.path().join("copy.db");
    match backup(&missing, &to, false).await {
        Err(BackupError::Missing(name)) => assert_eq!(name, missing),
        other => panic!("expected Missing: {other:?}"),
    }
    assert_eq!(names(dir.path()), Vec::<String>::new(), "nothing created");

    let foreign = dir.path().join("other.db");
    let url = format!("sqlite://{}?mode=rwc", foreign.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE notes (text TEXT)")
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    let error = backup(&url, &to, false).await.unwrap_err();
    assert!(matches!(error, BackupError::NotShiplog(_)), "{error}");
    assert!(error.to_string().contains("other.db"), "{error}");
    assert_eq!(names(dir.path()), ["other.db"]);
}
