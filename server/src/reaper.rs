//! The reaper: every period ([`DEFAULT_PERIOD`], `--reap-period`), deploys still `in_progress`
//! past their deadline are marked `abandoned` ("no result was reported by 14:05 UTC: the job was
//! cancelled or its runner stopped"), published on the event stream and kept in the environment
//! matrix like any other update. So a deploy whose job was cancelled or whose runner died does
//! not show as deploying forever.
//!
//! Every replica on a PostgreSQL database runs one; they do not fight: a deploy is abandoned by
//! whichever gets to it first ([`Store::abandon_overdue`](crate::store::Store::abandon_overdue)
//! writes only an open row), and the others' streams learn of it from its announcement
//! ([`crate::replicas`]).

use std::time::Duration;

use chrono::Utc;
use shiplog_model::{Deploy, DeployEventKind};
use tokio::task::JoinHandle;

use crate::AppState;
use crate::store::StoreError;

/// How often open deploys are checked against their deadlines.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(30);

/// Abandons the overdue deploys once and publishes each; the deploys abandoned.
pub async fn reap(state: &AppState) -> Result<Vec<Deploy>, StoreError> {
    let abandoned = state.store.abandon_overdue(Utc::now()).await?;
    for deploy in &abandoned {
        state.metrics.deploy_written("abandoned");
        state.publish(DeployEventKind::Updated, deploy);
    }
    if !abandoned.is_empty() {
        tracing::info!(
            count = abandoned.len(),
            "abandoned deploys past their deadline"
        );
    }
    Ok(abandoned)
}

/// Reaps every `period`, starting now, until the task is aborted.
pub fn spawn(state: AppState, period: Duration) -> JoinHandle<()> {
    crate::periodic::every(
        period,
        "abandoning deploys past their deadline",
        move || {
            let state = state.clone();
            async move { reap(&state).await }
        },
    )
}
