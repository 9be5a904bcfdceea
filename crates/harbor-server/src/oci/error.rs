//! Turning core errors into OCI error responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use harbor_core::{Error, OciCode};
use serde::Serialize;

use super::headers::upload_range;

#[derive(Serialize)]
struct Body<'a> {
    errors: [Entry<'a>; 1],
}

#[derive(Serialize)]
struct Entry<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<serde_json::Value>,
}

/// An error answered in the OCI error format.
pub(crate) struct OciError(pub Error);

impl From<Error> for OciError {
    fn from(e: Error) -> Self {
        OciError(e)
    }
}

/// The HTTP status for an error.
pub(crate) fn status(e: &Error) -> StatusCode {
    match e {
        Error::BlobUnknown(_)
        | Error::BlobUploadUnknown
        | Error::BlobChanged(_)
        | Error::ManifestUnknown(_)
        | Error::NameUnknown(_)
        | Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Precondition(_) | Error::PolicyViolation(_) => StatusCode::PRECONDITION_FAILED,
        Error::QuotaExceeded(_) | Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        Error::UploadBusy => StatusCode::CONFLICT,
        Error::ChunkOutOfOrder { .. } | Error::RangeNotSatisfiable { .. } => {
            StatusCode::RANGE_NOT_SATISFIABLE
        }
        Error::ManifestTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
        Error::BlobUploadInvalid(_)
        | Error::DigestInvalid(_)
        | Error::DigestMismatch { .. }
        | Error::ManifestBlobUnknown(_)
        | Error::ManifestInvalid(_)
        | Error::NameInvalid(_)
        | Error::TagInvalid(_)
        | Error::SizeInvalid(_)
        | Error::PaginationInvalid(_)
        | Error::Unsupported(_)
        | Error::Invalid(_) => StatusCode::BAD_REQUEST,
    }
}

/// An OCI error body with an explicit code, status and message.
pub(crate) fn body(
    status: StatusCode,
    code: OciCode,
    message: &str,
    detail: Option<serde_json::Value>,
) -> Response {
    let json = serde_json::to_vec(&Body {
        errors: [Entry {
            code: code.as_str(),
            message,
            detail,
        }],
    })
    .unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}

fn detail(e: &Error) -> Option<serde_json::Value> {
    match e {
        Error::BlobUnknown(d) | Error::ManifestBlobUnknown(d) => {
            Some(serde_json::json!({ "digest": d }))
        }
        Error::DigestMismatch { expected, actual } => {
            Some(serde_json::json!({ "expected": expected, "actual": actual }))
        }
        Error::ChunkOutOfOrder { offset } => Some(serde_json::json!({ "offset": offset })),
        Error::RangeNotSatisfiable { size } => Some(serde_json::json!({ "size": size })),
        _ => None,
    }
}

/// Seconds a client should wait before retrying, for errors that say so.
pub(crate) fn retry_after(e: &Error) -> Option<u64> {
    match e {
        Error::Throttled { retry_after_secs } => Some((*retry_after_secs).max(1)),
        Error::Busy(_) => Some(1),
        _ => None,
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = status(&e);
        if let Error::Internal(source) = &e {
            tracing::error!(error = %source, "internal error");
        } else {
            tracing::debug!(code = e.code().as_str(), error = %e, "request failed");
        }
        let mut resp = body(status, e.code(), &e.public_message(), detail(&e));
        let h = resp.headers_mut();
        match &e {
            Error::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    h.insert(header::CONTENT_RANGE, v);
                }
            }
            Error::ChunkOutOfOrder { offset } => {
                h.insert(header::RANGE, upload_range(*offset));
            }
            _ => {}
        }
        if let Some(secs) = retry_after(&e) {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
