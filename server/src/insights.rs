//! Computes [`Insights`] from the deploys of a time window. Pure: the store supplies the
//! [`Sample`]s, this module only does arithmetic, so it is unit-tested without a database.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use shiplog_model::{DailyCount, DeployStatus, InsightRow, Insights};

/// The facts about one deploy that insights need.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub namespace: String,
    pub app: String,
    pub status: DeployStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Sample {
    fn failed(&self) -> bool {
        matches!(self.status, DeployStatus::Failed | DeployStatus::RolledBack)
    }
}

/// Insights for `samples`, which must all have started within `since..until`.
pub fn compute(mut samples: Vec<Sample>, since: DateTime<Utc>, until: DateTime<Utc>) -> Insights {
    samples.sort_by_key(|s| s.started_at);
    let mut groups: BTreeMap<(String, String), Vec<Sample>> = BTreeMap::new();
    for sample in samples {
        groups
            .entry((sample.namespace.clone(), sample.app.clone()))
            .or_default()
            .push(sample);
    }
    let days = ((until - since).num_seconds() as f64 / 86_400.0).max(1.0 / 24.0);
    let rows = groups
        .into_iter()
        .map(|((namespace, app), samples)| row(namespace, app, &samples, days))
        .filter(|row| row.deploys + row.cancelled + row.abandoned + row.blocked > 0)
        .collect();
    Insights { since, until, rows }
}

/// The numbers of one (namespace, app). Only deploys with an outcome (succeeded, failed, rolled
/// back) count as deploys; cancelled and abandoned ones are counted apart and nowhere else.
fn row(namespace: String, app: String, samples: &[Sample], days: f64) -> InsightRow {
    let finished: Vec<&Sample> = samples.iter().filter(|s| s.status.has_outcome()).collect();
    let count = |status| samples.iter().filter(|s| s.status == status).count() as u64;
    let deploys = finished.len() as u64;
    let failures = finished.iter().filter(|s| s.failed()).count() as u64;
    let durations = finished
        .iter()
        .filter_map(|s| {
            s.finished_at
                .map(|end| (end - s.started_at).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    InsightRow {
        namespace,
        app,
        deploys,
        failures,
        cancelled: count(DeployStatus::Cancelled),
        abandoned: count(DeployStatus::Abandoned),
        blocked: count(DeployStatus::Blocked),
        deploys_per_day: deploys as f64 / days,
        change_failure_rate: if deploys == 0 {
            0.0
        } else {
            failures as f64 / deploys as f64
        },
        median_duration_secs: median(durations),
        median_time_to_restore_secs: median(restore_times(&finished)),
        daily: daily(&finished),
    }
}

/// For each run of failures, the time from the first failure's end to the next success's end.
fn restore_times(finished: &[&Sample]) -> Vec<f64> {
    let mut broken_since: Option<DateTime<Utc>> = None;
    let mut times = Vec::new();
    for sample in finished {
        let end = sample.finished_at.unwrap_or(sample.started_at);
        if sample.failed() {
            broken_since.get_or_insert(end);
        } else if sample.status == DeployStatus::Succeeded
            && let Some(since) = broken_since.take()
        {
            times.push((end - since).num_milliseconds().max(0) as f64 / 1000.0);
        }
    }
    times
}

fn daily(finished: &[&Sample]) -> Vec<DailyCount> {
    let mut days: BTreeMap<chrono::NaiveDate, DailyCount> = BTreeMap::new();
    for sample in finished {
        let day = sample.started_at.date_naive();
        let count = days.entry(day).or_insert(DailyCount {
            day,
            deploys: 0,
            failures: 0,
        });
        count.deploys += 1;
        count.failures += u64::from(sample.failed());
    }
    days.into_values().collect()
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn sample(status: DeployStatus, start: &str, seconds: i64) -> Sample {
        Sample {
            namespace: "prod".into(),
            app: "api".into(),
            status,
            started_at: at(start),
            finished_at: Some(at(start) + chrono::Duration::seconds(seconds)),
        }
    }

    #[test]
    fn rates_durations_and_time_to_restore() {
        use DeployStatus::*;
        let samples = vec![
            sample(Succeeded, "2026-01-01T10:00:00Z", 60),
            sample(Failed, "2026-01-02T10:00:00Z", 120),
            sample(RolledBack, "2026-01-02T11:00:00Z", 30),
            sample(Succeeded, "2026-01-02T12:00:00Z", 90),
            sample(InProgress, "2026-01-03T10:00:00Z", 0),
        ];
        let insights = compute(
            samples,
            at("2026-01-01T00:00:00Z"),
            at("2026-01-11T00:00:00Z"),
        );
        let row = &insights.rows[0];
        assert_eq!((row.deploys, row.failures), (4, 2));
        assert_eq!(row.change_failure_rate, 0.5);
        assert!((row.deploys_per_day - 0.4).abs() < 1e-9);
        assert_eq!(row.median_duration_secs, Some(75.0));
        // Broken at 10:02 (end of the first failure), restored at 12:01:30.
        assert_eq!(row.median_time_to_restore_secs, Some(7170.0));
        assert_eq!(row.daily.len(), 2);
        assert_eq!((row.daily[1].deploys, row.daily[1].failures), (3, 2));
    }

    #[test]
    fn cancelled_and_abandoned_deploys_are_counted_apart() {
        use DeployStatus::*;
        let samples = vec![
            sample(Failed, "2026-01-01T10:00:00Z", 60),
            sample(Cancelled, "2026-01-01T11:00:00Z", 5),
            sample(Abandoned, "2026-01-01T12:00:00Z", 3600),
            sample(Succeeded, "2026-01-01T13:00:00Z", 120),
        ];
        let insights = compute(
            samples,
            at("2026-01-01T00:00:00Z"),
            at("2026-01-02T00:00:00Z"),
        );
        let row = &insights.rows[0];
        assert_eq!((row.deploys, row.failures), (2, 1));
        assert_eq!((row.cancelled, row.abandoned), (1, 1));
        assert_eq!(row.change_failure_rate, 0.5, "neither success nor failure");
        assert_eq!(
            row.median_duration_secs,
            Some(90.0),
            "their durations mean nothing"
        );
        // Restored at 13:02 from the failure's end at 10:01, whatever came between.
        assert_eq!(row.median_time_to_restore_secs, Some(10_860.0));
        assert_eq!((row.daily[0].deploys, row.daily[0].failures), (2, 1));

        let only_abandoned = compute(
            vec![sample(Abandoned, "2026-01-01T12:00:00Z", 3600)],
            at("2026-01-01T00:00:00Z"),
            at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(only_abandoned.rows.len(), 1, "shown, with its count");
        assert_eq!(only_abandoned.rows[0].deploys, 0);
        assert_eq!(only_abandoned.rows[0].abandoned, 1);
    }

    #[test]
    fn no_failures_means_no_restore_time() {
        let samples = vec![sample(DeployStatus::Succeeded, "2026-01-01T10:00:00Z", 10)];
        let insights = compute(
            samples,
            at("2026-01-01T00:00:00Z"),
            at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(insights.rows[0].median_time_to_restore_secs, None);
        assert_eq!(insights.rows[0].change_failure_rate, 0.0);
        assert_eq!(median(vec![]), None);
    }
}
