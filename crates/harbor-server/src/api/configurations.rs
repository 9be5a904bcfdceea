//! `/api/v2.0/configurations`: the system settings, as Harbor's `{name: {value, editable}}`.
//! Only `read_only` can be changed at run time here; the rest comes from the server's
//! configuration file and environment.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use crate::AppState;
use crate::audit::record_now;

fn item(value: Value, editable: bool) -> Value {
    json!({ "value": value, "editable": editable })
}

/// The settings (administrators only).
pub(crate) async fn get(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_sysadmin()?;
    let s = state.settings.get().await;
    Ok(Json(json!({
        "auth_mode": item(json!("db_auth"), false),
        "read_only": item(json!(s.read_only), true),
        "robot_name_prefix": item(json!(state.accounts.robot_prefix()), false),
        "token_expiration": item(json!(state.tokens.ttl().as_secs() / 60), false),
        "project_creation_restriction": item(json!("everyone"), false),
        "self_registration": item(json!(false), false),
    }))
    .into_response())
}

/// Changes settings (administrators only): `{"read_only": true}`. A setting this server
/// does not change at run time is refused with `400`, and nothing is changed.
pub(crate) async fn put(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    let mut read_only = None;
    for (name, value) in &body {
        match name.as_str() {
            "read_only" => {
                read_only = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| ApiError::bad_request("read_only must be true or false"))?,
                );
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "the setting {other} cannot be changed at run time here: \
                     set it in the server's configuration"
                )));
            }
        }
    }
    if let Some(ro) = read_only {
        state.settings.set_read_only(ro).await?;
        record_now(
            &state,
            None,
            ctx.principal.name(),
            "update",
            "configuration",
            &format!("read_only={ro}"),
        )
        .await;
    }
    Ok(StatusCode::OK.into_response())
}
