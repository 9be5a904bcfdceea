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
    pub fn precondition(m: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, "PRECONDITION", m)
    }
    /// A parameter of the wrong type or out of its range (Harbor's swagger validation).
    pub fn unprocessable(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY", m)
    }
}

/// Harbor's code for an HTTP status of the REST API.
fn harbor_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::CONFLICT => "CONFLICT",
        StatusCode::PRECONDITION_FAILED => "PRECONDITION",
        StatusCode::UNPROCESSABLE_ENTITY => "UNPROCESSABLE_ENTITY",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::RANGE_NOT_SATISFIABLE => "RANGE_NOT_SATISFIABLE",
        StatusCode::TOO_MANY_REQUESTS => "TOO_MANY_REQUESTS",
        StatusCode::SERVICE_UNAVAILABLE => "SERVICE_UNAVAILABLE",
        StatusCode::INSUFFICIENT_STORAGE => "STORAGE_FULL",
        StatusCode::INTERNAL_SERVER_ERROR => "UNKNOWN",
        _ => "BAD_REQUEST",
    }
}

impl From<Error> for ApiError {
    /// The one mapping of core errors: the status is the registry's
    /// ([`crate::oci::error::status`]), the code Harbor's for that status, so an unknown
    /// manifest is a 404 in both APIs.
    fn from(e: Error) -> Self {
        if let Error::Internal(inner) = &e {
            tracing::error!(error = %inner, "API request failed");
        }
        let status = crate::oci::error::status(&e);
        let code = match e {
            Error::PolicyViolation(_) => "PROJECTPOLICYVIOLATION",
            _ => harbor_code(status),
        };
        let mut err = ApiError::new(status, code, e.public_message());
        err.retry_after = crate::oci::error::retry_after(&e);
        err
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
        let body = harbor_api_model::Errors {
            errors: vec![harbor_api_model::ErrorItem {
                code: self.code.to_string(),
                message: self.message,
            }],
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use harbor_core::Digest;

    #[test]
    fn one_mapping_for_both_apis() {
        let d = Digest::sha256(b"x");
        let cases = [
            (Error::ManifestUnknown("v1".into()), 404, "NOT_FOUND"),
            (Error::NameUnknown("a/b".into()), 404, "NOT_FOUND"),
            (Error::BlobUnknown(d), 404, "NOT_FOUND"),
            (Error::NotFound("x".into()), 404, "NOT_FOUND"),
            (Error::Conflict("x".into()), 409, "CONFLICT"),
            (Error::UploadBusy, 409, "CONFLICT"),
            (Error::Precondition("x".into()), 412, "PRECONDITION"),
            (
                Error::PolicyViolation("x".into()),
                412,
                "PROJECTPOLICYVIOLATION",
            ),
            (Error::QuotaExceeded("x".into()), 403, "FORBIDDEN"),
            (
                Error::ManifestTooLarge { limit: 4 },
                413,
                "PAYLOAD_TOO_LARGE",
            ),
            (
                Error::Throttled {
                    retry_after_secs: 7,
                },
                429,
                "TOO_MANY_REQUESTS",
            ),
            (Error::Busy("x".into()), 503, "SERVICE_UNAVAILABLE"),
            (Error::StorageFull("x".into()), 507, "STORAGE_FULL"),
            (Error::Invalid("x".into()), 400, "BAD_REQUEST"),
            (Error::TagInvalid("x".into()), 400, "BAD_REQUEST"),
            (Error::internal("secret detail"), 500, "UNKNOWN"),
        ];
        for (e, status, code) in cases {
            let oci = crate::oci::error::status(&e);
            let api = ApiError::from(e);
            assert_eq!(api.status.as_u16(), status, "{api:?}");
            assert_eq!(api.status, oci, "the registry API agrees");
            assert_eq!(api.code, code);
            assert!(!api.message.contains("secret detail"));
        }
        let throttled = ApiError::from(Error::Throttled {
            retry_after_secs: 7,
        });
        assert_eq!(throttled.retry_after, Some(7));
    }
}
