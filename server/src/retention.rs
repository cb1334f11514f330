//! Retention (`--retain`): every [`PERIOD`], starting at start-up, finished deploys that ended
//! longer ago than the retention are deleted, in batches
//! ([`Store::prune_finished`](crate::store::Store::prune_finished)). Without `--retain` nothing
//! is ever deleted. Open deploys and those the environment matrix shows are kept.
//!
//! Not for shrinking a SQLite file: deleted pages are reused by new deploys; `backup` writes a
//! compact copy.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::store::{Pruned, StoreError};

/// How often old deploys are deleted.
pub const PERIOD: Duration = Duration::from_secs(3600);

/// Deletes the finished deploys older than `retain` once.
pub async fn prune(state: &AppState, retain: Duration) -> Result<Pruned, StoreError> {
    let retain = chrono::Duration::from_std(retain).unwrap_or(chrono::Duration::MAX);
    let cutoff = Utc::now()
        .checked_sub_signed(retain)
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let pruned = state.store.prune_finished(cutoff).await?;
    if pruned.deleted > 0 {
        tracing::info!(
            deleted = pruned.deleted,
            batches = pruned.batches,
            before = %cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "pruned finished deploys past the retention"
        );
    }
    Ok(pruned)
}

/// Prunes every [`PERIOD`], starting now, until the task is aborted.
pub fn spawn(state: AppState, retain: Duration) -> JoinHandle<()> {
    crate::periodic::every(
        PERIOD,
        "pruning finished deploys past the retention",
        move || {
            let state = state.clone();
            async move { prune(&state, retain).await }
        },
    )
}
