//! `/api/v1/insights`: deploy frequency, change failure rate, median duration and time to
//! restore per namespace and app, over a window (default: the last 30 days).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use shiplog_model::ingest::MAX_SHORT_TEXT;
use shiplog_model::query::parse_time;
use shiplog_model::{ErrorBody, FieldError, Insights};

use crate::AppState;
use crate::auth::ReadAccess;
use crate::error::AppError;
use crate::extract::QueryPairs;
use crate::insights::compute;
use crate::store::SampleFilter;

/// The window when `since` is not given.
const DEFAULT_WINDOW_DAYS: i64 = 30;
/// The longest window accepted, to bound the work per request.
const MAX_WINDOW_DAYS: i64 = 366;
/// The longest value of each parameter, in bytes (as the history query's).
const MAX_LENGTHS: [(&str, usize); 4] = [
    ("since", 64),
    ("until", 64),
    ("namespace", MAX_SHORT_TEXT),
    ("app", MAX_SHORT_TEXT),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/insights", get(insights))
}

/// Delivery insights per namespace and app.
#[utoipa::path(
    get, path = "/api/v1/insights", tag = "insights",
    params(
        ("since" = Option<String>, Query, description = "Start of the window, RFC 3339 (default: 30 days before `until`)"),
        ("until" = Option<String>, Query, description = "End of the window, RFC 3339 (default: now)"),
        ("namespace" = Option<String>, Query, description = "Only this namespace"),
        ("app" = Option<String>, Query, description = "Only this app"),
    ),
    responses(
        (status = 200, description = "Insights", body = Insights),
        (status = 400, description = "A parameter is longer than its maximum (64 bytes for times, 1024 for names)", body = ErrorBody),
        (status = 422, description = "Invalid parameter", body = ErrorBody),
    )
)]
pub async fn insights(
    State(state): State<AppState>,
    _: ReadAccess,
    pairs: QueryPairs,
) -> Result<Json<Insights>, AppError> {
    let filter = parse(pairs.within(&MAX_LENGTHS)?, Utc::now())?;
    let samples = state.store.samples(&filter).await?;
    Ok(Json(compute(samples, filter.since, filter.until)))
}

fn parse(pairs: Vec<(String, String)>, now: DateTime<Utc>) -> Result<SampleFilter, FieldError> {
    let (mut since, mut until, mut namespace, mut app) = (None, None, None, None);
    for (key, value) in pairs {
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "since" => since = Some(parse_time(&key, &value)?),
            "until" => until = Some(parse_time(&key, &value)?),
            "namespace" => namespace = Some(value),
            "app" => app = Some(value),
            _ => return Err(FieldError::new(key, "is not a known parameter")),
        }
    }
    let until = until.unwrap_or(now);
    let since = since.unwrap_or(until - Duration::days(DEFAULT_WINDOW_DAYS));
    if since >= until {
        return Err(FieldError::new("since", "must be before until"));
    }
    if until - since > Duration::days(MAX_WINDOW_DAYS) {
        return Err(FieldError::new(
            "since",
            format!("the window may span at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    if [&namespace, &app]
        .iter()
        .any(|v| v.as_deref().is_some_and(|v| v.contains('\0')))
    {
        return Err(FieldError::new(
            "namespace",
            "must not contain NUL characters",
        ));
    }
    Ok(SampleFilter {
        since,
        until,
        namespace,
        app,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_defaults_to_thirty_days_and_is_bounded() {
        let now: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
        let filter = parse(vec![], now).unwrap();
        assert_eq!(filter.until, now);
        assert_eq!(filter.since, now - Duration::days(30));
        let pair = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            parse(pair("since", "2020-01-01T00:00:00Z"), now)
                .unwrap_err()
                .field,
            "since"
        );
        let reversed = [
            ("since", "2026-02-02T00:00:00Z"),
            ("until", "2026-02-01T00:00:00Z"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec();
        assert_eq!(parse(reversed, now).unwrap_err().field, "since");
        assert_eq!(
            parse(pair("since", "soon"), now).unwrap_err().field,
            "since"
        );
        assert_eq!(parse(pair("colour", "x"), now).unwrap_err().field, "colour");
    }
}
