//! The read-only switch driven by the run-time settings (`harbor_platform::settings`,
//! changed through `/api/v2.0/configurations`).

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;

pub use harbor_platform::settings::{DEFAULT_ROBOT_DAYS, Settings, SystemSettings};

/// Harbor's message for writes refused in read-only mode.
pub const READ_ONLY_MESSAGE: &str =
    "The system is in read only mode. Any modification is prohibited.";

/// Paths that stay writable in read-only mode: the switch itself and signing in and out.
fn exempt(path: &str) -> bool {
    matches!(
        path,
        "/api/v2.0/configurations" | "/c/login" | "/c/log_out" | "/service/token"
    )
}

/// Refuses writes (`POST`, `PUT`, `PATCH`, `DELETE`) with Harbor's `403 DENIED` while the
/// system is read-only.
pub(crate) async fn read_only_guard(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let write = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if write && !exempt(req.uri().path()) && state.settings.get().await.read_only {
        let body = json!({"errors": [{"code": "DENIED", "message": READ_ONLY_MESSAGE}]});
        let mut resp = (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
        if req.uri().path().starts_with("/v2") {
            resp.headers_mut().insert(
                HeaderName::from_static("docker-distribution-api-version"),
                HeaderValue::from_static("registry/2.0"),
            );
        }
        return resp;
    }
    next.run(req).await
}
