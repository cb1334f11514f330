//! The history query (`GET /api/v1/deploys?…`): filters, a page size and an opaque cursor, and
//! the [`Page`] of results it returns.
//!
//! Results are ordered newest first by (`started_at`, `id`). The cursor names the last row of
//! the previous page, so the next page is a keyset seek rather than an offset scan.
//!
//! Every parameter has a maximum length ([`HistoryQuery::MAX_LENGTHS`]), checked by
//! [`check_lengths`] before anything else looks at the values.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::deploy::{DeployId, DeployStatus};
use crate::error::FieldError;
use crate::ingest::MAX_SHORT_TEXT;

/// Rows per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit` accepted.
pub const MAX_LIMIT: u32 = 500;

/// Filters of the history view. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct HistoryQuery {
    pub namespace: Option<String>,
    pub app: Option<String>,
    pub environment: Option<String>,
    pub status: Option<DeployStatus>,
    pub repo: Option<String>,
    pub actor: Option<String>,
    /// Deploys that started at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Deploys that started before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Free text, matched case-insensitively against app, repo, version, actor, commit SHA and
    /// message, and images.
    pub q: Option<String>,
    /// Rows per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub cursor: Option<Cursor>,
}

impl HistoryQuery {
    /// The longest value of each parameter, in bytes. A text filter matches a record's field
    /// exactly, and fields are at most [`MAX_SHORT_TEXT`] bytes; `q` is held to the same. The
    /// others are far longer than any valid value (a time, a status, a number up to 500, a
    /// cursor).
    pub const MAX_LENGTHS: [(&'static str, usize); 11] = [
        ("namespace", MAX_SHORT_TEXT),
        ("app", MAX_SHORT_TEXT),
        ("environment", MAX_SHORT_TEXT),
        ("repo", MAX_SHORT_TEXT),
        ("actor", MAX_SHORT_TEXT),
        ("q", MAX_SHORT_TEXT),
        ("status", 32),
        ("since", 64),
        ("until", 64),
        ("limit", 16),
        ("cursor", 64),
    ];

    /// Parses decoded query-string pairs, naming the parameter that is wrong. Empty values mean
    /// "no filter", as an HTML form sends them.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Self, FieldError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut query = HistoryQuery::default();
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref());
            if value.is_empty() {
                continue;
            }
            if value.contains('\0') {
                return Err(FieldError::new(key, "must not contain NUL characters"));
            }
            let text = || Some(value.to_owned());
            match key {
                "namespace" => query.namespace = text(),
                "app" => query.app = text(),
                "environment" => query.environment = text(),
                "repo" => query.repo = text(),
                "actor" => query.actor = text(),
                "q" => query.q = text(),
                "status" => {
                    let status = value
                        .parse()
                        .map_err(|e| FieldError::new(key, format!("{e}")))?;
                    query.status = Some(status);
                }
                "since" => query.since = Some(parse_time(key, value)?),
                "until" => query.until = Some(parse_time(key, value)?),
                "limit" => {
                    let limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            FieldError::new(key, format!("must be a number from 1 to {MAX_LIMIT}"))
                        })?;
                    query.limit = Some(limit);
                }
                "cursor" => {
                    query.cursor = Some(
                        Cursor::decode(value).map_err(|e| FieldError::new(key, e.to_string()))?,
                    )
                }
                other => return Err(FieldError::new(other, "is not a known parameter")),
            }
        }
        Ok(query)
    }

    /// The query as key/value pairs, in a stable order, omitting absent filters.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let mut push = |key, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((key, value));
            }
        };
        push("namespace", self.namespace.clone());
        push("app", self.app.clone());
        push("environment", self.environment.clone());
        push("status", self.status.map(|s| s.as_str().to_owned()));
        push("repo", self.repo.clone());
        push("actor", self.actor.clone());
        push("since", self.since.map(|t| t.to_rfc3339()));
        push("until", self.until.map(|t| t.to_rfc3339()));
        push("q", self.q.clone());
        push("limit", self.limit.map(|l| l.to_string()));
        push("cursor", self.cursor.map(|c| c.encode()));
        pairs
    }

    /// The effective page size.
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }
}

/// Checks every value of `pairs` whose key `limits` names against its maximum length in bytes,
/// naming the first parameter that is longer. Keys `limits` does not name are left to the
/// parser, which rejects unknown parameters by name.
pub fn check_lengths<K, V>(pairs: &[(K, V)], limits: &[(&str, usize)]) -> Result<(), FieldError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    for (key, value) in pairs {
        let (key, value) = (key.as_ref(), value.as_ref());
        let Some(&(_, max)) = limits.iter().find(|(name, _)| *name == key) else {
            continue;
        };
        if value.len() > max {
            return Err(FieldError::new(key, format!("must be at most {max} bytes")));
        }
    }
    Ok(())
}

/// Parses the RFC 3339 time of query parameter `key`, naming it when the text is not one.
pub fn parse_time(key: &str, value: &str) -> Result<DateTime<Utc>, FieldError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| FieldError::new(key, "must be an RFC 3339 time such as 2026-01-31T12:00:00Z"))
}

/// The position after which the next page starts: the sort key of the last row returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Cursor {
    /// `started_at` of the last row, in milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    pub id: DeployId,
}

/// A cursor string that was not produced by the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a cursor this server issued")]
pub struct CursorError;

impl Cursor {
    /// The opaque text form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.started_at_ms, self.id))
    }

    /// Parses the text form.
    pub fn decode(text: &str) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| CursorError)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| CursorError)?;
        let (at, id) = text.split_once(':').ok_or(CursorError)?;
        Ok(Cursor {
            started_at_ms: at.parse().map_err(|_| CursorError)?,
            id: DeployId(id.parse().map_err(|_| CursorError)?),
        })
    }
}

impl From<Cursor> for String {
    fn from(cursor: Cursor) -> String {
        cursor.encode()
    }
}

impl TryFrom<String> for Cursor {
    type Error = CursorError;
    fn try_from(text: String) -> Result<Self, CursorError> {
        Cursor::decode(&text)
    }
}

/// One page of results, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next_cursor: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            started_at_ms: 1_767_225_600_000,
            id: DeployId(99),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        assert_eq!(Cursor::decode("not a cursor"), Err(CursorError));
        assert_eq!(
            Cursor::decode(&URL_SAFE_NO_PAD.encode("1:x")),
            Err(CursorError)
        );
    }

    #[test]
    fn pairs_round_trip() {
        let query = HistoryQuery {
            namespace: Some("prod".into()),
            status: Some(DeployStatus::Failed),
            since: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            q: Some("fix & <b>".into()),
            limit: Some(10),
            cursor: Some(Cursor {
                started_at_ms: 5,
                id: DeployId(6),
            }),
            ..Default::default()
        };
        assert_eq!(HistoryQuery::from_pairs(query.to_pairs()), Ok(query));
    }

    #[test]
    fn every_parameter_has_a_maximum_length() {
        let text = Some("x".to_owned());
        let every = HistoryQuery {
            namespace: text.clone(),
            app: text.clone(),
            environment: text.clone(),
            status: Some(DeployStatus::Failed),
            repo: text.clone(),
            actor: text.clone(),
            since: Some(DateTime::<Utc>::MAX_UTC),
            until: Some(DateTime::<Utc>::MIN_UTC),
            q: text,
            limit: Some(MAX_LIMIT),
            cursor: Some(Cursor {
                started_at_ms: i64::MIN,
                id: DeployId(i64::MIN),
            }),
        };
        let pairs = every.to_pairs();
        assert_eq!(pairs.len(), HistoryQuery::MAX_LENGTHS.len());
        // The longest valid values fit.
        assert_eq!(check_lengths(&pairs, &HistoryQuery::MAX_LENGTHS), Ok(()));
        let long = "x".repeat(MAX_SHORT_TEXT + 1);
        let pairs = [("app", "api"), ("q", long.as_str())];
        let error = check_lengths(&pairs, &HistoryQuery::MAX_LENGTHS).unwrap_err();
        assert_eq!(error.field, "q");
        assert!(check_lengths(&[("q", &long[1..])], &HistoryQuery::MAX_LENGTHS).is_ok());
        assert!(check_lengths(&[("colour", long.as_str())], &HistoryQuery::MAX_LENGTHS).is_ok());
    }

    #[test]
    fn bad_parameters_are_named() {
        let err = |pairs: &[(&str, &str)]| {
            HistoryQuery::from_pairs(pairs.iter().copied())
                .unwrap_err()
                .field
        };
        assert_eq!(err(&[("status", "done")]), "status");
        assert_eq!(err(&[("limit", "0")]), "limit");
        assert_eq!(err(&[("limit", "501")]), "limit");
        assert_eq!(err(&[("since", "yesterday")]), "since");
        assert_eq!(err(&[("cursor", "zzz")]), "cursor");
        assert_eq!(err(&[("colour", "blue")]), "colour");
        assert_eq!(
            HistoryQuery::from_pairs([("app", "")]),
            Ok(HistoryQuery::default())
        );
    }
}
