//! Background chores that run every period, starting at once, until their task is aborted: the
//! reaper, retention and the sweep of stale webhook deliveries. A chore that fails is logged and
//! tried again the next period; a period missed while the last run was slow is not made up in a
//! burst.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Runs `chore` every `period` until the task is aborted; a failure is logged as `what`.
pub fn every<F, Fut, T, E>(period: Duration, what: &'static str, mut chore: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = chore().await {
                tracing::warn!(%error, "{what}");
            }
        }
    })
}
