//! The delivery worker: one task per server process ([`spawn`], started by
//! [`crate::serve`]) sends the outbox's due deliveries and records each attempt.
//!
//! It wakes when a write of this process enqueued deliveries, and otherwise every
//! [`Tuning::poll`] (for retries, and for deliveries enqueued by other processes on the same
//! PostgreSQL database or left by a stopped one). Each round it claims at most as many due
//! deliveries as it has free senders ([`Tuning::concurrency`], and [`Tuning::per_webhook`] for
//! each webhook, so one receiver that hangs does not hold up the others), so a claim never
//! waits for a sender. Only the webhooks of its own file are sent: a delivery of a webhook this
//! process does not know (removed, or added on another replica first) is left to the processes
//! that know it. An attempt is one `POST` within [`Tuning::timeout`], redirects not followed, at most
//! 64 KiB of the answer read; 2xx delivers, anything else is retried after the next wait of
//! [`Tuning::backoff`] until there is none left, then the delivery has `failed`.
//!
//! Not for deciding what to deliver: writes enqueue deliveries ([`super::Outbox`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use shiplog_model::DeliveryState;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use super::config::Format;
use super::{Outbox, Tuning, Webhook, sign};
use crate::metrics::Metrics;
use crate::store::{Attempted, Claimed, Store, StoreError};

/// Most bytes of an answer read (and then dropped).
const MAX_ANSWER: usize = 64 * 1024;

/// Starts this process's worker for `store`'s outbox (none without webhooks).
pub fn spawn(store: Store, metrics: Arc<Metrics>) -> Option<JoinHandle<()>> {
    let outbox = store.outbox()?.clone();
    let client = client(&outbox.webhooks.tuning);
    Some(tokio::spawn(run(store, outbox, client, metrics)))
}

/// The HTTP client of deliveries: one per worker, its connections reused.
fn client(tuning: &Tuning) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(tuning.timeout)
        .connect_timeout(tuning.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shiplog-server/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend is built in")
}

async fn run(store: Store, outbox: Arc<Outbox>, client: reqwest::Client, metrics: Arc<Metrics>) {
    let tuning = &outbox.webhooks.tuning;
    let senders = Senders {
        all: Arc::new(Semaphore::new(tuning.concurrency.max(1))),
        each: (outbox.webhooks.hooks.iter())
            .map(|_| Arc::new(Semaphore::new(tuning.per_webhook.max(1))))
            .collect(),
    };
    // Dropped (and its sends aborted) when the task is: their claims expire and are retried.
    let mut sending = JoinSet::new();
    loop {
        if let Err(error) = round(&store, &outbox, &client, &metrics, &senders, &mut sending).await
        {
            tracing::warn!(%error, "sending webhook deliveries");
        }
        tokio::select! {
            () = outbox.wake.notified() => {}
            () = tokio::time::sleep(tuning.poll) => {}
            Some(_) = sending.join_next(), if !sending.is_empty() => {}
        }
    }
}

/// The worker's senders: [`Tuning::concurrency`] in all, [`Tuning::per_webhook`] for each
/// webhook (by its index), so a receiver that hangs holds up only its own deliveries.
struct Senders {
    all: Arc<Semaphore>,
    each: Vec<Arc<Semaphore>>,
}

/// For each webhook, claims its due deliveries while it and the worker have free senders, and
/// sends each in its own task.
async fn round(
    store: &Store,
    outbox: &Arc<Outbox>,
    client: &reqwest::Client,
    metrics: &Arc<Metrics>,
    senders: &Senders,
    sending: &mut JoinSet<()>,
) -> Result<(), StoreError> {
    while sending.try_join_next().is_some() {}
    let claim = chrono::Duration::from_std(outbox.webhooks.tuning.claim).unwrap_or_default();
    for (index, hook) in outbox.webhooks.hooks.iter().enumerate() {
        let own = &senders.each[index];
        loop {
            let room = senders.all.available_permits().min(own.available_permits());
            if room == 0 {
                break;
            }
            let now = Utc::now();
            let due = store.due_deliveries(&hook.name, now, room as i64).await?;
            let mut claimed_any = false;
            for id in &due {
                let (Ok(any), Ok(mine)) = (
                    senders.all.clone().try_acquire_owned(),
                    own.clone().try_acquire_owned(),
                ) else {
                    break;
                };
                let Some(claimed) = store.claim_delivery(*id, now, now + claim).await? else {
                    continue;
                };
                claimed_any = true;
                let (store, hook, client, metrics) =
                    (store.clone(), hook.clone(), client.clone(), metrics.clone());
                let tuning = outbox.webhooks.tuning.clone();
                sending.spawn(async move {
                    deliver(&store, &hook, &tuning, &client, &metrics, claimed).await;
                    drop((any, mine));
                });
            }
            if due.len() < room || !claimed_any {
                break;
            }
        }
    }
    Ok(())
}

/// Sends one claimed delivery and records the outcome.
async fn deliver(
    store: &Store,
    hook: &Webhook,
    tuning: &Tuning,
    client: &reqwest::Client,
    metrics: &Metrics,
    claimed: Claimed,
) {
    let result = attempt(client, hook, &claimed).await;
    let now = Utc::now();
    let outcome = outcome(tuning, &claimed, result, now);
    metrics.webhook_delivery(match outcome.state {
        DeliveryState::Delivered => "delivered",
        DeliveryState::Pending => "retried",
        DeliveryState::Failed => "failed",
    });
    match outcome.state {
        DeliveryState::Delivered => {}
        DeliveryState::Pending => tracing::info!(
            webhook = %claimed.webhook,
            delivery = claimed.id,
            error = outcome.error.as_deref().unwrap_or_default(),
            "webhook delivery failed; it will be retried"
        ),
        DeliveryState::Failed => tracing::warn!(
            webhook = %claimed.webhook,
            delivery = claimed.id,
            error = outcome.error.as_deref().unwrap_or_default(),
            "webhook delivery failed for good"
        ),
    }
    match store.record_attempt(&claimed, &outcome, now).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            delivery = claimed.id,
            "a webhook delivery's claim expired before its attempt ended; it may be sent again"
        ),
        Err(error) => tracing::warn!(%error, delivery = claimed.id, "recording a webhook delivery"),
    }
}

/// The status of the answer (2xx) or, for a failed attempt, the status if any and why.
type AttemptResult = Result<u16, (Option<u16>, String)>;

/// One `POST` of the delivery's stored body.
async fn attempt(client: &reqwest::Client, hook: &Webhook, claimed: &Claimed) -> AttemptResult {
    let body = claimed.payload.as_bytes();
    let mut request = client
        .post(hook.url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header("X-Shiplog-Event", claimed.event.wire_name())
        .header("X-Shiplog-Delivery", claimed.id.to_string());
    if let (Format::Generic, Some(secret)) = (hook.format, &hook.secret) {
        request = request.header(sign::HEADER, sign::signature(secret.expose(), body));
    }
    if let Some(token) = &hook.token {
        let mut value =
            HeaderValue::from_bytes(&[b"Bearer ", token.expose()].concat()).map_err(|_| {
                (
                    None,
                    "the token file holds characters a header cannot".to_owned(),
                )
            })?;
        value.set_sensitive(true);
        request = request.header(AUTHORIZATION, value);
    }
    let mut response = request
        .body(claimed.payload.clone())
        .send()
        .await
        .map_err(|e| (None, describe(e)))?;
    let status = response.status();
    // Read a little of the answer, so the connection can be reused, and drop it.
    let mut read = 0;
    while read < MAX_ANSWER {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err((
            Some(status.as_u16()),
            format!("the receiver answered {status}"),
        ))
    }
}

/// A request error and its causes, without the URL (its path or query may hold a key).
fn describe(error: reqwest::Error) -> String {
    let timeout = error.is_timeout();
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    if timeout {
        text += " (timed out)";
    }
    text
}

/// What an attempt made of `claimed`: delivered, retried after the next wait, or failed.
fn outcome(
    tuning: &Tuning,
    claimed: &Claimed,
    result: AttemptResult,
    now: DateTime<Utc>,
) -> Attempted {
    match result {
        Ok(status) => Attempted {
            state: DeliveryState::Delivered,
            status: Some(status),
            error: None,
            next_attempt_at: now.timestamp_millis(),
        },
        Err((status, error)) => {
            let wait = tuning.backoff.get(claimed.attempts as usize);
            Attempted {
                state: if wait.is_some() {
                    DeliveryState::Pending
                } else {
                    DeliveryState::Failed
                },
                status,
                error: Some(error),
                next_attempt_at: (now + to_chrono(wait.copied().unwrap_or_default()))
                    .timestamp_millis(),
            }
        }
    }
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiplog_model::DeliveryEvent;

    fn claimed(attempts: u32) -> Claimed {
        Claimed {
            id: 1,
            webhook: "w".into(),
            event: DeliveryEvent::Started,
            payload: "{}".into(),
            attempts,
            claimed_until: 0,
        }
    }

    #[test]
    fn failures_back_off_then_give_up() {
        let tuning = Tuning::default();
        let now: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
        let failed = || Err((Some(500), "the receiver answered 500".to_owned()));
        let first = outcome(&tuning, &claimed(0), failed(), now);
        assert_eq!(first.state, DeliveryState::Pending);
        assert_eq!(first.next_attempt_at, now.timestamp_millis() + 10_000);
        assert_eq!(first.status, Some(500));
        let second = outcome(&tuning, &claimed(1), failed(), now);
        assert_eq!(second.next_attempt_at, now.timestamp_millis() + 30_000);
        // The eighth attempt is the last.
        let last = outcome(&tuning, &claimed(7), failed(), now);
        assert_eq!(last.state, DeliveryState::Failed);
        let done = outcome(&tuning, &claimed(3), Ok(204), now);
        assert_eq!(
            (done.state, done.status),
            (DeliveryState::Delivered, Some(204))
        );
        let total: Duration = tuning.backoff.iter().sum();
        assert!(total < Duration::from_secs(3 * 3600), "{total:?}");
        assert!(tuning.claim > tuning.timeout * 2);
    }
}
