//! Deliveries nobody will send: each worker sends only the webhooks of its own `--webhooks`
//! file, so a delivery of a webhook removed from every server's file would stay pending forever.
//! Every [`PERIOD`] each server process (webhooks configured or not) fails the deliveries that
//! have been due for [`STALE_AFTER`] without an attempt, saying why, so the delivery log does not
//! show them as waiting. It leaves alone the webhooks of its own file (its worker will get to
//! them) and any delivery claimed by a worker (an attempt under way finishes and is recorded).
//! A webhook some server sends is attempted within minutes of each due time, so only a
//! delivery that no running server sends, or one held up by a day of outage or backlog, is
//! given up.
//!
//! Several replicas may sweep at once: failing an already failed delivery changes nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use crate::store::{Store, StoreError};

/// How long a pending delivery may stay due without an attempt before it is given up.
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How often the stale deliveries are looked for.
pub const PERIOD: Duration = Duration::from_secs(3600);

/// The last error a stale delivery is failed with.
pub const REASON: &str = "given up: due for 24 h without an attempt, so no running server has \
    this webhook in its --webhooks file (or none could get to it)";

/// Fails the deliveries due since before `now` − [`STALE_AFTER`] of webhooks this process
/// does not send; how many.
pub async fn sweep(store: &Store, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let due_before = now - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
    let served: Vec<&str> = store
        .outbox()
        .map(|outbox| {
            outbox
                .webhooks
                .hooks
                .iter()
                .map(|h| h.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let failed = store
        .fail_stale_deliveries(due_before, now, &served, REASON)
        .await?;
    if failed > 0 {
        tracing::warn!(
            count = failed,
            "gave up webhook deliveries due for 24 h without an attempt (their webhook is in no \
             running server's file)"
        );
    }
    Ok(failed)
}

/// Sweeps every [`PERIOD`], starting now, until the task is aborted.
pub fn spawn(store: Store) -> JoinHandle<()> {
    crate::periodic::every(PERIOD, "giving up stale webhook deliveries", move || {
        let store = store.clone();
        async move { sweep(&store, Utc::now()).await }
    })
}
