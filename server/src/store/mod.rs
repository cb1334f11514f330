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
//! - This module knows nothing about HTTP.

mod history;
mod insights;
mod schema;

use std::time::Duration;

use chrono::{DateTime, Utc};
use shiplog_model::ingest::UpdateError;
use shiplog_model::{
    Deploy, DeployId, DeployUpdate, EnvironmentCell, EnvironmentMatrix, FieldError, NewDeploy,
    TransitionError,
};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

pub use history::search_text;
pub use insights::SampleFilter;

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
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("the database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("could not apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored deploy record is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("could not create the database directory: {0}")]
    Io(#[from] std::io::Error),
}

impl From<UpdateError> for StoreError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Invalid(e) => e.into(),
            UpdateError::Transition(e) => e.into(),
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
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    /// Reads. On SQLite several connections read in parallel under WAL.
    reads: AnyPool,
    /// Writes. On SQLite one connection, so writers queue in the pool instead of spinning on
    /// the database lock.
    writes: AnyPool,
}

impl Store {
    /// Connects to `url`, creating and migrating the database as needed.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let store = match backend {
            Backend::Sqlite => {
                let url = schema::sqlite_url_creating_file(url)?;
                let writes = sqlite_pool(&url, 1).await?;
                schema::migrate(backend, &writes).await?;
                let reads = sqlite_pool(&url, 8).await?;
                Store {
                    backend,
                    reads,
                    writes,
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                schema::migrate(backend, &pool).await?;
                Store {
                    backend,
                    reads: pool.clone(),
                    writes: pool,
                }
            }
        };
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reads).await?;
        Ok(())
    }

    /// Records a new deploy, or returns the existing one with the same idempotency key.
    pub async fn create(&self, new: NewDeploy, now: DateTime<Utc>) -> Result<Created, StoreError> {
        new.validate()?;
        let deploy = new.into_deploy(DeployId(0), now);
        let mut tx = self.writes.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO deploys (repo, app, environment, namespace, status, actor, run_id, \
             run_attempt, run_job, started_at, finished_at, search, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (repo, run_id, run_attempt, run_job, namespace) DO NOTHING \
             RETURNING id",
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
        .bind(search_text(&deploy))
        .bind(serde_json::to_string(&deploy)?)
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
        tx.commit().await?;
        Ok(Created::New(deploy))
    }

    async fn find_by_key(&self, key: &Deploy) -> Result<Deploy, StoreError> {
        let row = sqlx::query(
            "SELECT id, record FROM deploys WHERE repo = $1 AND run_id = $2 AND run_attempt = $3 \
             AND run_job = $4 AND namespace = $5",
        )
        .bind(&key.repo)
        .bind(key.run.id)
        .bind(i64::from(key.run.attempt))
        .bind(&key.run.job)
        .bind(&key.namespace)
        .fetch_optional(&self.writes)
        .await?
        .ok_or(StoreError::NotFound)?;
        decode(&row, "id", "record")
    }

    /// Applies `update` to deploy `id`, enforcing the status state machine.
    pub async fn update(
        &self,
        id: DeployId,
        update: &DeployUpdate,
        now: DateTime<Utc>,
    ) -> Result<Deploy, StoreError> {
        loop {
            let mut tx = self.writes.begin().await?;
            let row = sqlx::query("SELECT id, record, revision FROM deploys WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            let revision: i64 = row.try_get("revision")?;
            let mut deploy = decode(&row, "id", "record")?;
            update.apply_to(&mut deploy, now)?;
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
                tx.commit().await?;
                return Ok(deploy);
            }
            // Another writer got there first: start over from its version.
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

    /// The latest and latest successful deploy of every app and workload in every namespace.
    pub async fn environments(&self) -> Result<EnvironmentMatrix, StoreError> {
        let rows = sqlx::query(
            "SELECT h.app, h.workload, h.namespace, l.id AS latest_id, l.record AS latest, \
             s.id AS success_id, s.record AS success \
             FROM heads h JOIN deploys l ON l.id = h.latest_id \
             LEFT JOIN deploys s ON s.id = h.success_id",
        )
        .fetch_all(&self.reads)
        .await?;
        let cells = rows
            .iter()
            .map(|row| {
                let workload: String = row.try_get("workload")?;
                let success_id: Option<i64> = row.try_get("success_id")?;
                Ok(EnvironmentCell {
                    app: row.try_get("app")?,
                    workload: (!workload.is_empty()).then_some(workload),
                    namespace: row.try_get("namespace")?,
                    latest: decode(row, "latest_id", "latest")?,
                    latest_success: match success_id {
                        Some(_) => Some(decode(row, "success_id", "success")?),
                        None => None,
                    },
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(EnvironmentMatrix::from_cells(cells))
    }

    /// Inserts many finished deploys at once, bypassing idempotency lookups. For benchmarks and
    /// demos that need a large history quickly; ids are assigned in iteration order.
    pub async fn insert_bulk(&self, deploys: &[Deploy]) -> Result<(), StoreError> {
        let mut tx = self.writes.begin().await?;
        for deploy in deploys {
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
            .bind(search_text(deploy))
            .bind(serde_json::to_string(deploy)?)
            .fetch_one(&mut *tx)
            .await?;
            let stored = Deploy {
                id: DeployId(row.try_get("id")?),
                ..deploy.clone()
            };
            schema::touch_heads(&mut tx, &stored).await?;
        }
        tx.commit().await?;
        Ok(())
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
