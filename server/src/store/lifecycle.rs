//! Abandoning open deploys past their deadline, for the reaper ([`crate::reaper`]).
//!
//! Safe with several server processes on one database: each deploy is abandoned through the
//! store's optimistic read-modify-write, which writes only while the stored row is still the
//! open one it read. Two reapers racing for one deploy write it once; the other finds it
//! finished and leaves it.

use chrono::{DateTime, Utc};
use shiplog_model::{Deploy, DeployId, lifecycle};
use sqlx::Row;

use super::{Store, StoreError};

/// Overdue deploys handled per query.
const BATCH: i64 = 100;

impl Store {
    /// Marks every deploy still `in_progress` whose deadline is before `now` as `abandoned`;
    /// the deploys this store abandoned (not those another process got to first).
    pub async fn abandon_overdue(&self, now: DateTime<Utc>) -> Result<Vec<Deploy>, StoreError> {
        let mut abandoned = Vec::new();
        loop {
            let overdue = sqlx::query(
                "SELECT id, deadline FROM deploys WHERE status = 'in_progress' AND deadline < $1 \
                 ORDER BY deadline LIMIT $2",
            )
            .bind(now.timestamp_millis())
            .bind(BATCH)
            .fetch_all(&self.reads)
            .await?;
            let mut written = 0;
            for row in &overdue {
                let id = DeployId(row.try_get("id")?);
                let deadline =
                    DateTime::from_timestamp_millis(row.try_get("deadline")?).unwrap_or_default();
                let done = self
                    .modify(id, |deploy| Ok(lifecycle::abandon(deploy, deadline)))
                    .await?;
                written += usize::from(done.is_some());
                abandoned.extend(done);
            }
            // A full batch may hide more; stop when one was all another process's work too.
            if (overdue.len() as i64) < BATCH || written == 0 {
                return Ok(abandoned);
            }
        }
    }
}
