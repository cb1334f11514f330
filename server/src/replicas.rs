//! Several server processes on one PostgreSQL database (replicas behind a load balancer).
//!
//! Every write is announced on the channel [`CHANNEL`] in its own transaction (`pg_notify`, which
//! PostgreSQL delivers when the transaction commits, in commit order). [`follow`] listens and
//! hands the writes of the other processes to this one: its live event stream and its cached
//! environment matrix. So a browser connected to any replica sees every deploy as it happens,
//! and no replica serves a matrix older than the last write anywhere.
//!
//! An announcement names the deploy, not its record (a notification carries at most 8,000
//! bytes): the follower reads the record back. Announcements made while the listening
//! connection was lost are gone; the follower then forgets its cached matrix (whose age is
//! bounded anyway, see [`crate::matrix_cache::MAX_AGE`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shiplog_model::{DeployEventKind, DeployId};
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::store::StoreError;

/// The notification channel of deploy writes.
pub const CHANNEL: &str = "shiplog_deploys";

/// How long to wait before listening again after the listening connection failed.
const RETRY: Duration = Duration::from_secs(1);

/// What a write announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The [`crate::store::Store::origin`] of the writer.
    pub origin: String,
    pub kind: DeployEventKind,
    pub id: i64,
}

/// Starts following the other processes' writes: listening has begun when this returns, so a
/// write committed afterwards reaches `state`. `None` on SQLite, where one process owns the
/// database. Abort the task to stop.
pub async fn follow(state: &AppState) -> Result<Option<JoinHandle<()>>, StoreError> {
    let Some(url) = state.store.postgres_url() else {
        return Ok(None);
    };
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    let state = state.clone();
    Ok(Some(tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(notification) => take(&state, notification.payload()).await,
                Err(error) => {
                    // recv reconnects on the next call; what was sent meanwhile is lost.
                    tracing::warn!(%error, "listening for other replicas' writes");
                    state.matrix.invalidate();
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    })))
}

/// Publishes another process's write to this one.
async fn take(state: &AppState, payload: &str) {
    let notice: Notice = match serde_json::from_str(payload) {
        Ok(notice) => notice,
        Err(error) => {
            tracing::warn!(%error, "an announcement on {CHANNEL} that is not a deploy write");
            return;
        }
    };
    if notice.origin == state.store.origin() {
        return;
    }
    match state.store.get(DeployId(notice.id)).await {
        Ok(deploy) => state.publish(notice.kind, &deploy),
        Err(error) => {
            tracing::warn!(%error, id = notice.id, "reading another replica's write");
            state.matrix.invalidate();
        }
    }
}
