//! Upgrades go forward only. A database written by the first release (schema 0001, before any
//! other migration) is migrated at start-up and every deploy in it is served as it was
//! written; a database migrated by a newer server is refused, untouched.
//!
//! The first release's database is a committed fixture, `tests/fixtures/schema-0001.db`, written
//! by that release itself through its API ([`write_schema_0001_fixtures`]), with its PostgreSQL
//! twin `schema-0001.postgres.sql` dumped from it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use shiplog_server::store::{Backend, known_version};
use sqlx::{AnyPool, Row as _};
use tokio::process::Command;

use crate::binary::{BINARY, start_with};
use crate::common::*;
use crate::migrations::migrate_as_first_release;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A pool on `url` for the test's own reads and writes, around the server's.
async fn pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap()
}

/// Every deploy as stored: its id and its record, the id set in it (what the API serves).
async fn stored_records(url: &str) -> Vec<(i64, Value)> {
    let pool = pool(url).await;
    let rows = sqlx::query("SELECT id, record FROM deploys ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .map(|row| {
            let id: i64 = row.get("id");
            let mut record: Value = serde_json::from_str(row.get("record")).unwrap();
            record["id"] = id.into();
            (id, record)
        })
        .collect()
}

/// A record the first release left open, as the reaper closes it after the upgrade: due an
/// hour after its start (migration 0002), ended then, with the reason.
fn abandoned(mut record: Value) -> Value {
    let started: DateTime<Utc> = record["started_at"].as_str().unwrap().parse().unwrap();
    let deadline = started + chrono::Duration::hours(1);
    let time = deadline.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    record["status"] = "abandoned".into();
    record["deadline"] = time.clone().into();
    record["finished_at"] = time.into();
    record["failure"] = json!({"reason": shiplog_model::lifecycle::abandoned_reason(deadline)});
    record
}

#[tokio::test]
async fn a_database_of_the_first_schema_is_served_after_the_upgrade() {
    let db = TestDb::new().await;
    if db.is_postgres() {
        let pool = migrate_as_first_release(&db.url).await;
        let dump = std::fs::read_to_string(fixtures().join("schema-0001.postgres.sql")).unwrap();
        sqlx::raw_sql(&dump).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let path = db.url.strip_prefix("sqlite://").unwrap();
        std::fs::copy(fixtures().join("schema-0001.db"), path).unwrap();
    }
    let before = stored_records(&db.url).await;
    let statuses: Vec<&str> = before
        .iter()
        .map(|(_, r)| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "succeeded",
            "succeeded",
            "rolled_back",
            "cancelled",
            "in_progress",
            "succeeded",
            "in_progress"
        ],
        "the fixture's deploys"
    );

    let mut server = start_with(BINARY, &db.url, &["--log-format", "json"]).await;
    // Both open deploys are long past the hour 0002 gives them: the reaper closes them first.
    let reaped = server.logged("abandoned deploys past their deadline").await;
    let reaped: Value = serde_json::from_str(&reaped).unwrap();
    assert_eq!(reaped["fields"]["count"], 2, "{reaped}");
    let client = reqwest::Client::new();
    let served = |path: String| {
        let client = client.clone();
        let base = server.base.clone();
        async move {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    for (id, record) in &before {
        let expected = if record["status"] == "in_progress" {
            abandoned(record.clone())
        } else {
            record.clone()
        };
        let deploy = served(format!("/api/v1/deploys/{id}")).await;
        assert_eq!(deploy, expected, "deploy {id}");
    }
    let page = served("/api/v1/deploys".into()).await;
    let mut listed: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, before.iter().map(|(id, _)| *id).collect::<Vec<_>>());

    // The environment matrix: the latest (and latest successful) deploy of every app in every
    // namespace, from the first release's rows, one per app and one per workload.
    let matrix = served("/api/v1/environments".into()).await;
    let mut cells: Vec<(&str, &str, i64, Option<i64>)> = matrix["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let id = |side: &str| c[side]["id"].as_i64();
            let text = |key: &str| c[key].as_str().unwrap();
            (
                text("app"),
                text("namespace"),
                id("latest").unwrap(),
                id("latest_success"),
            )
        })
        .collect();
    cells.sort();
    assert_eq!(
        cells,
        [
            ("api", "prod", 6, Some(6)),
            ("api", "staging", 2, Some(2)),
            ("web", "prod", 3, None),
            ("web", "staging", 7, None),
            ("worker", "prod", 4, None),
            ("worker", "staging", 5, None),
        ]
    );
}

/// The database's state where a start-up could have changed it: on SQLite the file's bytes, on
/// PostgreSQL the migrations recorded, the tables and the deploys.
async fn snapshot(db: &TestDb) -> Vec<u8> {
    if !db.is_postgres() {
        return std::fs::read(db.url.strip_prefix("sqlite://").unwrap()).unwrap();
    }
    let pool = pool(&db.url).await;
    let mut state = String::new();
    for sql in [
        "SELECT version::TEXT || ' ' || description AS line FROM _sqlx_migrations ORDER BY version",
        "SELECT table_name::TEXT AS line FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY table_name",
        "SELECT id::TEXT || ' ' || revision::TEXT || ' ' || record AS line FROM deploys ORDER BY id",
    ] {
        for row in sqlx::query(sql).fetch_all(&pool).await.unwrap() {
            state.push_str(row.get("line"));
            state.push('\n');
        }
    }
    pool.close().await;
    state.into_bytes()
}

#[tokio::test]
async fn a_database_of_a_newer_server_is_refused_untouched() {
    let db = TestDb::new().await;
    let store = db.store().await;
    store
        .create(
            serde_json::from_value(new_deploy("api", "prod", 1)).unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    store.close().await;
    let pool = pool(&db.url).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer server', TRUE, $1, 0)",
    )
    .bind(vec![0u8; 48])
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let before = snapshot(&db).await;

    let output = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(BINARY)
            .args(["--listen", "127.0.0.1:0", "--database", &db.url])
            .output(),
    )
    .await
    .expect("the server exits")
    .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let known = known_version(if db.is_postgres() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    });
    let backend = if db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let files = std::fs::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend),
    );
    // Versions are the files' numbers, each used once; a branch may skip a number that
    // another branch takes.
    let mut versions: Vec<i64> = files
        .unwrap()
        .map(|file| {
            let name = file.unwrap().file_name().into_string().unwrap();
            name.split('_').next().unwrap().parse().unwrap()
        })
        .collect();
    versions.sort_unstable();
    let count = versions.len();
    versions.dedup();
    assert_eq!(versions.len(), count, "one migration per version");
    assert_eq!(
        versions.last(),
        Some(&known),
        "the newest migration's version"
    );
    let refusal =
        format!("database schema 9999 is newer than this server ({known}); upgrade the server");
    assert!(stderr.trim_end().ends_with(&refusal), "{stderr}");
    assert!(output.stdout.is_empty(), "it never listened");
    assert!(snapshot(&db).await == before, "the database was changed");
}

/// A write the first release was sent to make the fixture.
enum Write {
    Post(Value),
    /// An update to the deploy the `n`th post created.
    Patch(usize, Value),
}

/// What the fixture's deploys were made of: a week of two repositories' deploys, with every
/// status the first release knew, a failure rolled back, Slack threads, and two deploys never
/// finished.
fn first_release_writes() -> Vec<Write> {
    let deploy = |repo: &str, app: &str, namespace: &str, run: i64, started: &str| {
        json!({
            "repo": repo,
            "app": app,
            "namespace": namespace,
            "cluster": "eu-west-1",
            "version": format!("v2.{run}.0"),
            "images": [format!("ghcr.io/{repo}/{app}:v2.{run}.0")],
            "workloads": [{"kind": "Deployment", "name": app}],
            "commit": {
                "sha": format!("{:040x}", run * 7919),
                "message": format!("Release {app} v2.{run}.0\n\nChangelog: fixes and features."),
                "url": format!("https://github.com/{repo}/commit/{:040x}", run * 7919),
            },
            "ref": "refs/heads/main",
            "actor": if run % 2 == 0 { "alice" } else { "dependabot[bot]" },
            "run": {
                "id": 9_000_000 + run,
                "attempt": 1 + run % 2,
                "job": "deploy",
                "url": format!("https://github.com/{repo}/actions/runs/{}", 9_000_000 + run),
            },
            "started_at": started,
        })
    };
    let finished = |mut body: Value, status: &str, at: &str| {
        body["status"] = status.into();
        body["finished_at"] = at.into();
        body
    };
    let applied = |kind: &str, name: &str, namespace: &str, action: &str| {
        json!({"api_version": "apps/v1", "kind": kind, "name": name, "namespace": namespace,
               "action": action})
    };
    let mut api = finished(
        deploy("acme/shop", "api", "prod", 101, "2026-03-02T09:00:00Z"),
        "succeeded",
        "2026-03-02T09:04:31Z",
    );
    api["resources"] = json!([
        applied("Deployment", "api", "prod", "configured"),
        {"api_version": "v1", "kind": "Service", "name": "api", "namespace": "prod",
         "action": "unchanged"},
    ]);
    let mut later_api = finished(
        deploy("acme/shop", "api", "prod", 105, "2026-03-05T11:00:00Z"),
        "succeeded",
        "2026-03-05T11:03:02Z",
    );
    later_api["slack"] = json!({"channel": "C024BE91L", "ts": "1772708400.000200",
        "permalink": "https://acme.slack.com/archives/C024BE91L/p1772708400000200"});
    let mut staging_eu = deploy("acme/shop", "web", "staging", 106, "2026-03-05T12:00:00Z");
    staging_eu["environment"] = "staging-eu".into();
    vec![
        Write::Post(api),
        Write::Post(deploy(
            "acme/shop",
            "api",
            "staging",
            100,
            "2026-03-02T08:40:00Z",
        )),
        Write::Patch(
            1,
            json!({"status": "succeeded", "finished_at": "2026-03-02T08:44:10Z",
                   "resources": [applied("Deployment", "api", "staging", "created")]}),
        ),
        Write::Post(deploy(
            "acme/shop",
            "web",
            "prod",
            102,
            "2026-03-03T14:00:00Z",
        )),
        Write::Patch(
            2,
            json!({"status": "failed", "finished_at": "2026-03-03T14:06:00Z",
                   "resources": [applied("Deployment", "web", "prod", "failed")],
                   "failure": {"reason": "Deployment web did not become ready within 5m",
                               "details": ["pod web-7d4b9c-x2x9p: CrashLoopBackOff",
                                           "container web exited with code 1"]}}),
        ),
        Write::Patch(2, json!({"status": "rolled_back"})),
        Write::Post(finished(
            deploy(
                "acme/billing",
                "worker",
                "prod",
                103,
                "2026-03-04T09:00:00Z",
            ),
            "cancelled",
            "2026-03-04T09:01:15Z",
        )),
        Write::Post(deploy(
            "acme/billing",
            "worker",
            "staging",
            104,
            "2026-03-04T10:00:00Z",
        )),
        Write::Post(later_api),
        Write::Post(staging_eu),
    ]
}

/// Columns of the first schema's tables, in order, and whether each holds text.
const FIRST_SCHEMA: [(&str, &[(&str, bool)]); 2] = [
    (
        "deploys",
        &[
            ("id", false),
            ("repo", true),
            ("app", true),
            ("environment", true),
            ("namespace", true),
            ("status", true),
            ("actor", true),
            ("run_id", false),
            ("run_attempt", false),
            ("run_job", true),
            ("started_at", false),
            ("finished_at", false),
            ("search", true),
            ("record", true),
            ("revision", false),
        ],
    ),
    (
        "heads",
        &[
            ("app", true),
            ("workload", true),
            ("namespace", true),
            ("latest_id", false),
            ("latest_at", false),
            ("success_id", false),
            ("success_at", false),
        ],
    ),
];

/// The rows of the first schema's tables in `pool`, as PostgreSQL `INSERT` statements.
async fn dump_first_schema(pool: &AnyPool) -> String {
    let mut sql = String::from(
        "-- The deploys and environment matrix of schema-0001.db, written by the first release\n\
         -- (written by `write_schema_0001_fixtures`; apply after migration 0001).\n",
    );
    for (table, columns) in FIRST_SCHEMA {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let select = format!("SELECT {} FROM {table} ORDER BY 1, 2, 3", names.join(", "));
        let rows = sqlx::query(&select).fetch_all(pool).await.unwrap();
        let tuples: Vec<String> = rows
            .iter()
            .map(|row| {
                let values: Vec<String> = columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, text))| {
                        let value = if *text {
                            row.get::<Option<String>, _>(i)
                                .map(|t| format!("'{}'", t.replace('\'', "''")))
                        } else {
                            row.get::<Option<i64>, _>(i).map(|n| n.to_string())
                        };
                        value.unwrap_or_else(|| "NULL".into())
                    })
                    .collect();
                format!("    ({})", values.join(", "))
            })
            .collect();
        sql.push_str(&format!(
            "INSERT INTO {table} ({}) VALUES\n{};\n",
            names.join(", "),
            tuples.join(",\n")
        ));
    }
    sql.push_str(
        "SELECT setval(pg_get_serial_sequence('deploys', 'id'), (SELECT MAX(id) FROM deploys));\n",
    );
    sql
}

/// Writes `tests/fixtures/schema-0001.db` with the first release of the server
/// (`SHIPLOG_FIRST_RELEASE`: its binary, built from the last commit with migration 0001 only),
/// through its API, and `schema-0001.postgres.sql` from that database.
#[tokio::test]
#[ignore = "writes tests/fixtures/schema-0001.*; see tests/fixtures/README.md"]
async fn write_schema_0001_fixtures() {
    let program = std::env::var("SHIPLOG_FIRST_RELEASE")
        .expect("SHIPLOG_FIRST_RELEASE: the first release's shiplog-server binary");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schema-0001.db");
    let url = format!("sqlite://{}", file.display());
    let mut server = start_with(&program, &url, &[]).await;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for write in first_release_writes() {
        let (request, expected) = match &write {
            Write::Post(body) => (
                client
                    .post(format!("{}/api/v1/deploys", server.base))
                    .json(body),
                201,
            ),
            Write::Patch(n, body) => {
                let id: i64 = ids[*n];
                (
                    client
                        .patch(format!("{}/api/v1/deploys/{id}", server.base))
                        .json(body),
                    200,
                )
            }
        };
        let response = request.bearer_auth(WRITER).send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, expected, "{answer}");
        if let Write::Post(_) = write {
            ids.push(answer["id"].as_i64().unwrap());
        }
    }
    server.signal("TERM");
    assert!(server.child.wait().await.unwrap().success());
    let pool = pool(&url).await;
    let migrations: Vec<i64> = sqlx::query("SELECT version FROM _sqlx_migrations")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("version"))
        .collect();
    assert_eq!(migrations, [1], "the first schema only");
    let dump = dump_first_schema(&pool).await;
    // One file, no write-ahead log beside it.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("PRAGMA journal_mode = DELETE")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    std::fs::copy(&file, fixtures().join("schema-0001.db")).unwrap();
    std::fs::write(fixtures().join("schema-0001.postgres.sql"), dump).unwrap();
}
