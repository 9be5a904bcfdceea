//! Harbor's error body: `{"errors":[{"code":"NOT_FOUND","message":"..."}]}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use harbor_core::Error;

/// An error of the REST API, answered in Harbor's format with Harbor's codes.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", m)
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", m)
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", m)
    }
    pub fn precondition(m: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, "PRECONDITION", m)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(m) => ApiError::not_found(m),
            Error::Conflict(m) => ApiError::conflict(m),
            Error::Precondition(m) => ApiError::precondition(m),
            Error::QuotaExceeded(m) => ApiError::forbidden(m),
            Error::Internal(inner) => {
                tracing::error!(error = %inner, "API request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN",
                    "internal server error",
                )
            }
            other => ApiError::bad_request(other.to_string()),
        }
    }
}

impl From<harbor_auth::AuthError> for ApiError {
    fn from(e: harbor_auth::AuthError) -> Self {
        match e {
            harbor_auth::AuthError::Policy(m) => ApiError::bad_request(m),
            other => ApiError::from(Error::internal(other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "errors": [{ "code": self.code, "message": self.message }]
        });
        (self.status, Json(body)).into_response()
    }
}

/// Result of an API handler.
pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;
