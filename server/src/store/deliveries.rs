//! The webhook outbox (`deliveries`): rows enqueued in the transaction of the deploy write that
//! causes them, claimed one at a time by the delivery worker of whichever server process gets
//! there first ([`crate::webhooks::worker`]), and listed for `GET /api/v1/deliveries`.
//!
//! A claim is an optimistic `UPDATE … WHERE claimed_until < now`: two processes racing for one
//! delivery claim it once, and a claim left by a stopped process expires. An attempt's outcome
//! is written only while the claim is still the one it took.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use shiplog_model::{Deliveries, Delivery, DeliveryEvent, DeliveryState, Deploy, DeployId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError};
use crate::webhooks::{Outbox, payload};

/// A delivery this process claimed, to be sent.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub webhook: String,
    pub event: DeliveryEvent,
    pub payload: String,
    /// Attempts before this one.
    pub attempts: u32,
    /// The claim's expiry (ms), which the outcome's write checks.
    pub claimed_until: i64,
}

/// The outcome of one attempt, to record.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub state: DeliveryState,
    pub status: Option<u16>,
    /// Cut to [`shiplog_model::limits::MAX_SHORT_TEXT`] by the store.
    pub error: Option<String>,
    /// When the next attempt is due (pending only), in ms.
    pub next_attempt_at: i64,
}

/// Which deliveries `GET /api/v1/deliveries` lists.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub deploy: Option<DeployId>,
    pub webhook: Option<String>,
    pub limit: u32,
}

/// Enqueues `event` of `deploy` for every webhook that wants it, in `tx`; whether any was.
/// A webhook with `max_pending` pending deliveries gets none (logged and counted).
pub(super) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    outbox: &Outbox,
    event: DeliveryEvent,
    deploy: &Deploy,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut enqueued = false;
    for hook in &outbox.webhooks.hooks {
        if !hook.wants(event, deploy) {
            continue;
        }
        let max = outbox.webhooks.tuning.max_pending;
        let pending: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM deliveries WHERE webhook = $1 \
             AND state = 'pending' LIMIT $2) AS p",
        )
        .bind(&hook.name)
        .bind(max)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
        if pending >= max {
            outbox.dropped.inc();
            tracing::warn!(
                webhook = %hook.name,
                deploy = %deploy.id,
                event = event.as_str(),
                pending,
                "webhook delivery dropped: the webhook already has too many pending deliveries"
            );
            continue;
        }
        let now_ms = now.timestamp_millis();
        let id: i64 = sqlx::query(
            "INSERT INTO deliveries (deploy_id, webhook, event, payload, next_attempt_at, \
             created_at) VALUES ($1, $2, $3, '', $4, $4) RETURNING id",
        )
        .bind(deploy.id.0)
        .bind(&hook.name)
        .bind(event.as_str())
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?
        .try_get("id")?;
        // The body names its delivery, so it is written once the row has its id.
        let body = payload::body(hook.format, event, id, deploy, &outbox.public_url);
        sqlx::query("UPDATE deliveries SET payload = $1 WHERE id = $2")
            .bind(body)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        enqueued = true;
    }
    Ok(enqueued)
}

impl Store {
    /// The same store enqueuing deliveries for `outbox`'s webhooks in its writes.
    pub fn with_outbox(mut self, outbox: Arc<Outbox>) -> Store {
        self.outbox = Some(outbox);
        self
    }

    /// The outbox this store enqueues into, when webhooks are configured.
    pub fn outbox(&self) -> Option<&Arc<Outbox>> {
        self.outbox.as_ref()
    }

    /// Ids of up to `limit` pending deliveries of `webhook` due at `now` and not claimed,
    /// oldest due first.
    pub async fn due_deliveries(
        &self,
        webhook: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM deliveries WHERE webhook = $1 AND state = 'pending' \
             AND next_attempt_at <= $2 AND claimed_until < $2 \
             ORDER BY next_attempt_at, id LIMIT $3",
        )
        .bind(webhook)
        .bind(now.timestamp_millis())
        .bind(limit)
        .fetch_all(&self.reads)
        .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?)
    }

    /// Claims delivery `id` until `until`, unless it is no longer pending or another process
    /// holds it.
    pub async fn claim_delivery(
        &self,
        id: i64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Claimed>, StoreError> {
        let until = until.timestamp_millis();
        let row = sqlx::query(
            "UPDATE deliveries SET claimed_until = $1 WHERE id = $2 AND state = 'pending' \
             AND claimed_until < $3 RETURNING webhook, event, payload, attempts",
        )
        .bind(until)
        .bind(id)
        .bind(now.timestamp_millis())
        .fetch_optional(&self.writes)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let event: String = row.try_get("event")?;
        let attempts: i64 = row.try_get("attempts")?;
        Ok(Some(Claimed {
            id,
            webhook: row.try_get("webhook")?,
            event: DeliveryEvent::parse(&event).unwrap_or(DeliveryEvent::Finished),
            payload: row.try_get("payload")?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            claimed_until: until,
        }))
    }

    /// Records the outcome of an attempt at `claimed`, at `now`, if the claim still holds.
    pub async fn record_attempt(
        &self,
        claimed: &Claimed,
        outcome: &Attempted,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let delivered = (outcome.state == DeliveryState::Delivered).then(|| now.timestamp_millis());
        let error = outcome
            .error
            .as_deref()
            .map(|e| shiplog_model::limits::cut(e, shiplog_model::limits::MAX_SHORT_TEXT));
        let written = sqlx::query(
            "UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2, \
             last_error = $3, next_attempt_at = $4, delivered_at = $5, claimed_until = 0 \
             WHERE id = $6 AND claimed_until = $7",
        )
        .bind(outcome.state.as_str())
        .bind(outcome.status.map(i64::from))
        .bind(error)
        .bind(outcome.next_attempt_at)
        .bind(delivered)
        .bind(claimed.id)
        .bind(claimed.claimed_until)
        .execute(&self.writes)
        .await?;
        Ok(written.rows_affected() == 1)
    }

    /// Fails, with `reason` as its last error, every delivery still pending that has been due
    /// since before `due_before`, is not claimed at `now` (an attempt under way is left to
    /// finish) and whose webhook is not one of `served` (those this process sends); how many.
    pub async fn fail_stale_deliveries(
        &self,
        due_before: DateTime<Utc>,
        now: DateTime<Utc>,
        served: &[&str],
        reason: &str,
    ) -> Result<u64, StoreError> {
        let mut sql = String::from(
            "UPDATE deliveries SET state = 'failed', last_error = $1 \
             WHERE state = 'pending' AND next_attempt_at < $2 AND claimed_until < $3",
        );
        if !served.is_empty() {
            let binds: Vec<String> = (4..4 + served.len()).map(|n| format!("${n}")).collect();
            sql.push_str(&format!(" AND webhook NOT IN ({})", binds.join(", ")));
        }
        let mut query = sqlx::query(&sql)
            .bind(reason)
            .bind(due_before.timestamp_millis())
            .bind(now.timestamp_millis());
        for name in served {
            query = query.bind(*name);
        }
        Ok(query.execute(&self.writes).await?.rows_affected())
    }

    /// The deliveries `filter` selects, newest first.
    pub async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Deliveries, StoreError> {
        let mut sql = String::from(
            "SELECT id, deploy_id, webhook, event, state, attempts, last_status, last_error, \
             created_at, delivered_at, next_attempt_at FROM deliveries WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if filter.deploy.is_some() {
            sql += &format!(" AND deploy_id = ${}", next());
        }
        if filter.webhook.is_some() {
            sql += &format!(" AND webhook = ${}", next());
        }
        sql += &format!(" ORDER BY id DESC LIMIT ${}", next());
        let mut query = sqlx::query(&sql);
        if let Some(deploy) = filter.deploy {
            query = query.bind(deploy.0);
        }
        if let Some(webhook) = &filter.webhook {
            query = query.bind(webhook);
        }
        let rows = query
            .bind(i64::from(filter.limit))
            .fetch_all(&self.reads)
            .await?;
        Ok(Deliveries {
            deliveries: rows.iter().map(delivery).collect::<Result<_, _>>()?,
        })
    }
}

fn delivery(row: &AnyRow) -> Result<Delivery, StoreError> {
    let time = |column: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
        let ms: Option<i64> = row.try_get(column)?;
        Ok(ms.and_then(DateTime::from_timestamp_millis))
    };
    let event: String = row.try_get("event")?;
    let state: String = row.try_get("state")?;
    let state = DeliveryState::parse(&state).unwrap_or(DeliveryState::Failed);
    let attempts: i64 = row.try_get("attempts")?;
    let status: Option<i64> = row.try_get("last_status")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        deploy_id: DeployId(row.try_get("deploy_id")?),
        webhook: row.try_get("webhook")?,
        event: DeliveryEvent::parse(&event).unwrap_or(DeliveryEvent::Finished),
        state,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error")?,
        created_at: time("created_at")?.unwrap_or_default(),
        delivered_at: time("delivered_at")?,
        next_attempt_at: if state == DeliveryState::Pending {
            time("next_attempt_at")?
        } else {
            None
        },
    })
}
