//! Creating the database, migrating it, and keeping the environment matrix (`heads`) current:
//! one row per app and namespace with the summaries of its latest and latest successful deploy.
//!
//! Migrations only go forward: a database migrated by a newer server is refused, untouched
//! ([`refuse_newer`]), rather than served by code that does not know its schema.

use std::path::Path;
use std::str::FromStr as _;
use std::sync::LazyLock;

use shiplog_model::{Deploy, DeployId, DeployStatus, DeploySummary};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, Connection as _, Row, Transaction};

use super::{Backend, StoreError};

pub(super) static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// The schema version this server knows for `backend`: its newest migration.
pub fn known_version(backend: Backend) -> i64 {
    let migrator = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Fails with [`StoreError::NewerSchema`] when the SQLite file at `url` exists and has a
/// migration this server does not know. Reads through a read-only connection, so a refused
/// database is left exactly as it was (not even switched to WAL).
pub(super) async fn refuse_newer_sqlite(url: &str) -> Result<(), StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .read_only(true)
        .create_if_missing(false);
    if !options.get_filename().is_file() {
        return Ok(());
    }
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
    let recorded: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut connection)
    .await?;
    let applied: Option<i64> = if recorded > 0 {
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&mut connection)
            .await?
    } else {
        None
    };
    connection.close().await?;
    refuse_newer(Backend::Sqlite, applied)
}

/// [`refuse_newer_sqlite`] for PostgreSQL, before anything is written through `pool`.
pub(super) async fn refuse_newer_postgres(pool: &AnyPool) -> Result<(), StoreError> {
    let recorded: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let applied: Option<i64> = if recorded > 0 {
        sqlx::query("SELECT MAX(version) AS v FROM _sqlx_migrations")
            .fetch_one(pool)
            .await?
            .try_get("v")?
    } else {
        None
    };
    refuse_newer(Backend::Postgres, applied)
}

/// The verdict on a database whose newest applied migration is `applied`.
fn refuse_newer(backend: Backend, applied: Option<i64>) -> Result<(), StoreError> {
    let known = known_version(backend);
    match applied {
        Some(found) if found > known => Err(StoreError::NewerSchema { found, known }),
        _ => Ok(()),
    }
}

/// Applies the embedded migrations of `backend` that the database has not seen yet.
pub(super) async fn migrate(backend: Backend, pool: &AnyPool) -> Result<(), StoreError> {
    match backend {
        Backend::Sqlite => SQLITE.run(pool).await?,
        Backend::Postgres => POSTGRES.run(pool).await?,
    }
    fill_summaries(pool).await
}

/// Makes sure a `sqlite:` URL creates its file (and the file's directory) when missing.
pub(super) fn sqlite_url_creating_file(url: &str) -> Result<String, StoreError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let directory = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty());
    if path != ":memory:"
        && let Some(directory) = directory
    {
        std::fs::create_dir_all(directory)?;
    }
    if query.split('&').any(|kv| kv.starts_with("mode=")) {
        return Ok(url.to_owned());
    }
    let separator = if query.is_empty() { '?' } else { '&' };
    Ok(format!("{url}{separator}mode=rwc"))
}

/// The upsert of [`touch_heads`]: a row's latest (and latest successful) deploy is replaced by
/// a newer one, and by itself (an update, whose summary replaces the old one: hence `>=` on
/// the id).
static TOUCH_HEADS: LazyLock<String> = LazyLock::new(|| {
    let newer = |side: &str| {
        format!(
            "excluded.{side}_at > heads.{side}_at OR (excluded.{side}_at = heads.{side}_at \
             AND excluded.{side}_id >= heads.{side}_id)"
        )
    };
    let latest = newer("latest");
    let success = format!(
        "excluded.success_id IS NOT NULL AND (heads.success_id IS NULL OR {})",
        newer("success")
    );
    let pick = |condition: &str, column: &str| {
        format!("{column} = CASE WHEN {condition} THEN excluded.{column} ELSE heads.{column} END")
    };
    format!(
        "INSERT INTO heads (app, namespace, latest_id, latest_at, latest, success_id, success_at, \
         success) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (app, namespace) DO UPDATE SET {}, {}, {}, {}, {}, {}",
        pick(&latest, "latest_id"),
        pick(&latest, "latest_at"),
        pick(&latest, "latest"),
        pick(&success, "success_id"),
        pick(&success, "success_at"),
        pick(&success, "success"),
    )
});

/// Records `deploy`, summarised, as the latest (and, if it succeeded, the latest successful)
/// deploy of its app in its namespace, unless a newer one is already recorded. A deploy that is
/// already recorded there (an update) has its summary rewritten.
pub(super) async fn touch_heads(
    tx: &mut Transaction<'_, Any>,
    deploy: &Deploy,
) -> Result<(), StoreError> {
    let at = deploy.started_at.timestamp_millis();
    let summary = serde_json::to_string(&DeploySummary::of(deploy))?;
    let succeeded = deploy.status == DeployStatus::Succeeded;
    sqlx::query(&TOUCH_HEADS)
        .bind(&deploy.app)
        .bind(&deploy.namespace)
        .bind(deploy.id.0)
        .bind(at)
        .bind(&summary)
        .bind(succeeded.then_some(deploy.id.0))
        .bind(succeeded.then_some(at))
        .bind(succeeded.then_some(&summary))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes the summaries that rows carried over from before they were kept (migration 0003)
/// lack, from the records they point at. Runs at start-up; finds nothing to do after the first.
pub(super) async fn fill_summaries(pool: &AnyPool) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT h.app, h.namespace, h.latest_id, l.record AS latest, h.success_id, \
         s.record AS success FROM heads h JOIN deploys l ON l.id = h.latest_id \
         LEFT JOIN deploys s ON s.id = h.success_id \
         WHERE h.latest IS NULL OR (h.success_id IS NOT NULL AND h.success IS NULL)",
    )
    .fetch_all(pool)
    .await?;
    for row in rows {
        let summary = |id_column: &str, record_column: &str| -> Result<_, StoreError> {
            let record: Option<String> = row.try_get(record_column)?;
            let Some(record) = record else {
                return Ok(None);
            };
            let mut deploy: Deploy = serde_json::from_str(&record)?;
            deploy.id = DeployId(row.try_get(id_column)?);
            Ok(Some(serde_json::to_string(&DeploySummary::of(&deploy))?))
        };
        sqlx::query(
            "UPDATE heads SET latest = $1, success = $2 \
             WHERE app = $3 AND namespace = $4 AND latest_id = $5",
        )
        .bind(summary("latest_id", "latest")?)
        .bind(summary("success_id", "success")?)
        .bind(row.try_get::<String, _>("app")?)
        .bind(row.try_get::<String, _>("namespace")?)
        .bind(row.try_get::<i64, _>("latest_id")?)
        .execute(pool)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_newer_schema_is_refused() {
        assert_eq!(
            known_version(Backend::Sqlite),
            known_version(Backend::Postgres)
        );
        let known = known_version(Backend::Sqlite);
        assert!(known >= 3, "{known}");
        for fine in [None, Some(1), Some(known)] {
            assert!(refuse_newer(Backend::Sqlite, fine).is_ok(), "{fine:?}");
        }
        let error = refuse_newer(Backend::Postgres, Some(9999)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("database schema 9999 is newer than this server ({known}); upgrade the server")
        );
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/history.db", dir.path().display());
        assert_eq!(
            sqlite_url_creating_file(&url).unwrap(),
            format!("{url}?mode=rwc")
        );
        assert!(dir.path().join("nested").is_dir());
        assert_eq!(
            sqlite_url_creating_file("sqlite://x.db?cache=shared").unwrap(),
            "sqlite://x.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
    }
}
