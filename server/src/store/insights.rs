//! The rows insights are computed from: a few columns of every deploy in a time window.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError};
use crate::insights::Sample;

/// Which deploys to sample.
#[derive(Debug, Clone)]
pub struct SampleFilter {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub namespace: Option<String>,
    pub app: Option<String>,
}

impl Store {
    /// Namespace, app, status and times of every deploy that started in the window.
    pub async fn samples(&self, filter: &SampleFilter) -> Result<Vec<Sample>, StoreError> {
        let rows = sqlx::query(
            "SELECT namespace, app, status, started_at, finished_at FROM deploys \
             WHERE started_at >= $1 AND started_at < $2 \
             AND ($3 = '' OR namespace = $3) AND ($4 = '' OR app = $4)",
        )
        .bind(filter.since.timestamp_millis())
        .bind(filter.until.timestamp_millis())
        .bind(filter.namespace.clone().unwrap_or_default())
        .bind(filter.app.clone().unwrap_or_default())
        .fetch_all(&self.reads)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                let finished: Option<i64> = row.try_get("finished_at")?;
                Ok(Sample {
                    namespace: row.try_get("namespace")?,
                    app: row.try_get("app")?,
                    status: status
                        .parse()
                        .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?,
                    started_at: millis(row.try_get("started_at")?),
                    finished_at: finished.map(millis),
                })
            })
            .collect()
    }
}

fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
