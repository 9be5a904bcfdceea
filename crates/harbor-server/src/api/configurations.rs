//! `/api/v2.0/configurations`: the system settings, as Harbor's `{name: {value,
//! editable}}`. The rules are `harbor_platform::configuration`'s.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use harbor_api_model as m;
use harbor_platform::configuration::Environment;
use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ApiResult;
use crate::AppState;

/// What this server was started with.
fn environment(state: &AppState) -> Environment {
    Environment {
        robot_prefix: state.accounts.robot_prefix().to_owned(),
        token_ttl: state.tokens.ttl(),
        session_ttl: state.auth.session_ttl,
        default_storage_limit: state.default_storage_limit,
        allow_auth_mode_change: state.auth.allow_auth_mode_change,
    }
}

/// The settings (administrators only).
pub(crate) async fn get(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    let items = state
        .platform
        .settings
        .configurations(&ctx.principal, &environment(&state))
        .await?;
    let out: m::ConfigurationsResponse = items
        .into_iter()
        .map(|(k, i)| {
            let item = m::ConfigItem {
                value: i.value,
                editable: i.editable,
            };
            (k, item)
        })
        .collect();
    Ok(Json(out).into_response())
}

/// Changes settings (administrators only), all or nothing.
pub(crate) async fn put(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult {
    state
        .platform
        .settings
        .configure(&ctx.principal, &environment(&state), &body)
        .await?;
    Ok(StatusCode::OK.into_response())
}
