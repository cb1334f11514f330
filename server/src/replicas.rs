//! Several server processes on one PostgreSQL database (replicas behind a load balancer).
//!
//! Every committed write is announced on the channel [`CHANNEL`] by the writer's [`Announcer`];
//! [`follow`] listens and hands the writes of the other processes to this one: its live event
//! stream and its cached environment matrix. So a browser connected to any replica sees every
//! deploy as it happens, and no replica serves a matrix older than the last write anywhere.
//!
//! Announcements leave after the write has committed, from a task that sends whatever has
//! queued up in one `pg_notify` (PostgreSQL serialises the commits of transactions that notify:
//! notifying inside each write's transaction cost a third of the ingest rate). They name the
//! deploys, not their records (a notification carries at most 8,000 bytes): the follower reads
//! the records back. An announcement can be lost (the writer dies right after committing, the
//! listening connection drops); the follower then forgets its cached matrix, whose age is bounded
//! anyway ([`crate::matrix_cache::MAX_AGE`]).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shiplog_model::{DeployEventKind, DeployId};
use sqlx::AnyPool;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::store::StoreError;

/// The notification channel of deploy writes.
pub const CHANNEL: &str = "shiplog_deploys";

/// Writes per notification, which keeps a payload far below PostgreSQL's 8,000 bytes.
const WRITES_PER_NOTICE: usize = 100;

/// How long to wait before listening again after the listening connection failed.
const RETRY: Duration = Duration::from_secs(1);

/// What a notification says: which process wrote which deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The [`crate::store::Store::origin`] of the writer.
    pub origin: String,
    pub writes: Vec<Write>,
}

/// One write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    pub kind: DeployEventKind,
    pub id: i64,
}

/// Sends a store's committed writes to the other processes, in order, batched.
#[derive(Debug, Clone)]
pub struct Announcer {
    queue: mpsc::UnboundedSender<Write>,
}

impl Announcer {
    /// Starts the task that notifies through `pool`; it ends when the last clone is dropped.
    pub fn start(pool: AnyPool, origin: Arc<str>) -> Announcer {
        let (queue, mut queued) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut writes = Vec::with_capacity(WRITES_PER_NOTICE);
            while queued.recv_many(&mut writes, WRITES_PER_NOTICE).await > 0 {
                let notice = Notice {
                    origin: origin.to_string(),
                    writes: std::mem::take(&mut writes),
                };
                if let Err(error) = notify(&pool, &notice).await {
                    tracing::warn!(%error, "announcing writes to other replicas");
                }
            }
        });
        Announcer { queue }
    }

    /// Queues a committed write for announcement.
    pub fn announce(&self, kind: DeployEventKind, id: DeployId) {
        // Fails only once the task is gone, with the runtime: nobody is left to tell.
        let _ = self.queue.send(Write { kind, id: id.0 });
    }
}

async fn notify(pool: &AnyPool, notice: &Notice) -> Result<(), StoreError> {
    // pg_notify returns `void`, which the Any driver cannot decode: select a constant.
    sqlx::query("SELECT 1 AS sent FROM (SELECT pg_notify($1, $2)) AS notified")
        .bind(CHANNEL)
        .bind(serde_json::to_string(notice)?)
        .execute(pool)
        .await?;
    Ok(())
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

/// Publishes another process's writes to this one.
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
    for write in notice.writes {
        match state.store.get(DeployId(write.id)).await {
            Ok(deploy) => state.publish(write.kind, &deploy),
            Err(error) => {
                tracing::warn!(%error, id = write.id, "reading another replica's write");
                state.matrix.invalidate();
            }
        }
    }
}
