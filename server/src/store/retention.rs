//! Deleting old finished deploys, for retention ([`crate::retention`]), in bounded batches.
//!
//! What is never deleted, however old: a deploy still `in_progress` (the reaper closes it
//! first), and the deploys the environment matrix (`heads`) points at, the latest and the latest
//! successful of every app in every namespace: what runs in each environment stays known, and
//! `heads` needs no rebuilding. With several server processes on one PostgreSQL database, two
//! prunes at once delete each row once; the later one finds less to do.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};

/// Deploys deleted per transaction by [`Store::prune_finished`]. Each batch is one short
/// `DELETE` (a few milliseconds on SQLite), so writers queued behind a large prune wait for
/// one batch, never for the whole prune.
pub const PRUNE_BATCH: i64 = 1000;

/// What [`Store::prune_finished`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Deploys deleted.
    pub deleted: u64,
    /// Delete transactions run, each of at most [`PRUNE_BATCH`] deploys; the last one was not
    /// full (2,500 deploys take 3).
    pub batches: u32,
}

/// One batch: the oldest deletable deploys, by start. A deploy never finishes before it
/// starts, so `started_at < cutoff` keeps the search on the `started_at` index
/// (`deploys_by_time`) without changing what is deleted.
const PRUNE_SQL: &str = "DELETE FROM deploys WHERE id IN (\
    SELECT id FROM deploys \
    WHERE started_at < $1 AND finished_at < $1 AND status <> 'in_progress' \
    AND id NOT IN (SELECT latest_id FROM heads) \
    AND id NOT IN (SELECT success_id FROM heads WHERE success_id IS NOT NULL) \
    ORDER BY started_at, id LIMIT $2)";

impl Store {
    /// Deletes the finished deploys that ended before `cutoff`, except those the environment
    /// matrix shows, [`PRUNE_BATCH`] at a time, each batch its own transaction.
    pub async fn prune_finished(&self, cutoff: DateTime<Utc>) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        loop {
            let deleted = sqlx::query(PRUNE_SQL)
                .bind(cutoff.timestamp_millis())
                .bind(PRUNE_BATCH)
                .execute(&self.writes)
                .await?
                .rows_affected();
            pruned.deleted += deleted;
            pruned.batches += 1;
            if deleted < PRUNE_BATCH as u64 {
                return Ok(pruned);
            }
            // Let the writers queued for the connection go before the next batch.
            tokio::task::yield_now().await;
        }
    }
}
