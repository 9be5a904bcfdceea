//! `/api/v2.0/ping`, `/health`, `/systeminfo`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::context::Ctx;
use crate::AppState;
use crate::auth::external_base;

pub(crate) async fn ping() -> &'static str {
    "Pong"
}

/// Component health, without authentication (for load balancers). The database is
/// probed with a cheap query.
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let db = state.platform.users.count().await;
    let (status, db_status) = match &db {
        Ok(_) => (StatusCode::OK, "healthy"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
        }
    };
    let overall = if db.is_ok() { "healthy" } else { "unhealthy" };
    (
        status,
        Json(json!({
            "status": overall,
            "components": [
                { "name": "core", "status": "healthy" },
                { "name": "database", "status": db_status },
                { "name": "registry", "status": "healthy" },
            ],
        })),
    )
        .into_response()
}

/// General facts for everyone; the registry URL only for signed-in callers, as Harbor.
pub(crate) async fn systeminfo(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
) -> Response {
    let settings = state.settings.get().await;
    let mut v = json!({
        "auth_mode": "db_auth",
        "primary_auth_mode": false,
        "self_registration": settings.self_registration,
        "harbor_version": concat!("harbor-rs v", env!("CARGO_PKG_VERSION")),
        "banner_message": settings.banner_message,
        "oidc_provider_name": "",
        "current_time": super::paging::time(harbor_core::model::now_ms()),
    });
    if ctx.principal.is_authenticated() {
        let base = external_base(&state, &headers);
        let host = base
            .split_once("://")
            .map_or(base.as_str(), |(_, h)| h)
            .to_owned();
        v["registry_url"] = json!(host);
        v["external_url"] = json!(base);
        v["project_creation_restriction"] = json!(settings.project_creation_restriction());
        v["has_ca_root"] = json!(false);
        v["read_only"] = json!(settings.read_only);
        v["registry_storage_provider_name"] = json!(state.registry.blob_store().provider());
        v["with_chartmuseum"] = json!(false);
        v["notification_enable"] = json!(false);
        v["robot_name_prefix"] = json!(state.accounts.robot_prefix());
        v["robot_token_duration"] = json!(settings.robot_days());
    }
    Json(v).into_response()
}
