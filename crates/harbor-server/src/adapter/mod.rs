//! Harbor's pluggable scanner adapter API under `/api/v1`, served by the built-in scanner:
//! `GET /metadata`, `POST /scan`, `GET /scan/{id}/report` (goharbor/pluggable-scanner-spec
//! v1.2). Callers are system administrators or clients holding the configured adapter key.

mod report;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use harbor_api_model::scanner_adapter::{
    self as spec, ErrorMessage, ErrorResponse, ScanRequest, ScanResponse,
};
use harbor_auth::secret::constant_time_eq;
use harbor_platform::scanner::{RequestStatus, ScanTarget};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{AuthFailure, authenticate};

/// Seconds a client waits before asking for a report again.
const REFRESH_AFTER_SECS: &str = "2";
/// The report type for the raw findings (not summarised by Harbor).
const RAW_REPORT: &str = "application/vnd.scanner.adapter.vuln.report.raw";
/// Largest scan request accepted.
const MAX_REQUEST: usize = 64 * 1024;

/// The `/api/v1` routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/scan", post(scan))
        .route("/api/v1/scan/{id}/report", get(report))
}

/// An error in the adapter API's shape.
pub(crate) struct AdapterError(StatusCode, String);

impl IntoResponse for AdapterError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorResponse {
            error: ErrorMessage { message: self.1 },
        })
        .unwrap_or_default();
        let mut resp = (self.0, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(spec::ERROR_MIME),
        );
        if self.0 == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"harbor\""),
            );
        }
        resp
    }
}

impl From<harbor_core::Error> for AdapterError {
    fn from(e: harbor_core::Error) -> Self {
        use harbor_core::Error as E;
        let status = match &e {
            E::Invalid(_) | E::NameInvalid(_) | E::DigestInvalid(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            E::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            E::Forbidden(_) => StatusCode::FORBIDDEN,
            E::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "scanner adapter request failed");
            return AdapterError(status, "internal error".into());
        }
        AdapterError(status, e.to_string())
    }
}

/// A caller allowed to use the adapter: an administrator or a holder of the adapter key.
pub(crate) struct AdapterCaller;

impl FromRequestParts<AppState> for AdapterCaller {
    type Rejection = AdapterError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdapterError> {
        let keys = [&state.scanner_adapter_key, &state.builtin_adapter_key];
        if keys.iter().any(|k| k.is_some()) {
            let sent = parts
                .headers
                .get("x-scanneradapter-api-key")
                .map(HeaderValue::as_bytes)
                .or_else(|| {
                    let auth = parts.headers.get(header::AUTHORIZATION)?.as_bytes();
                    auth.strip_prefix(b"Bearer ")
                });
            if let Some(sent) = sent {
                // Both compared, in constant time each, whichever matches.
                let matched = keys
                    .iter()
                    .filter_map(|k| k.as_deref())
                    .fold(false, |ok, key| constant_time_eq(sent, key.as_bytes()) | ok);
                return if matched {
                    Ok(AdapterCaller)
                } else {
                    Err(AdapterError(
                        StatusCode::UNAUTHORIZED,
                        "invalid scanner adapter key".into(),
                    ))
                };
            }
        }
        match authenticate(state, parts, false).await {
            Ok(c) if c.principal.is_sysadmin() => Ok(AdapterCaller),
            Ok(c) if c.principal.is_authenticated() => Err(AdapterError(
                StatusCode::FORBIDDEN,
                "the scanner adapter API is for system administrators and holders of the adapter key".into(),
            )),
            Ok(_) => Err(AdapterError(StatusCode::UNAUTHORIZED, "authentication required".into())),
            Err(AuthFailure::BadCredentials(why)) => Err(AdapterError(StatusCode::UNAUTHORIZED, why.into())),
            Err(AuthFailure::Internal(e)) => Err(e.into()),
        }
    }
}

fn typed(status: StatusCode, mime: &str, body: Vec<u8>) -> Response {
    let mut resp = (status, body).into_response();
    if let Ok(v) = HeaderValue::from_str(mime) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

async fn metadata(
    State(state): State<AppState>,
    _: AdapterCaller,
) -> Result<Response, AdapterError> {
    let info = state.platform.scanner.db.info().await?;
    let body = serde_json::to_vec(&report::metadata(info.as_ref()))
        .map_err(|e| AdapterError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(typed(StatusCode::OK, spec::METADATA_MIME, body))
}

async fn scan(
    State(state): State<AppState>,
    _: AdapterCaller,
    body: Bytes,
) -> Result<Response, AdapterError> {
    if body.len() > MAX_REQUEST {
        return Err(AdapterError(
            StatusCode::PAYLOAD_TOO_LARGE,
            "scan request over 64 KiB".into(),
        ));
    }
    let request: ScanRequest = serde_json::from_slice(&body).map_err(|e| {
        AdapterError(
            StatusCode::BAD_REQUEST,
            format!("invalid scan request: {e}"),
        )
    })?;
    let target = target(request)?;
    let id = state.platform.scanner.adapter.accept(target).await?;
    let body = serde_json::to_vec(&ScanResponse { id }).unwrap_or_default();
    Ok(typed(StatusCode::ACCEPTED, spec::SCAN_RESPONSE_MIME, body))
}

/// The platform's request from the spec's: the credential decoded, capabilities checked.
fn target(request: ScanRequest) -> Result<ScanTarget, AdapterError> {
    let unprocessable = |m: String| AdapterError(StatusCode::UNPROCESSABLE_ENTITY, m);
    for capability in request.enabled_capabilities.iter().flatten() {
        match capability.kind.as_str() {
            "vulnerability" => {}
            "sbom" => {
                for media in capability
                    .parameters
                    .iter()
                    .flat_map(|p| &p.sbom_media_types)
                {
                    if media != harbor_scanner::sbom::SPDX_JSON
                        && media != harbor_scanner::sbom::CYCLONEDX_JSON
                    {
                        return Err(unprocessable(format!(
                            "unsupported SBOM media type {media:?}"
                        )));
                    }
                }
            }
            other => {
                return Err(AdapterError(
                    StatusCode::NOT_IMPLEMENTED,
                    format!("no {other:?} capability: vulnerability and sbom"),
                ));
            }
        }
    }
    let credential = match request.registry.authorization.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(auth) => {
            let mut headers = HeaderMap::new();
            let value = HeaderValue::from_str(auth).map_err(|_| {
                unprocessable("registry.authorization is not a header value".into())
            })?;
            headers.insert(header::AUTHORIZATION, value);
            match crate::auth::credentials(&headers) {
                crate::auth::Credentials::Basic { user, password } => Some((user, password)),
                crate::auth::Credentials::Bearer(_) => {
                    return Err(unprocessable("registry.authorization must be Basic credentials (this adapter does not ask for Bearer tokens)".into()));
                }
                _ => return Err(unprocessable("registry.authorization is malformed".into())),
            }
        }
    };
    if request.registry.url.is_empty() {
        return Err(unprocessable("registry.url is required".into()));
    }
    Ok(ScanTarget {
        registry_url: request.registry.url,
        credential,
        insecure: request.registry.insecure.unwrap_or(false),
        repository: request.artifact.repository,
        digest: request.artifact.digest,
        tag: request.artifact.tag,
        mime_type: request.artifact.mime_type,
    })
}

#[derive(Deserialize)]
struct ReportQuery {
    sbom_media_type: Option<String>,
}

async fn report(
    State(state): State<AppState>,
    _: AdapterCaller,
    Path(id): Path<String>,
    Query(query): Query<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, AdapterError> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    let kind = report::Kind::of(accept, query.sbom_media_type.as_deref())?;
    let Some(request) = state.platform.scanner.adapter.request(&id).await? else {
        return Err(AdapterError(
            StatusCode::NOT_FOUND,
            format!("no scan request {id:?}"),
        ));
    };
    match request.status {
        RequestStatus::Pending => {
            let mut resp = StatusCode::FOUND.into_response();
            resp.headers_mut().insert(
                "refresh-after",
                HeaderValue::from_static(REFRESH_AFTER_SECS),
            );
            Ok(resp)
        }
        RequestStatus::Failed(message) => {
            Err(AdapterError(StatusCode::INTERNAL_SERVER_ERROR, message))
        }
        RequestStatus::Done(outcome) => {
            let (mime, body) = report::render(kind, &request.target, &outcome);
            Ok(typed(StatusCode::OK, &mime, body))
        }
    }
}
