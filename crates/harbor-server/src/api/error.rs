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
    /// Seconds for a `Retry-After` header (429 and 503 answers).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
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
            e @ (Error::Throttled { .. } | Error::Busy(_)) => {
                let status = crate::oci::error::status(&e);
                let code = if status == StatusCode::TOO_MANY_REQUESTS {
                    "TOO_MANY_REQUESTS"
                } else {
                    "SERVICE_UNAVAILABLE"
                };
                let mut err = ApiError::new(status, code, e.to_string());
                err.retry_after = crate::oci::error::retry_after(&e);
                err
            }
            e @ Error::StorageFull(_) => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "STORAGE_FULL",
                e.to_string(),
            ),
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
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

/// Result of an API handler.
pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;
