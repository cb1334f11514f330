//! Environment locks and their audit log: `locks` holds the locks in force (one per environment
//! and app, `''` for the whole environment), `lock_events` every lock, unlock and override,
//! appended in the same transaction as the change it records.

use chrono::{DateTime, Utc};
use shiplog_model::locks::{MAX_LOCK_EVENTS, MAX_LOCKS};
use shiplog_model::{DeployId, FieldError, Lock, LockAction, LockEvent};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{Store, StoreError};

/// Who acts on a lock, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    /// As people know them (`@octocat`).
    pub by: &'a str,
    /// The credential (`token tokens.txt:3 (sha256 1a2b…)`, `console`).
    pub via: &'a str,
}

impl Store {
    /// Locks `environment` (or one `app` in it) for `reason`; locking again replaces the
    /// reason and who. At most [`MAX_LOCKS`] locks are kept.
    pub async fn lock(
        &self,
        environment: &str,
        app: Option<&str>,
        reason: &str,
        actor: &Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Lock, StoreError> {
        let mut tx = self.writes.begin().await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM locks")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let exists = sqlx::query("SELECT since FROM locks WHERE environment = $1 AND app = $2")
            .bind(environment)
            .bind(app.unwrap_or_default())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists && count >= MAX_LOCKS as i64 {
            return Err(StoreError::Invalid(FieldError::new(
                "environment",
                format!("{MAX_LOCKS} locks are in force already: unlock some first"),
            )));
        }
        sqlx::query(
            "INSERT INTO locks (environment, app, reason, locked_by, via, since) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (environment, app) DO UPDATE SET reason = $3, locked_by = $4, \
             via = $5, since = $6",
        )
        .bind(environment)
        .bind(app.unwrap_or_default())
        .bind(reason)
        .bind(actor.by)
        .bind(actor.via)
        .bind(now.timestamp_millis())
        .execute(&mut *tx)
        .await?;
        let lock = Lock {
            environment: environment.to_owned(),
            app: app.map(str::to_owned),
            reason: reason.to_owned(),
            by: actor.by.to_owned(),
            via: actor.via.to_owned(),
            since: now,
        };
        append(&mut tx, &event_of(&lock, LockAction::Locked, now, None)).await?;
        tx.commit().await?;
        Ok(lock)
    }

    /// Lifts the lock on `environment` (or on one `app` in it): the lock lifted, or `None` when
    /// there was none.
    pub async fn unlock(
        &self,
        environment: &str,
        app: Option<&str>,
        actor: &Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<Lock>, StoreError> {
        let mut tx = self.writes.begin().await?;
        let removed = sqlx::query(
            "DELETE FROM locks WHERE environment = $1 AND app = $2 \
             RETURNING environment, app, reason, locked_by, via, since",
        )
        .bind(environment)
        .bind(app.unwrap_or_default())
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| lock_of(&row))
        .transpose()?;
        if let Some(lock) = &removed {
            let event = LockEvent {
                by: actor.by.to_owned(),
                via: actor.via.to_owned(),
                ..event_of(lock, LockAction::Unlocked, now, None)
            };
            append(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    /// Appends a deploy's override of `hold` (its message) to the audit log.
    pub async fn record_override(
        &self,
        deploy: &shiplog_model::Deploy,
        hold: &str,
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let event = LockEvent {
            at: now,
            action: LockAction::Overridden,
            environment: deploy.environment.clone(),
            app: Some(deploy.app.clone()),
            reason: hold.to_owned(),
            by: deploy.actor.clone(),
            via: via.to_owned(),
            deploy: Some(deploy.id),
        };
        let mut tx = self.writes.begin().await?;
        append(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The locks in force, oldest first (at most [`MAX_LOCKS`]).
    pub async fn locks(&self) -> Result<Vec<Lock>, StoreError> {
        self.read_locks(None).await
    }

    /// The locks on environments named `environment` or `namespace` (a deploy's two names).
    pub async fn locks_on(
        &self,
        environment: &str,
        namespace: &str,
    ) -> Result<Vec<Lock>, StoreError> {
        self.read_locks(Some((environment, namespace))).await
    }

    async fn read_locks(&self, names: Option<(&str, &str)>) -> Result<Vec<Lock>, StoreError> {
        let filter = match names {
            Some(_) => "WHERE environment = $2 OR environment = $3",
            None => "",
        };
        let sql = format!(
            "SELECT environment, app, reason, locked_by, via, since FROM locks {filter} \
             ORDER BY since, environment, app LIMIT $1"
        );
        let mut query = sqlx::query(&sql).bind(MAX_LOCKS as i64);
        if let Some((environment, namespace)) = names {
            query = query.bind(environment).bind(namespace);
        }
        query
            .fetch_all(&self.reads)
            .await?
            .iter()
            .map(lock_of)
            .collect()
    }

    /// The newest audit events, newest first (at most [`MAX_LOCK_EVENTS`]).
    pub async fn lock_events(&self) -> Result<Vec<LockEvent>, StoreError> {
        sqlx::query(
            "SELECT at, action, environment, app, reason, locked_by, via, deploy_id \
             FROM lock_events ORDER BY id DESC LIMIT $1",
        )
        .bind(MAX_LOCK_EVENTS as i64)
        .fetch_all(&self.reads)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }
}

fn event_of(
    lock: &Lock,
    action: LockAction,
    at: DateTime<Utc>,
    deploy: Option<DeployId>,
) -> LockEvent {
    LockEvent {
        at,
        action,
        environment: lock.environment.clone(),
        app: lock.app.clone(),
        reason: lock.reason.clone(),
        by: lock.by.clone(),
        via: lock.via.clone(),
        deploy,
    }
}

async fn append(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    event: &LockEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO lock_events (at, action, environment, app, reason, locked_by, via, \
         deploy_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.at.timestamp_millis())
    .bind(event.action.as_str())
    .bind(&event.environment)
    .bind(event.app.as_deref().unwrap_or_default())
    .bind(&event.reason)
    .bind(&event.by)
    .bind(&event.via)
    .bind(event.deploy.map(|id| id.0))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn app_of(row: &AnyRow) -> Result<Option<String>, StoreError> {
    let app: String = row.try_get("app")?;
    Ok((!app.is_empty()).then_some(app))
}

fn lock_of(row: &AnyRow) -> Result<Lock, StoreError> {
    Ok(Lock {
        environment: row.try_get("environment")?,
        app: app_of(row)?,
        reason: row.try_get("reason")?,
        by: row.try_get("locked_by")?,
        via: row.try_get("via")?,
        since: millis(row.try_get("since")?),
    })
}

fn event_from_row(row: &AnyRow) -> Result<LockEvent, StoreError> {
    let action = match row.try_get::<String, _>("action")?.as_str() {
        "locked" => LockAction::Locked,
        "unlocked" => LockAction::Unlocked,
        _ => LockAction::Overridden,
    };
    Ok(LockEvent {
        at: millis(row.try_get("at")?),
        action,
        environment: row.try_get("environment")?,
        app: app_of(row)?,
        reason: row.try_get("reason")?,
        by: row.try_get("locked_by")?,
        via: row.try_get("via")?,
        deploy: row.try_get::<Option<i64>, _>("deploy_id")?.map(DeployId),
    })
}
