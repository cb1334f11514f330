//! `shiplog-server backup --to FILE`: an online copy of a SQLite database, consistent while a
//! server keeps writing to it.
//!
//! The copy is SQLite's `VACUUM INTO`: one read transaction, so it holds exactly the deploys
//! committed when it began, and writers carry on meanwhile (WAL). It is written to a hidden
//! file beside FILE, checked (`PRAGMA quick_check`), flushed to disk, and only then given
//! FILE's name, so FILE is never a partial copy. An existing FILE is refused unless `force`.
//!
//! Not for PostgreSQL: `pg_dump` does the same there, better ([`BackupError::Postgres`]).
//! Nothing here migrates or otherwise writes the source database.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, SqliteConnection};

use crate::config::redact_url;
use crate::store::Backend;

/// A finished copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// FILE.
    pub path: PathBuf,
    /// The copy's size.
    pub bytes: u64,
    /// The deploys in the copy.
    pub deploys: i64,
}

/// Why no copy was made. A partial copy never remains.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database is PostgreSQL (the caller exits 2: the command does not apply).
    #[error(
        "backup copies SQLite databases; back up PostgreSQL with pg_dump, e.g. \
         `pg_dump --format=custom --file=shiplog.dump \"$SHIPLOG_DATABASE\"` \
         (restore with pg_restore)"
    )]
    Postgres,
    #[error("the database URL must start with sqlite: (or postgres://, for pg_dump)")]
    UnsupportedUrl,
    #[error("{}: already exists; give --force to replace it", .0.display())]
    Exists(PathBuf),
    #[error("the database {0} does not exist (--database, SHIPLOG_DATABASE)")]
    Missing(String),
    #[error("{0} is not a shiplog database: it has no deploys table")]
    NotShiplog(String),
    #[error("{}: the path is not UTF-8, which SQLite needs", .0.display())]
    NotUtf8(PathBuf),
    #[error("{database}: {source}")]
    Database {
        database: String,
        source: sqlx::Error,
    },
    #[error("the copy failed its check ({0}); {1} was not written")]
    Check(String, String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Copies the SQLite database at `database` (a `sqlite:` URL) to `to`.
pub async fn backup(database: &str, to: &Path, force: bool) -> Result<Backup, BackupError> {
    match Backend::of_url(database) {
        Ok(Backend::Sqlite) => {}
        Ok(Backend::Postgres) => return Err(BackupError::Postgres),
        Err(_) => return Err(BackupError::UnsupportedUrl),
    }
    let named = redact_url(database);
    let db_error = |source| BackupError::Database {
        database: named.clone(),
        source,
    };
    if !force && to.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    let options = SqliteConnectOptions::from_str(database)
        .map_err(db_error)?
        .create_if_missing(false);
    if !options.get_filename().is_file() {
        return Err(BackupError::Missing(named));
    }
    let mut source = SqliteConnection::connect_with(&options)
        .await
        .map_err(db_error)?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'deploys'",
    )
    .fetch_one(&mut source)
    .await
    .map_err(db_error)?;
    if tables == 0 {
        return Err(BackupError::NotShiplog(named));
    }

    let partial = Partial::beside(to)?;
    let partial_name = partial
        .path
        .to_str()
        .ok_or_else(|| BackupError::NotUtf8(partial.path.clone()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(partial_name)
        .execute(&mut source)
        .await
        .map_err(db_error)?;
    source.close().await.map_err(db_error)?;

    let deploys = check(&partial.path, to).await?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    // SQLite does not flush what VACUUM INTO writes; a copy must survive a power cut.
    std::fs::File::open(&partial.path)
        .and_then(|file| file.sync_all())
        .map_err(io(&partial.path))?;
    if force {
        std::fs::rename(&partial.path, to).map_err(io(to))?;
    } else {
        // A hard link fails if `to` appeared meanwhile: never replaced without --force.
        match std::fs::hard_link(&partial.path, to) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BackupError::Exists(to.to_owned()));
            }
            other => other.map_err(io(to))?,
        }
    }
    drop(partial);
    let directory = directory_of(to);
    std::fs::File::open(&directory)
        .and_then(|dir| dir.sync_all())
        .map_err(io(&directory))?;
    let bytes = std::fs::metadata(to).map_err(io(to))?.len();
    Ok(Backup {
        path: to.to_owned(),
        bytes,
        deploys,
    })
}

/// Checks the copy at `path` (for `to`); the deploys it holds.
async fn check(path: &Path, to: &Path) -> Result<i64, BackupError> {
    let failed = |e: sqlx::Error| BackupError::Check(e.to_string(), to.display().to_string());
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false);
    let mut copy = SqliteConnection::connect_with(&options)
        .await
        .map_err(failed)?;
    let verdict: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut copy)
        .await
        .map_err(failed)?;
    if verdict != "ok" {
        return Err(BackupError::Check(verdict, to.display().to_string()));
    }
    let deploys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deploys")
        .fetch_one(&mut copy)
        .await
        .map_err(failed)?;
    copy.close().await.map_err(failed)?;
    Ok(deploys)
}

/// The copy being written: a hidden file beside FILE (same file system, so the rename is
/// atomic), removed when dropped (once renamed, there is nothing left to remove).
struct Partial {
    path: PathBuf,
}

impl Partial {
    fn beside(to: &Path) -> Result<Partial, BackupError> {
        let name = to
            .file_name()
            .ok_or_else(|| BackupError::Io {
                path: to.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            })?
            .to_string_lossy();
        let path = directory_of(to).join(format!(".{name}.partial-{}", std::process::id()));
        // Left by an earlier run of this process id that was killed: VACUUM INTO needs it gone.
        let _ = std::fs::remove_file(&path);
        Ok(Partial { path })
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The directory `path` is in (`.` for a bare file name).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// `1.4 MiB`, `532 B`: a size for people.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_for_people() {
        assert_eq!(human_size(532), "532 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn partial_copies_sit_beside_the_file() {
        assert_eq!(directory_of(Path::new("b.db")), PathBuf::from("."));
        let partial = Partial::beside(Path::new("/backups/shiplog.db")).unwrap();
        let path = partial.path.to_str().unwrap();
        assert!(path.starts_with("/backups/.shiplog.db.partial-"), "{path}");
    }
}
