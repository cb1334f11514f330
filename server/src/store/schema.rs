//! Creating the database, migrating it, and keeping the environment matrix (`heads`) current.

use std::path::Path;

use shiplog_model::{Deploy, DeployStatus};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Transaction};

use super::{Backend, StoreError};

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// Applies the embedded migrations of `backend` that the database has not seen yet.
pub(super) async fn migrate(backend: Backend, pool: &AnyPool) -> Result<(), StoreError> {
    match backend {
        Backend::Sqlite => SQLITE.run(pool).await?,
        Backend::Postgres => POSTGRES.run(pool).await?,
    }
    Ok(())
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

/// Records `deploy` as the latest (and, if it succeeded, the latest successful) deploy of its
/// app and of each of its workloads in its namespace, unless a newer one is already recorded.
pub(super) async fn touch_heads(
    tx: &mut Transaction<'_, Any>,
    deploy: &Deploy,
) -> Result<(), StoreError> {
    let at = deploy.started_at.timestamp_millis();
    let success = (deploy.status == DeployStatus::Succeeded).then_some((deploy.id.0, at));
    let workloads = std::iter::once("").chain(deploy.workloads.iter().map(|w| w.name.as_str()));
    for workload in workloads {
        sqlx::query(
            "INSERT INTO heads (app, workload, namespace, latest_id, latest_at, success_id, success_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (app, workload, namespace) DO UPDATE SET \
               latest_id = CASE WHEN excluded.latest_at > heads.latest_at \
                   OR (excluded.latest_at = heads.latest_at AND excluded.latest_id > heads.latest_id) \
                   THEN excluded.latest_id ELSE heads.latest_id END, \
               latest_at = CASE WHEN excluded.latest_at > heads.latest_at \
                   OR (excluded.latest_at = heads.latest_at AND excluded.latest_id > heads.latest_id) \
                   THEN excluded.latest_at ELSE heads.latest_at END, \
               success_id = CASE WHEN excluded.success_id IS NOT NULL AND (heads.success_id IS NULL \
                   OR excluded.success_at > heads.success_at \
                   OR (excluded.success_at = heads.success_at AND excluded.success_id > heads.success_id)) \
                   THEN excluded.success_id ELSE heads.success_id END, \
               success_at = CASE WHEN excluded.success_id IS NOT NULL AND (heads.success_id IS NULL \
                   OR excluded.success_at > heads.success_at \
                   OR (excluded.success_at = heads.success_at AND excluded.success_id > heads.success_id)) \
                   THEN excluded.success_at ELSE heads.success_at END",
        )
        .bind(&deploy.app)
        .bind(workload)
        .bind(&deploy.namespace)
        .bind(deploy.id.0)
        .bind(at)
        .bind(success.map(|(id, _)| id))
        .bind(success.map(|(_, at)| at))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
