//! Delivery insights (`GET /api/v1/insights`): per namespace and app, how often deploys happen,
//! how often they fail, how long they take, and how long it takes to recover from a failure.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Insights over a time window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Insights {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// One row per (namespace, app) with at least one finished deploy in the window.
    pub rows: Vec<InsightRow>,
}

/// The numbers for one app in one namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InsightRow {
    pub namespace: String,
    pub app: String,
    /// Deploys that ended with an outcome: succeeded, failed or rolled back.
    pub deploys: u64,
    /// Deploys that failed or were rolled back.
    pub failures: u64,
    /// Deploys stopped before they ended (the job was cancelled): neither success nor failure,
    /// left out of every other number.
    #[serde(default)]
    pub cancelled: u64,
    /// Deploys nobody reported a result for before their deadline: neither success nor
    /// failure, left out of every other number.
    #[serde(default)]
    pub abandoned: u64,
    /// Deploys a lock or freeze window held: nothing was deployed, left out of every other
    /// number.
    #[serde(default)]
    pub blocked: u64,
    /// Deploys per day over the window.
    pub deploys_per_day: f64,
    /// `failures / deploys`, 0 when there were none.
    pub change_failure_rate: f64,
    /// Median time from start to end of a finished deploy, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_duration_secs: Option<f64>,
    /// Median time from a failed deploy's end to the end of the next successful deploy of the
    /// same app and namespace, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_time_to_restore_secs: Option<f64>,
    /// Deploys and failures per calendar day (UTC), oldest first, days without deploys omitted.
    pub daily: Vec<DailyCount>,
}

/// Deploys and failures on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyCount {
    pub day: NaiveDate,
    pub deploys: u64,
    pub failures: u64,
}
