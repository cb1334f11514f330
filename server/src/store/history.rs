//! The history query: filters, free text and keyset pagination over `(started_at, id)`.

use futures_util::TryStreamExt as _;
use serde_json::value::RawValue;
use shiplog_model::limits::MAX_PAGE_BYTES;
use shiplog_model::{Cursor, Deploy, DeployId, HistoryQuery, Page};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, decode};

/// The lower-cased text the `q` filter searches (see [`Deploy::search_fields`]).
pub fn search_text(deploy: &Deploy) -> String {
    // PostgreSQL text cannot hold NUL; the full text stays intact in the JSON record.
    deploy
        .search_fields()
        .join("\n")
        .replace('\0', "")
        .to_lowercase()
}

/// A row's `record` as JSON with the row's id in it. Records are written by serde from
/// [`Deploy`], whose first field is `id`, so the id is spliced in place; anything else is
/// decoded and encoded again.
fn raw_record(row: &AnyRow) -> Result<Box<RawValue>, StoreError> {
    let id: i64 = row.try_get("id")?;
    let record: String = row.try_get("record")?;
    let spliced = record
        .strip_prefix("{\"id\":")
        .and_then(|rest| rest.split_once(','))
        .filter(|(old_id, _)| old_id.bytes().all(|b| b.is_ascii_digit()))
        .map(|(_, rest)| format!("{{\"id\":{id},{rest}"));
    let text = match spliced {
        Some(text) => text,
        None => serde_json::to_string(&decode(row, "id", "record")?)?,
    };
    Ok(RawValue::from_string(text)?)
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a `LIKE … ESCAPE '\'`.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A value bound to a numbered placeholder.
enum Bind {
    Text(String),
    Int(i64),
}

/// A `WHERE` clause assembled from optional filters, every value a bound parameter.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    /// Adds `template`, in which each `?` stands for the next of `values`.
    fn push(&mut self, template: &str, values: impl IntoIterator<Item = Bind>) {
        let mut sql = String::new();
        let mut values = values.into_iter();
        for piece in template.split_inclusive('?') {
            match piece.strip_suffix('?') {
                Some(head) => {
                    self.binds
                        .push(values.next().expect("one value per placeholder"));
                    sql.push_str(head);
                    sql.push_str(&format!("${}", self.binds.len()));
                }
                None => sql.push_str(piece),
            }
        }
        self.sql.push(sql);
    }

    fn where_clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }
}

impl Store {
    /// One page of the history, newest first: at most `limit` records and [`MAX_PAGE_BYTES`] of
    /// them (always at least one). Items are the stored JSON records passed through as they
    /// are (with their id set), which spares decoding and re-encoding every row.
    pub async fn history(&self, query: &HistoryQuery) -> Result<Page<Box<RawValue>>, StoreError> {
        let mut conditions = Conditions::default();
        let text_filters = [
            ("namespace = ?", &query.namespace),
            ("app = ?", &query.app),
            ("environment = ?", &query.environment),
            ("repo = ?", &query.repo),
            ("actor = ?", &query.actor),
        ];
        for (template, value) in text_filters {
            if let Some(value) = value {
                conditions.push(template, [Bind::Text(value.clone())]);
            }
        }
        if let Some(status) = query.status {
            conditions.push("status = ?", [Bind::Text(status.as_str().to_owned())]);
        }
        if let Some(since) = query.since {
            conditions.push("started_at >= ?", [Bind::Int(since.timestamp_millis())]);
        }
        if let Some(until) = query.until {
            conditions.push("started_at < ?", [Bind::Int(until.timestamp_millis())]);
        }
        if let Some(q) = &query.q {
            conditions.push("search LIKE ? ESCAPE '\\'", [Bind::Text(like_pattern(q))]);
        }
        if let Some(cursor) = query.cursor {
            // Written so both planners use the index range on started_at.
            conditions.push(
                "started_at <= ? AND (started_at < ? OR id < ?)",
                [
                    Bind::Int(cursor.started_at_ms),
                    Bind::Int(cursor.started_at_ms),
                    Bind::Int(cursor.id.0),
                ],
            );
        }
        let limit = query.limit();
        let sql = format!(
            "SELECT id, started_at, record FROM deploys {} ORDER BY started_at DESC, id DESC LIMIT {}",
            conditions.where_clause(),
            limit + 1
        );
        let mut statement = sqlx::query(&sql);
        for bind in conditions.binds {
            statement = match bind {
                Bind::Text(text) => statement.bind(text),
                Bind::Int(n) => statement.bind(n),
            };
        }
        // Rows are read one by one and no further than the page holds: a page's size is bounded
        // by MAX_PAGE_BYTES, not only by its number of records.
        let mut rows = statement.fetch(&self.reads);
        let (mut items, mut bytes, mut last) = (Vec::new(), 0, None);
        let mut next_cursor = None;
        while let Some(row) = rows.try_next().await? {
            let item = raw_record(&row)?;
            let size = item.get().len() + 1;
            if items.len() == limit as usize || (!items.is_empty() && bytes + size > MAX_PAGE_BYTES)
            {
                next_cursor = last;
                break;
            }
            bytes += size;
            last = Some(Cursor {
                started_at_ms: row.try_get("started_at")?,
                id: DeployId(row.try_get("id")?),
            });
            items.push(item);
        }
        Ok(Page { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_matches_literally() {
        assert_eq!(like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn conditions_number_their_placeholders() {
        let mut c = Conditions::default();
        c.push("a = ?", [Bind::Text("x".into())]);
        c.push(
            "b <= ? AND (b < ? OR id < ?)",
            [Bind::Int(1), Bind::Int(1), Bind::Int(2)],
        );
        assert_eq!(
            c.where_clause(),
            "WHERE a = $1 AND b <= $2 AND (b < $3 OR id < $4)"
        );
    }
}
