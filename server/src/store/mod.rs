//! Deploy storage on SQLite or PostgreSQL through one set of queries.
//!
//! [`Store::open`] creates the database (for SQLite, the file and its directory), applies the
//! embedded migrations of the chosen backend and tunes the connection. Every other method runs
//! the same SQL on both backends through sqlx's `Any` driver: only `$n` placeholders, `ON
//! CONFLICT`, `RETURNING` and integer/text columns, which both understand alike.
//!
//! Invariants:
//! - A write and the environment-matrix rows (`heads`) it affects commit in one transaction.
//! - Updates are optimistic: a row is rewritten only if its `revision` is unchanged, so two
//!   concurrent updates can never lose one another's fields.
//! - On PostgreSQL every committed write is announced to the other server processes
//!   ([`crate::replicas::Announcer`]), outside the write's transaction.
//! - With webhooks configured, the deliveries a write causes are enqueued in its transaction
//!   (`deliveries.rs`); the worker that sends them is woken once it commits.
//! - This module knows nothing about HTTP.

mod bulk;
mod deliveries;
mod history;
mod insights;
mod lifecycle;
mod locks;
mod manifests;
mod retention;
mod schema;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use shiplog_model::ingest::UpdateError;
use shiplog_model::{
    DeliveryEvent, Deploy, DeployEventKind, DeployId, DeploySummary, DeployUpdate, EnvironmentCell,
    EnvironmentMatrix, FieldError, NewDeploy, TransitionError,
};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row};

use bulk::{bind_columns, run_step};
pub use deliveries::{Attempted, Claimed, DeliveryFilter};
pub use history::search_text;
pub use insights::SampleFilter;
pub use locks::Actor;
pub use manifests::Kept;
pub use retention::{PRUNE_BATCH, Pruned};
pub use schema::known_version;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

/// Everything that can go wrong in the store, split by what the caller should answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("deploy not found")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// A status change no writer may make; the deploy as stored.
    #[error("{0}")]
    Transition(TransitionError, Box<Deploy>),
    /// An update to a deploy that has finished; the deploy as stored.
    #[error("the deploy has already finished ({}): its record no longer changes", .0.status)]
    Finished(Box<Deploy>),
    #[error("the database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("could not apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was migrated by a newer server; it is left as it is.
    #[error("database schema {found} is newer than this server ({known}); upgrade the server")]
    NewerSchema { found: i64, known: i64 },
    #[error("an environment-matrix row has no summary of its latest deploy")]
    Unsummarised,
    #[error("stored deploy record is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("could not create the database directory: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// The store's error for `e`, an update refused on `deploy` (as stored).
    fn refused_update(e: UpdateError, deploy: &Deploy) -> Self {
        match e {
            UpdateError::Invalid(e) => e.into(),
            UpdateError::Transition(e) => StoreError::Transition(e, Box::new(deploy.clone())),
            UpdateError::Finished(_) => StoreError::Finished(Box::new(deploy.clone())),
        }
    }
}

/// Whether a create made a new deploy or found the one with the same idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New(Deploy),
    Existing(Deploy),
}

/// The deploy history database.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Names this store in the announcements of its writes, unique among the processes (and the
    /// stores of one process) sharing a database.
    origin: Arc<str>,
    /// Announces committed writes to the other processes (PostgreSQL only).
    announcer: Option<crate::replicas::Announcer>,
    /// The PostgreSQL URL, for the connection that listens to other processes' writes.
    postgres_url: Option<Arc<str>>,
    /// Reads. On SQLite several connections read in parallel under WAL.
    reads: AnyPool,
    /// Writes. On SQLite one connection, so writers queue in the pool instead of spinning on
    /// the database lock.
    writes: AnyPool,
    /// The webhooks whose deliveries writes enqueue, when any are configured.
    outbox: Option<Arc<crate::webhooks::Outbox>>,
}

/// Leaves out the URL: it may hold a password.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to `url`, creating and migrating the database as needed; refuses a database
    /// migrated by a newer server ([`StoreError::NewerSchema`]) without changing it.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let store = match backend {
            Backend::Sqlite => {
                schema::refuse_newer_sqlite(url).await?;
                let url = schema::sqlite_url_creating_file(url)?;
                let writes = sqlite_pool(&url, 1).await?;
                schema::migrate(backend, &writes).await?;
                let reads = sqlite_pool(&url, 8).await?;
                Store {
                    backend,
                    origin: new_origin(),
                    announcer: None,
                    postgres_url: None,
                    reads,
                    writes,
                    outbox: None,
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                schema::refuse_newer_postgres(&pool).await?;
                schema::migrate(backend, &pool).await?;
                let origin = new_origin();
                Store {
                    backend,
                    announcer: Some(crate::replicas::Announcer::start(
                        pool.clone(),
                        origin.clone(),
                    )),
                    origin,
                    postgres_url: Some(url.into()),
                    reads: pool.clone(),
                    writes: pool,
                    outbox: None,
                }
            }
        };
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// What this store's write announcements carry as their origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The PostgreSQL database's URL (with its credentials: never log it); `None` on SQLite.
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres_url.as_deref()
    }

    /// Closes the store's connections, waiting for them to finish (on SQLite, the last one
    /// folds the write-ahead log into the database file). Every clone of the store is closed.
    pub async fn close(&self) {
        self.writes.close().await;
        self.reads.close().await;
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reads).await?;
        Ok(())
    }

    /// Records a new deploy, or returns the existing one with the same idempotency key.
    pub async fn create(&self, new: NewDeploy, now: DateTime<Utc>) -> Result<Created, StoreError> {
        new.validate_at(now)?;
        let deploy = new.into_deploy(DeployId(0), now);
        let mut tx = self.writes.begin().await?;
        let statement = sqlx::query(
            "INSERT INTO deploys (repo, app, environment, namespace, status, actor, run_id, \
             run_attempt, run_job, run_step, started_at, finished_at, deadline, search, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (repo, run_id, run_attempt, run_job, run_step, app, environment, \
             namespace) DO NOTHING \
             RETURNING id",
        );
        let inserted = bind_columns(statement, &deploy)?
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = inserted else {
            tx.rollback().await?;
            let existing = self.find_by_key(&deploy).await?;
            return Ok(Created::Existing(existing));
        };
        let deploy = Deploy {
            id: DeployId(row.try_get("id")?),
            ..deploy
        };
        schema::touch_heads(&mut tx, &deploy).await?;
        let mut events = vec![DeliveryEvent::Started];
        if deploy.status.is_terminal() {
            events.push(DeliveryEvent::Finished);
        }
        let enqueued = self.enqueue(&mut tx, &events, &deploy, now).await?;
        tx.commit().await?;
        self.announce(DeployEventKind::Created, deploy.id);
        self.wake_worker(enqueued);
        Ok(Created::New(deploy))
    }

    /// Enqueues the deliveries of `events` of `deploy` in `tx`; whether any was enqueued.
    async fn enqueue(
        &self,
        tx: &mut sqlx::Transaction<'static, Any>,
        events: &[DeliveryEvent],
        deploy: &Deploy,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut enqueued = false;
        if let Some(outbox) = &self.outbox {
            for &event in events {
                enqueued |= deliveries::enqueue(tx, outbox, event, deploy, now).await?;
            }
        }
        Ok(enqueued)
    }

    /// Wakes this process's delivery worker after a write that `enqueued` deliveries committed.
    fn wake_worker(&self, enqueued: bool) {
        if let (true, Some(outbox)) = (enqueued, &self.outbox) {
            outbox.wake.notify_one();
        }
    }

    /// Tells the other server processes on this PostgreSQL database about a committed write
    /// (nothing on SQLite).
    fn announce(&self, kind: DeployEventKind, id: DeployId) {
        if let Some(announcer) = &self.announcer {
            announcer.announce(kind, id);
        }
    }

    async fn find_by_key(&self, key: &Deploy) -> Result<Deploy, StoreError> {
        let row = sqlx::query(
            "SELECT id, record FROM deploys WHERE repo = $1 AND run_id = $2 AND run_attempt = $3 \
             AND run_job = $4 AND run_step = $5 AND app = $6 AND environment = $7 \
             AND namespace = $8",
        )
        .bind(&key.repo)
        .bind(key.run.id)
        .bind(i64::from(key.run.attempt))
        .bind(&key.run.job)
        .bind(run_step(key))
        .bind(&key.app)
        .bind(&key.environment)
        .bind(&key.namespace)
        .fetch_optional(&self.writes)
        .await?
        .ok_or(StoreError::NotFound)?;
        decode(&row, "id", "record")
    }

    /// Applies `update` to deploy `id`, enforcing the status state machine; a finished deploy
    /// is left as it is ([`StoreError::Finished`] unless the update changes nothing).
    pub async fn update(
        &self,
        id: DeployId,
        update: &DeployUpdate,
        now: DateTime<Utc>,
    ) -> Result<Deploy, StoreError> {
        let changed = self
            .modify(id, |deploy| {
                let stored = deploy.clone();
                update
                    .apply_to(deploy, now)
                    .map_err(|e| StoreError::refused_update(e, &stored))?;
                Ok(true)
            })
            .await?;
        Ok(changed.expect("an accepted update is written"))
    }

    /// Reads deploy `id`, lets `change` change it and writes it back with the environment
    /// matrix rows it affects, unless `change` says it changed nothing (`Ok(false)`: `None`).
    /// Optimistic: when another writer got there first, starts over from its version.
    async fn modify(
        &self,
        id: DeployId,
        change: impl Fn(&mut Deploy) -> Result<bool, StoreError>,
    ) -> Result<Option<Deploy>, StoreError> {
        loop {
            let mut tx = self.writes.begin().await?;
            let row = sqlx::query("SELECT id, record, revision FROM deploys WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            let revision: i64 = row.try_get("revision")?;
            let mut deploy = decode(&row, "id", "record")?;
            let was_open = !deploy.status.is_terminal();
            if !change(&mut deploy)? {
                tx.rollback().await?;
                return Ok(None);
            }
            let written = sqlx::query(
                "UPDATE deploys SET status = $1, finished_at = $2, search = $3, record = $4, \
                 revision = revision + 1 WHERE id = $5 AND revision = $6",
            )
            .bind(deploy.status.as_str())
            .bind(deploy.finished_at.map(|t| t.timestamp_millis()))
            .bind(search_text(&deploy))
            .bind(serde_json::to_string(&deploy)?)
            .bind(id.0)
            .bind(revision)
            .execute(&mut *tx)
            .await?;
            if written.rows_affected() == 1 {
                schema::touch_heads(&mut tx, &deploy).await?;
                let ended = was_open && deploy.status.is_terminal();
                let finished: &[DeliveryEvent] = if ended {
                    &[DeliveryEvent::Finished]
                } else {
                    &[]
                };
                let enqueued = self.enqueue(&mut tx, finished, &deploy, Utc::now()).await?;
                tx.commit().await?;
                self.announce(DeployEventKind::Updated, id);
                self.wake_worker(enqueued);
                return Ok(Some(deploy));
            }
            tx.rollback().await?;
        }
    }

    /// One deploy by id.
    pub async fn get(&self, id: DeployId) -> Result<Deploy, StoreError> {
        let row = sqlx::query("SELECT id, record FROM deploys WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.reads)
            .await?
            .ok_or(StoreError::NotFound)?;
        decode(&row, "id", "record")
    }

    /// The summaries of the latest and latest successful deploy of every app in every
    /// namespace, as `heads` keeps them.
    pub async fn environments(&self) -> Result<EnvironmentMatrix, StoreError> {
        let rows = sqlx::query("SELECT app, namespace, latest, success FROM heads")
            .fetch_all(&self.reads)
            .await?;
        let summary = |row: &AnyRow, column: &str| -> Result<Option<DeploySummary>, StoreError> {
            let text: Option<String> = row.try_get(column)?;
            Ok(text.as_deref().map(serde_json::from_str).transpose()?)
        };
        let cells = rows
            .iter()
            .map(|row| {
                Ok(EnvironmentCell {
                    app: row.try_get("app")?,
                    namespace: row.try_get("namespace")?,
                    // Written by every write, and at start-up for rows from before summaries.
                    latest: summary(row, "latest")?.ok_or(StoreError::Unsummarised)?,
                    latest_success: summary(row, "success")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(EnvironmentMatrix::from_cells(cells))
    }

    /// How many deploys are stored.
    pub async fn count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM deploys")
            .fetch_one(&self.reads)
            .await?
            .try_get("n")?)
    }
}

async fn sqlite_pool(url: &str, connections: u32) -> Result<AnyPool, StoreError> {
    Ok(AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| Box::pin(tune_sqlite(conn)))
        .connect(url)
        .await?)
}

/// Per-connection settings. WAL lets readers proceed during a write; `synchronous = NORMAL`
/// keeps every committed transaction across a process crash (only an OS crash or power loss
/// may lose the last ones).
async fn tune_sqlite(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    for pragma in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA busy_timeout = 10000",
        "PRAGMA foreign_keys = ON",
    ] {
        sqlx::query(pragma).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rebuilds a deploy from its JSON `record` and its `id` column.
fn decode(row: &AnyRow, id_column: &str, record_column: &str) -> Result<Deploy, StoreError> {
    let record: String = row.try_get(record_column)?;
    let mut deploy: Deploy = serde_json::from_str(&record)?;
    deploy.id = DeployId(row.try_get(id_column)?);
    Ok(deploy)
}

/// A new [`Store::origin`]: this process and a counter, so that two stores of one process (as in
/// tests) differ too.
fn new_origin() -> Arc<str> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{}-{started}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::bulk::bulk_insert_sql;
    use super::*;
    use shiplog_model::DeployStatus;

    /// Deploys of two apps in two namespaces, with workloads that come and go, statuses that
    /// vary and start times out of id order (including ties).
    fn mixed_history() -> Vec<NewDeploy> {
        let statuses = [
            "succeeded",
            "failed",
            "succeeded",
            "cancelled",
            "rolled_back",
        ];
        (0..40)
            .map(|n: i64| {
                let workloads: Vec<_> = ["api", "worker"]
                    .iter()
                    .take(1 + (n % 3) as usize)
                    .skip((n % 2) as usize)
                    .map(|name| serde_json::json!({"kind": "Deployment", "name": name}))
                    .collect();
                let minute = (n * 7) % 23;
                let app = ["shop", "admin"][(n % 2) as usize];
                let namespace = ["dev", "prod"][(n / 3 % 2) as usize];
                let status = statuses[(n % 5) as usize];
                serde_json::from_value(serde_json::json!({
                    "repo": "acme/shop",
                    "app": app,
                    "namespace": namespace,
                    "status": status,
                    "workloads": workloads,
                    "commit": {"sha": format!("{n:040x}")},
                    "actor": "alice",
                    "run": {"id": n, "job": "deploy"},
                    "started_at": format!("2026-01-01T00:{minute:02}:00Z"),
                    "finished_at": format!("2026-01-01T01:{minute:02}:00Z"),
                }))
                .unwrap()
            })
            .collect()
    }

    async fn store_in(dir: &tempfile::TempDir, name: &str) -> Store {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        Store::open(&url).await.unwrap()
    }

    /// A database written by a server from before summaries (migrations 0001 and 0002): `heads`
    /// had a row per app and per workload, and pointed at whole records.
    #[tokio::test]
    async fn rows_from_before_summaries_are_kept_and_summarised() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let pool = sqlite_pool(&url, 1).await.unwrap();
        let first = sqlx::migrate::Migrator {
            migrations: schema::SQLITE.migrations[..2].to_vec().into(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        first.run(&pool).await.unwrap();
        let now = "2026-02-01T00:00:00Z".parse().unwrap();
        let history = mixed_history();
        let deploys: Vec<Deploy> = history[..2]
            .iter()
            .map(|new| new.clone().into_deploy(DeployId(0), now))
            .collect();
        for deploy in &deploys {
            let sql = bulk_insert_sql(1);
            let insert = sqlx::query(&sql);
            bind_columns(insert, deploy)
                .unwrap()
                .execute(&pool)
                .await
                .unwrap();
        }
        // Deploy 1 succeeded (shop in dev), deploy 2 failed (admin in dev); rows per workload.
        for (app, workload, latest, success) in [
            ("shop", "", 1, Some(1)),
            ("shop", "api", 1, Some(1)),
            ("admin", "", 2, None),
            ("admin", "worker", 2, None),
        ] {
            sqlx::query(
                "INSERT INTO heads (app, workload, namespace, latest_id, latest_at, success_id, \
                 success_at) VALUES ($1, $2, 'dev', $3, 0, $4, $5)",
            )
            .bind(app)
            .bind(workload)
            .bind(latest)
            .bind(success)
            .bind(success.map(|_| 0))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;

        let store = Store::open(&url).await.unwrap();
        let matrix = store.environments().await.unwrap();
        let summary = |id: i64| {
            DeploySummary::of(&Deploy {
                id: DeployId(id),
                ..deploys[id as usize - 1].clone()
            })
        };
        assert_eq!(
            matrix,
            EnvironmentMatrix::from_cells(vec![
                EnvironmentCell {
                    app: "shop".into(),
                    namespace: "dev".into(),
                    latest: summary(1),
                    latest_success: Some(summary(1)),
                },
                EnvironmentCell {
                    app: "admin".into(),
                    namespace: "dev".into(),
                    latest: summary(2),
                    latest_success: None,
                },
            ])
        );
        assert_eq!(deploys[1].status, DeployStatus::Failed);
    }

    #[tokio::test]
    async fn insert_bulk_keeps_heads_as_create_does() {
        let dir = tempfile::tempdir().unwrap();
        let (one_by_one, bulk) = (store_in(&dir, "a.db").await, store_in(&dir, "b.db").await);
        let now = "2026-02-01T00:00:00Z".parse().unwrap();
        let history = mixed_history();
        for new in history.clone() {
            assert!(matches!(
                one_by_one.create(new, now).await,
                Ok(Created::New(_))
            ));
        }
        let deploys: Vec<Deploy> = history
            .into_iter()
            .map(|new| new.into_deploy(DeployId(0), now))
            .collect();
        let (first, second) = deploys.split_at(5);
        bulk.insert_bulk(first).await.unwrap();
        bulk.insert_bulk(second).await.unwrap();
        assert_eq!(bulk.count().await.unwrap(), 40);
        assert_eq!(
            bulk.environments().await.unwrap(),
            one_by_one.environments().await.unwrap()
        );
        assert_eq!(bulk.get(DeployId(40)).await.unwrap().run.id, 39);
    }
}
