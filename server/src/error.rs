//! The one error type of the HTTP layer. Every failure — bad input, missing token, unknown id,
//! database trouble — becomes `{"error": {"code", "message"}}` with the right status. Internal
//! errors are logged and answered with a generic message, never their details.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shiplog_model::{ApiError, ConflictBody, Deploy, ErrorBody, FieldError, TransitionError};

use crate::store::StoreError;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    InvalidField(#[from] FieldError),
    /// A query parameter longer than its documented maximum (`400`, naming it).
    #[error(transparent)]
    ParameterTooLong(FieldError),
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request body did not arrive in time (`408`).
    #[error("{0}")]
    Timeout(String),
    #[error("an `Authorization: Bearer <token>` header is required")]
    Unauthorized,
    #[error("the token is not allowed to do this")]
    Forbidden,
    /// A credential was presented but is not valid (401).
    #[error("{0}")]
    InvalidCredentials(String),
    /// A valid credential used beyond its scope (403).
    #[error("{0}")]
    OutOfScope(String),
    /// Something the server depends on (the OIDC issuer) cannot be reached (503).
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A status change no writer may make: `409` with the deploy as stored ([`ConflictBody`]).
    #[error("{0}")]
    Transition(TransitionError, Box<Deploy>),
    /// An update to a finished deploy: `409` with the deploy as stored ([`ConflictBody`]).
    #[error("the deploy has already finished ({}): its record no longer changes", .0.status)]
    Finished(Box<Deploy>),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::InvalidField(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            AppError::ParameterTooLong(_) => (StatusCode::BAD_REQUEST, "parameter_too_long"),
            AppError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden | AppError::OutOfScope(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::InvalidCredentials(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::Transition(..) => (StatusCode::CONFLICT, "conflict"),
            AppError::Finished(_) => (StatusCode::CONFLICT, "finished"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound("no deploy has this id".into()),
            StoreError::Invalid(e) => AppError::InvalidField(e),
            StoreError::Transition(e, deploy) => AppError::Transition(e, deploy),
            StoreError::Finished(deploy) => AppError::Finished(deploy),
            other => AppError::Internal(other.into()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let AppError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        let field = match &self {
            AppError::InvalidField(e) | AppError::ParameterTooLong(e) => Some(e.field.clone()),
            _ => None,
        };
        let error = ApiError {
            code: code.to_owned(),
            message: self.to_string(),
            field,
        };
        let mut response = match self {
            AppError::Finished(deploy) | AppError::Transition(_, deploy) => (
                status,
                Json(ConflictBody {
                    error,
                    deploy: *deploy,
                }),
            )
                .into_response(),
            _ => (status, Json(ErrorBody { error })).into_response(),
        };
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"shiplog\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_details() {
        let err = AppError::Internal(anyhow::anyhow!("password=hunter2"));
        assert_eq!(err.to_string(), "internal error");
        assert_eq!(err.status_and_code().0, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
