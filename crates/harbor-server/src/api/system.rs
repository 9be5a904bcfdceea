//! `/api/v2.0/ping`, `/health`, `/systeminfo`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use harbor_api_model as m;

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
        Json(m::OverallHealthStatus {
            status: overall.into(),
            components: [
                ("core", "healthy"),
                ("database", db_status),
                ("registry", "healthy"),
            ]
            .into_iter()
            .map(|(name, status)| m::ComponentHealthStatus {
                name: name.into(),
                status: status.into(),
                error: None,
            })
            .collect(),
        }),
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
    let auth = &settings.auth;
    let oidc = auth.mode == harbor_platform::sign_in::AuthMode::Oidc;
    let mut info = m::GeneralInfo {
        auth_mode: auth.mode.as_str().into(),
        primary_auth_mode: auth.primary,
        self_registration: settings.self_registration,
        harbor_version: concat!("harbor-rs v", env!("CARGO_PKG_VERSION")).into(),
        banner_message: settings.banner_message.clone(),
        oidc_provider_name: if oidc {
            auth.oidc.name.clone()
        } else {
            String::new()
        },
        current_time: super::paging::time(harbor_core::model::now_ms()),
        ..m::GeneralInfo::default()
    };
    if ctx.principal.is_authenticated() {
        let base = external_base(&state, &headers);
        let host = base
            .split_once("://")
            .map_or(base.as_str(), |(_, h)| h)
            .to_owned();
        info.registry_url = Some(host);
        info.external_url = Some(base);
        info.project_creation_restriction = Some(settings.project_creation_restriction().into());
        info.has_ca_root = Some(false);
        info.read_only = Some(settings.read_only);
        info.registry_storage_provider_name =
            Some(state.registry.blob_store().provider().to_owned());
        info.with_chartmuseum = Some(false);
        info.notification_enable = Some(true);
        info.robot_name_prefix = Some(state.accounts.robot_prefix().to_owned());
        info.robot_token_duration = Some(settings.robot_days());
    }
    Json(info).into_response()
}
