//! Deliveries nobody will send: a delivery of a webhook that was removed from every server's
//! `--webhooks` file stays pending, since each worker sends only its own file's webhooks. Every
//! [`PERIOD`] each server process (webhooks configured or not) fails the deliveries still pending
//! [`STALE_AFTER`] after they were enqueued, saying why, so the delivery log does not show them
//! as waiting forever. A configured webhook's deliveries end long before: its retries
//! ([`super::Tuning::backoff`]) take about 2 h 20 min in all.
//!
//! Several replicas may sweep at once: failing an already failed delivery changes nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use crate::store::{Store, StoreError};

/// How long after it was enqueued a delivery still pending is given up.
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How often the stale deliveries are looked for.
pub const PERIOD: Duration = Duration::from_secs(3600);

/// The last error a stale delivery is failed with.
pub const REASON: &str = "not sent within 24 h of the deploy event: no server has this webhook \
    in its --webhooks file any more (or none was running)";

/// Fails the deliveries pending since before `now` − [`STALE_AFTER`]; how many.
pub async fn sweep(store: &Store, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let cutoff = now - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
    let failed = store.fail_stale_deliveries(cutoff, REASON).await?;
    if failed > 0 {
        tracing::warn!(
            count = failed,
            "gave up webhook deliveries pending for 24 h (their webhook is in no server's file)"
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
