//! `ApiError`: every failure kubesim answers with, rendered as the API server's `kind: Status`
//! (reason, code, message and `details.causes`), with the same messages a real server sends.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::resources::ResourceDef;

/// One field-level problem, as a `details.causes` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// `FieldValueInvalid`, `FieldValueRequired`, …
    pub reason: &'static str,
    /// `spec.selector`
    pub field: String,
    /// `Required value`, `Invalid value: "x": …`
    pub message: String,
}

impl FieldError {
    /// `field: Invalid value: <value>: <detail>`; `value` is already rendered (`"x"`, `3`).
    pub fn invalid(field: impl Into<String>, value: impl std::fmt::Display, detail: &str) -> Self {
        Self {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: {value}: {detail}"),
        }
    }

    /// `field: Required value`, with an optional detail.
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Self {
            reason: "FieldValueRequired",
            field: field.into(),
            message,
        }
    }

    /// `field: Forbidden: <detail>`
    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Self {
            reason: "FieldValueForbidden",
            field: field.into(),
            message: format!("Forbidden: {detail}"),
        }
    }

    /// `field: Unsupported value: "x": supported values: …`
    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let quoted: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        Self {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message: format!(
                "Unsupported value: \"{value}\": supported values: {}",
                quoted.join(", ")
            ),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: StatusCode,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds for `Retry-After` (429/503 faults).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    fn named(def: &ResourceDef, name: &str) -> Value {
        json!({"name": name, "group": def.group, "kind": def.plural})
    }

    /// `deployments.apps "x" not found`
    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{} \"{name}\" not found", def.group_resource()),
        )
        .with_details(Self::named(def, name))
    }

    /// `namespaces "x" not found`
    pub fn namespace_not_found(namespace: &str) -> Self {
        Self::not_found(crate::resources::Kind::Namespace.def(), namespace)
    }

    /// `deployments.apps "x" already exists`
    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", def.group_resource()),
        )
        .with_details(Self::named(def, name))
    }

    /// `pods "x" is forbidden: …` (`403`), as admission refuses a request.
    pub fn forbidden(def: &ResourceDef, name: &str, why: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("{} \"{name}\" is forbidden: {why}", def.group_resource()),
        )
        .with_details(Self::named(def, name))
    }

    /// The optimistic-concurrency conflict of an update with a stale `resourceVersion`.
    pub fn stale(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                def.group_resource()
            ),
        )
        .with_details(Self::named(def, name))
    }

    /// `Deployment.apps "x" is invalid: …` (`422`).
    pub fn invalid(def: &ResourceDef, name: &str, errors: Vec<FieldError>) -> Self {
        let summary = match errors.as_slice() {
            [one] => one.to_string(),
            many => format!(
                "[{}]",
                many.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let causes: Vec<Value> = errors
            .iter()
            .map(|e| json!({"reason": e.reason, "message": e.message, "field": e.field}))
            .collect();
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            format!("{} \"{name}\" is invalid: {summary}", def.group_kind()),
        )
        .with_details(json!({
            "name": name, "group": def.group, "kind": def.kind.name(), "causes": causes,
        }))
    }

    /// A server-side apply conflict between field managers (`409`).
    pub fn apply_conflict(message: String, causes: Vec<(String, String)>) -> Self {
        let causes: Vec<Value> = causes
            .into_iter()
            .map(|(message, field)| {
                json!({"reason": "FieldManagerConflict", "message": message, "field": field})
            })
            .collect();
        Self::new(StatusCode::CONFLICT, "Conflict", message).with_details(json!({"causes": causes}))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub fn path_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json (got {content_type:?})"
            ),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized")
    }

    /// `410 Gone` for a watch from a resourceVersion older than the kept history.
    pub fn expired(rv: u64) -> Self {
        Self::new(
            StatusCode::GONE,
            "Expired",
            format!("too old resource version: {rv}"),
        )
    }

    /// An injected fault with `code`.
    pub fn fault(code: StatusCode) -> Self {
        let (reason, message) = match code.as_u16() {
            429 => (
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later"
                    .to_string(),
            ),
            503 => (
                "ServiceUnavailable",
                "the server is currently unable to handle the request".to_string(),
            ),
            504 => (
                "Timeout",
                "the server was unable to return a response in the time allotted".to_string(),
            ),
            409 => ("Conflict", "simulated conflict (kubesim fault injection)".to_string()),
            _ => (
                "InternalError",
                "an error on the server (\"simulated fault (kubesim)\") has prevented the request from succeeding".to_string(),
            ),
        };
        let mut err = Self::new(code, reason, message);
        if matches!(code.as_u16(), 429 | 503) {
            err.retry_after = Some(1);
        }
        err
    }

    /// The `kind: Status` body.
    pub fn status_body(&self) -> Value {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code.as_u16(),
        });
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        if let Some(secs) = self.retry_after {
            body["details"]["retryAfterSeconds"] = json!(secs);
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.code, axum::Json(self.status_body())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Kind;

    #[test]
    fn invalid_message_matches_the_api_server() {
        let err = ApiError::invalid(
            Kind::Service.def(),
            "a.b",
            vec![FieldError::invalid("metadata.name", "\"a.b\"", "bad")],
        );
        assert_eq!(
            err.message,
            "Service \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": bad"
        );
        assert_eq!(
            err.status_body()["details"]["causes"][0]["field"],
            "metadata.name"
        );
        let two = ApiError::invalid(
            Kind::Deployment.def(),
            "x",
            vec![
                FieldError::required("spec.selector", ""),
                FieldError::required("spec.template", ""),
            ],
        );
        assert_eq!(
            two.message,
            "Deployment.apps \"x\" is invalid: [spec.selector: Required value, spec.template: Required value]"
        );
    }

    #[test]
    fn not_found_names_the_group_resource() {
        assert_eq!(
            ApiError::namespace_not_found("x").message,
            "namespaces \"x\" not found"
        );
        assert_eq!(
            ApiError::not_found(Kind::Deployment.def(), "y").message,
            "deployments.apps \"y\" not found"
        );
    }
}
