//! The life of a deploy record once created: which reported times are believable, when a result
//! is due (the deadline), and what the server makes of a deploy nobody finished (`abandoned`).
//!
//! A record is open (`in_progress`) until a writer reports how it ended, once; from then on it
//! never changes. A writer declares when its result is due when it records the start; the
//! server marks whatever is still open past that deadline `abandoned`, so no deploy shows as
//! deploying forever. Pure functions over times and [`Deploy`]s: the server calls them with its
//! clock, writers may call them to check a payload before sending it.

use chrono::{DateTime, TimeDelta, Utc};

use crate::deploy::{Deploy, DeployStatus, Failure};
use crate::error::FieldError;

/// How far ahead of the server's clock a reported time (`started_at`, `finished_at`) may be:
/// clocks drift a little, but a start far in the future would pin a deploy as the latest one
/// for ever.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// The deadline of an open deploy whose writer declared none: this long after the server
/// received it.
pub const DEFAULT_DEADLINE: TimeDelta = TimeDelta::hours(1);

/// The latest deadline a writer may declare: this long after the server receives it.
pub const MAX_DEADLINE: TimeDelta = TimeDelta::hours(25);

/// Refuses `abandoned` from a writer: the server alone decides it.
pub fn writable_status(status: DeployStatus) -> Result<(), FieldError> {
    if status == DeployStatus::Abandoned {
        return Err(FieldError::new(
            "status",
            "abandoned is set by the server alone, for a deploy still open past its deadline",
        ));
    }
    Ok(())
}

/// Refuses a reported time more than [`MAX_CLOCK_SKEW`] after `now`, naming `field`.
pub fn not_in_future(
    field: &str,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), FieldError> {
    match at {
        Some(at) if at > now + MAX_CLOCK_SKEW => Err(FieldError::new(
            field,
            format!(
                "is {} in the future; at most {} minutes ahead of the server's clock are accepted",
                ahead(at - now),
                MAX_CLOCK_SKEW.num_minutes()
            ),
        )),
        _ => Ok(()),
    }
}

/// Checks a declared deadline: after the start, and at most [`MAX_DEADLINE`] after `now`.
pub fn check_deadline(
    deadline: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), FieldError> {
    let Some(deadline) = deadline else {
        return Ok(());
    };
    if deadline <= started_at.unwrap_or(now) {
        return Err(FieldError::new("deadline", "must be after started_at"));
    }
    if deadline > now + MAX_DEADLINE {
        return Err(FieldError::new(
            "deadline",
            format!(
                "must be at most {} hours ahead of the server's clock",
                MAX_DEADLINE.num_hours()
            ),
        ));
    }
    Ok(())
}

/// When the result of a deploy received at `received_at` in `status` is due: the declared
/// deadline, else [`DEFAULT_DEADLINE`] after receipt for an open deploy; none for a finished one.
pub fn deadline(
    declared: Option<DateTime<Utc>>,
    status: DeployStatus,
    received_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    declared.or_else(|| (!status.is_terminal()).then_some(received_at + DEFAULT_DEADLINE))
}

/// The failure reason of a deploy abandoned at `deadline`.
pub fn abandoned_reason(deadline: DateTime<Utc>) -> String {
    format!(
        "no result was reported by {} UTC: the job was cancelled or its runner stopped",
        deadline.format("%H:%M")
    )
}

/// Marks an open deploy whose result was due at `deadline` as abandoned: status, end (the
/// deadline: nothing is known after it) and reason. Returns `false`, changing nothing, when the
/// deploy has already finished. Only the server does this.
pub fn abandon(deploy: &mut Deploy, deadline: DateTime<Utc>) -> bool {
    if deploy.status != DeployStatus::InProgress {
        return false;
    }
    deploy.status = DeployStatus::Abandoned;
    deploy.deadline = Some(deadline);
    deploy.finished_at = Some(deadline.max(deploy.started_at));
    deploy.failure = Some(Failure {
        reason: abandoned_reason(deadline),
        details: Vec::new(),
    });
    true
}

/// `5 minutes`, `3 hours`, `2 days`: how far ahead a time is, roughly.
fn ahead(by: TimeDelta) -> String {
    let (n, unit) = if by.num_days() >= 2 {
        (by.num_days(), "days")
    } else if by.num_hours() >= 2 {
        (by.num_hours(), "hours")
    } else {
        (by.num_minutes(), "minutes")
    };
    format!("{n} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeployId;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn times_up_to_five_minutes_ahead_are_believed() {
        let now = at("2026-03-01T12:00:00Z");
        assert_eq!(not_in_future("started_at", None, now), Ok(()));
        assert_eq!(
            not_in_future("started_at", Some(now + MAX_CLOCK_SKEW), now),
            Ok(())
        );
        let error = not_in_future("finished_at", Some(at("2026-03-11T12:00:00Z")), now)
            .expect_err("ten days ahead");
        assert_eq!(error.field, "finished_at");
        assert_eq!(
            error.message,
            "is 10 days in the future; at most 5 minutes ahead of the server's clock are accepted"
        );
        let error = not_in_future("started_at", Some(now + TimeDelta::minutes(6)), now)
            .expect_err("six minutes ahead");
        assert!(error.message.starts_with("is 6 minutes"), "{error}");
    }

    #[test]
    fn a_deadline_falls_after_the_start_and_within_25_hours() {
        let now = at("2026-03-01T12:00:00Z");
        let start = Some(at("2026-03-01T11:00:00Z"));
        assert_eq!(check_deadline(None, start, now), Ok(()));
        assert_eq!(check_deadline(Some(now + MAX_DEADLINE), start, now), Ok(()));
        // Already past (a writer that reports late): allowed, the server abandons it at once.
        assert_eq!(
            check_deadline(Some(at("2026-03-01T11:30:00Z")), start, now),
            Ok(())
        );
        for wrong in [
            at("2026-03-01T11:00:00Z"),
            now + MAX_DEADLINE + TimeDelta::seconds(1),
        ] {
            assert_eq!(
                check_deadline(Some(wrong), start, now).unwrap_err().field,
                "deadline",
                "{wrong}"
            );
        }
        // Without a start, the server's clock is the start.
        assert!(check_deadline(Some(now), None, now).is_err());
    }

    #[test]
    fn open_deploys_get_a_default_deadline() {
        let now = at("2026-03-01T12:00:00Z");
        let declared = Some(at("2026-03-01T12:20:00Z"));
        assert_eq!(deadline(declared, DeployStatus::InProgress, now), declared);
        assert_eq!(
            deadline(None, DeployStatus::InProgress, now),
            Some(at("2026-03-01T13:00:00Z"))
        );
        assert_eq!(deadline(None, DeployStatus::Succeeded, now), None);
    }

    #[test]
    fn an_open_deploy_is_abandoned_with_the_reason_once() {
        let new: crate::NewDeploy = serde_json::from_value(serde_json::json!({
            "repo": "acme/shop", "app": "api", "namespace": "prod",
            "commit": {"sha": "0123456789abcdef"}, "actor": "alice",
            "run": {"id": 42, "job": "deploy"}
        }))
        .unwrap();
        let mut deploy = new.into_deploy(DeployId(1), at("2026-03-01T13:00:00Z"));
        let due = at("2026-03-01T14:05:00Z");
        assert!(abandon(&mut deploy, due));
        assert_eq!(deploy.status, DeployStatus::Abandoned);
        assert_eq!(deploy.finished_at, Some(due));
        assert_eq!(
            deploy.failure.as_ref().unwrap().reason,
            "no result was reported by 14:05 UTC: the job was cancelled or its runner stopped"
        );
        let before = deploy.clone();
        assert!(
            !abandon(&mut deploy, due),
            "a finished deploy stays as it is"
        );
        assert_eq!(deploy, before);
    }
}
