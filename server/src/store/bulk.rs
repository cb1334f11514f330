//! Rows into `deploys`: the columns every insert binds, and [`Store::insert_bulk`], which
//! writes a large finished history (benchmarks, the demo) many rows to a statement and touches
//! the environment matrix once per row it affects rather than once per deploy.

use std::collections::{BTreeSet, HashMap};

use shiplog_model::{Deploy, DeployId, DeployStatus};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::{Backend, Store, StoreError, schema, search_text};

impl Store {
    /// Inserts many finished deploys at once, bypassing idempotency lookups. For benchmarks and
    /// demos that need a large history quickly; ids are assigned in iteration order.
    ///
    /// Rows go in several to a statement ([`bulk_rows`]), and `heads` is touched once per
    /// environment-matrix row rather than once per deploy (see [`head_candidates`]).
    pub async fn insert_bulk(&self, deploys: &[Deploy]) -> Result<(), StoreError> {
        let mut tx = self.writes.begin().await?;
        let mut ids = Vec::with_capacity(deploys.len());
        for chunk in deploys.chunks(bulk_rows(self.backend)) {
            let sql = bulk_insert_sql(chunk.len());
            let mut statement = sqlx::query(&sql);
            for deploy in chunk {
                statement = bind_columns(statement, deploy)?;
            }
            let mut chunk_ids = statement
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get::<i64, _>("id"))
                .collect::<Result<Vec<_>, _>>()?;
            // Rows are numbered in VALUES order, but RETURNING does not promise that order.
            chunk_ids.sort_unstable();
            ids.extend(chunk_ids.into_iter().map(DeployId));
        }
        for index in head_candidates(deploys, &ids) {
            let stored = Deploy {
                id: ids[index],
                ..deploys[index].clone()
            };
            schema::touch_heads(&mut tx, &stored).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The `run_step` column: the step, or empty for writers that send none.
pub(super) fn run_step(deploy: &Deploy) -> &str {
    deploy.run.step.as_deref().unwrap_or_default()
}

/// Binds the 15 inserted columns of `deploys` (see [`BULK_COLUMNS`]) in their order.
pub(super) fn bind_columns<'q>(
    statement: Query<'q, Any, AnyArguments<'q>>,
    deploy: &'q Deploy,
) -> Result<Query<'q, Any, AnyArguments<'q>>, StoreError> {
    Ok(statement
        .bind(&deploy.repo)
        .bind(&deploy.app)
        .bind(&deploy.environment)
        .bind(&deploy.namespace)
        .bind(deploy.status.as_str())
        .bind(&deploy.actor)
        .bind(deploy.run.id)
        .bind(i64::from(deploy.run.attempt))
        .bind(&deploy.run.job)
        .bind(run_step(deploy))
        .bind(deploy.started_at.timestamp_millis())
        .bind(deploy.finished_at.map(|t| t.timestamp_millis()))
        .bind(deploy.deadline.map(|t| t.timestamp_millis()))
        .bind(search_text(deploy))
        .bind(serde_json::to_string(deploy)?))
}

/// Rows per statement in [`Store::insert_bulk`]. sqlx binds SQLite parameters by name, and
/// SQLite finds each name by a linear scan, so binding costs grow with the square of a
/// statement's binds: short statements are fastest there (and cost no round trip). PostgreSQL
/// gains from fewer round trips; 1000 rows of 15 binds stay below its limit of 65,535 binds.
fn bulk_rows(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 32,
        Backend::Postgres => 1000,
    }
}

/// The columns [`Store::insert_bulk`] fills, in bind order.
const BULK_COLUMNS: [&str; 15] = [
    "repo",
    "app",
    "environment",
    "namespace",
    "status",
    "actor",
    "run_id",
    "run_attempt",
    "run_job",
    "run_step",
    "started_at",
    "finished_at",
    "deadline",
    "search",
    "record",
];

/// `INSERT INTO deploys … VALUES (…), (…), … RETURNING id` for `rows` rows.
pub(super) fn bulk_insert_sql(rows: usize) -> String {
    let width = BULK_COLUMNS.len();
    let tuples: Vec<String> = (0..rows)
        .map(|row| {
            let binds: Vec<String> = (1..=width)
                .map(|n| format!("${}", row * width + n))
                .collect();
            format!("({})", binds.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO deploys ({}) VALUES {} RETURNING id",
        BULK_COLUMNS.join(", "),
        tuples.join(", ")
    )
}

/// The indexes of the deploys that [`Store::insert_bulk`] must pass to `touch_heads`: for every
/// environment-matrix row the batch affects, its latest deploy and its latest successful one.
/// Since `touch_heads` only ever moves a row forward, touching these leaves `heads` exactly as
/// touching every deploy of the batch would.
fn head_candidates(deploys: &[Deploy], ids: &[DeployId]) -> BTreeSet<usize> {
    type Newest = Option<(i64, DeployId, usize)>;
    let mut rows: HashMap<(&str, &str), (Newest, Newest)> = HashMap::new();
    for (index, (deploy, &id)) in deploys.iter().zip(ids).enumerate() {
        let key = Some((deploy.started_at.timestamp_millis(), id, index));
        let (latest, success) = rows.entry((&deploy.app, &deploy.namespace)).or_default();
        *latest = (*latest).max(key);
        if deploy.status == DeployStatus::Succeeded {
            *success = (*success).max(key);
        }
    }
    rows.into_values()
        .flat_map(|(latest, success)| [latest, success])
        .flatten()
        .map(|(_, _, index)| index)
        .collect()
}
