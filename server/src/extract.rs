//! Request extractors that report bad input in the API's error shape: JSON bodies (malformed,
//! wrongly typed, too large, wrong content type) and byte-exact query strings (invalid UTF-8 is
//! an error, not a replacement character).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use percent_encoding::percent_decode;
use serde::de::{DeserializeOwned, IgnoredAny};
use shiplog_model::FieldError;

use crate::error::AppError;
use crate::transport::BodyTimedOut;

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON body whose rejections become [`AppError`]s: `415` without a JSON content type, `413`
/// over [`BODY_LIMIT`], `408` when it does not arrive within the body timeout
/// ([`crate::transport`]), `400` when the text is not JSON, and `422` naming the field when the
/// JSON does not fit the expected shape.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !has_json_content_type(req.headers()) {
            return Err(AppError::UnsupportedMediaType(
                "send the body with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge { limit: BODY_LIMIT }
            } else if let Some(timeout) = cause::<BodyTimedOut>(&rejection) {
                AppError::Timeout(timeout.to_string())
            } else {
                AppError::BadRequest(rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The first error of type `E` in the chain of `error`'s sources.
fn cause<'a, E: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses `bytes` as a `T`, telling malformed JSON (`400`) from well-formed JSON of the wrong
/// shape (`422`, with the path of the field).
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let error = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => match deserializer.end() {
            Ok(()) => return Ok(value),
            Err(e) => {
                return Err(AppError::MalformedJson(format!(
                    "the body is not valid JSON: {e}"
                )));
            }
        },
        Err(error) => error,
    };
    // serde_json reports some shape errors (a number where an enum is expected) as syntax
    // errors; whether the text parses as JSON at all decides which one it really is.
    let well_formed = serde_json::from_slice::<IgnoredAny>(bytes).is_ok();
    if !well_formed {
        return Err(AppError::MalformedJson(format!(
            "the body is not valid JSON: {}",
            error.inner()
        )));
    }
    let message = error.inner().to_string();
    let path = error.path().to_string();
    // "missing field `app`" and "unknown field `colour`" are about that field, though serde
    // reports them at the parent's path.
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let field = match (path.as_str(), named) {
        (".", Some(name)) => name.to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (".", None) => String::from("(body)"),
        (path, None) => path.to_owned(),
    };
    Err(AppError::InvalidField(FieldError::new(field, message)))
}

/// Query-string pairs, percent-decoded byte-exactly; invalid UTF-8 is a `400`.
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    /// The pairs, once every value `limits` names is within its maximum length in bytes; a
    /// longer one is a `400` naming the parameter.
    pub fn within(self, limits: &[(&str, usize)]) -> Result<Vec<(String, String)>, AppError> {
        shiplog_model::query::check_lengths(&self.0, limits).map_err(AppError::ParameterTooLong)?;
        Ok(self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(QueryPairs)
    }
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>, AppError> {
    let decode = |raw: &str| -> Result<String, AppError> {
        let spaced = raw.replace('+', " ");
        percent_decode(spaced.as_bytes())
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| AppError::BadRequest("the query string is not valid UTF-8".into()))
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(key)?, decode(value)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_decode_exactly() {
        let pairs = parse_query("q=a+b%26c&app=%F0%9F%9A%80&&flag").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("q".into(), "a b&c".into()),
                ("app".into(), "🚀".into()),
                ("flag".into(), String::new())
            ]
        );
        assert!(matches!(
            parse_query("q=%FF%FE"),
            Err(AppError::BadRequest(_))
        ));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Inner {
        A,
    }

    #[test]
    fn json_errors_are_told_apart() {
        assert!(matches!(
            parse_json::<Shape>(b"{\"inner\":"),
            Err(AppError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Shape>(b"{} x"),
            Err(AppError::MalformedJson(_))
        ));
        match parse_json::<Shape>(b"{\"inner\": 5}") {
            Err(AppError::InvalidField(e)) => assert_eq!(e.field, "inner"),
            other => panic!("expected a field error, got {other:?}"),
        }
        match parse_json::<Shape>(b"{}") {
            Err(AppError::InvalidField(e)) => assert_eq!(e.field, "inner"),
            other => panic!("expected a field error, got {other:?}"),
        }
        match parse_json::<Shape>(b"[]") {
            Err(AppError::InvalidField(e)) => assert_eq!(e.field, "(body)"),
            other => panic!("expected a field error, got {other:?}"),
        }
    }
}
