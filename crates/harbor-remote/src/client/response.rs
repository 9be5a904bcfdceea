//! Reading responses: bounded bodies, and error statuses turned into [`Error`]s using the
//! registry's error body.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::{Response, StatusCode};
use serde::Deserialize;

use crate::auth::Credential;
use crate::error::{Error, Result, from_reqwest};

/// The `Content-Length` header (reqwest's `content_length()` is the body's size hint,
/// which is 0 for HEAD responses).
pub(crate) fn content_length(resp: &Response) -> Option<u64> {
    resp.headers()
        .get(reqwest::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads a whole body of at most `limit` bytes; a larger one is refused as soon as its
/// `Content-Length` or its bytes say so (memory stays bounded).
pub(crate) async fn read_limited(resp: Response, limit: u64, what: &str) -> Result<Bytes> {
    if content_length(&resp).is_some_and(|n| n > limit) {
        return Err(too_large(what, limit));
    }
    let mut buf = BytesMut::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| from_reqwest(e, what))?;
        if buf.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_large(what, limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn too_large(what: &str, limit: u64) -> Error {
    if what.contains("manifest") || what.contains("referrers") {
        Error::ManifestTooLarge { limit }
    } else {
        Error::protocol(format!("{what}: response larger than {limit} bytes"))
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
}

/// The error an unsuccessful response stands for: 401 unauthorized, 403 denied (or quota
/// exceeded when the message says "quota", as Harbor's does), 412 with "quota", 404 not
/// found, 429 rate limited, anything else with its status and OCI code.
pub(crate) async fn error_from(
    resp: Response,
    what: &str,
    host: &str,
    credential: Option<&Credential>,
) -> Error {
    let status = resp.status();
    let body = read_limited(resp, 64 * 1024, "error body")
        .await
        .unwrap_or_default();
    let parsed = serde_json::from_slice::<ErrorBody>(&body).ok();
    let first = parsed.as_ref().and_then(|b| b.errors.first());
    let code = first.and_then(|e| e.code.clone());
    let message = first
        .and_then(|e| e.message.clone())
        .filter(|m| !m.is_empty())
        .or_else(|| {
            let text = String::from_utf8_lossy(&body).trim().to_owned();
            (!text.is_empty() && text.len() < 512).then_some(text)
        })
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let detail = format!("{what}: {message}");
    let quota = message.to_ascii_lowercase().contains("quota");
    match status {
        StatusCode::UNAUTHORIZED => Error::Unauthorized(match credential {
            Some(c) => format!(
                "{host} refused the credentials of {:?} ({detail})",
                c.username
            ),
            None => format!("{host} requires credentials ({detail})"),
        }),
        StatusCode::FORBIDDEN if quota => Error::QuotaExceeded(detail),
        StatusCode::PRECONDITION_FAILED if quota => Error::QuotaExceeded(detail),
        StatusCode::FORBIDDEN => Error::Denied(detail),
        StatusCode::NOT_FOUND => Error::NotFound(detail),
        StatusCode::TOO_MANY_REQUESTS => Error::TooManyRequests(detail),
        _ => Error::Registry {
            status: status.as_u16(),
            code,
            message: detail,
        },
    }
}
