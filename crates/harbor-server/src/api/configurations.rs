//! `/api/v2.0/configurations`: the system settings, as Harbor's `{name: {value, editable}}`.
//!
//! Every field of Harbor's `Configurations` is answered for: the ones this server applies
//! are validated and stored in the database (`settings.rs`), so every replica follows
//! them; the ones fixed by this server (its own database for sign-in, quotas always on,
//! no audit forwarding yet) are shown read-only and accept only their current value; the
//! fields of features it does not have yet (LDAP, OIDC, UAA, HTTP auth proxy) take only
//! empty values. Anything else is refused by name, and a request with one bad field
//! changes nothing.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use crate::AppState;
use crate::settings::Settings;

fn item(value: Value, editable: bool) -> Value {
    json!({ "value": value, "editable": editable })
}

/// Fields fixed by how this server works: name, value, and why it cannot change.
fn fixed(state: &AppState) -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "auth_mode",
            json!("db_auth"),
            "users sign in against this server's database; LDAP and OIDC are not supported yet",
        ),
        (
            "primary_auth_mode",
            json!(false),
            "there is one sign-in mode",
        ),
        (
            "robot_name_prefix",
            json!(state.accounts.robot_prefix()),
            "set auth.robot_prefix in the server's configuration (it renames every robot's login)",
        ),
        (
            "quota_per_project_enable",
            json!(true),
            "storage quotas are always enforced (use -1 for unlimited)",
        ),
        (
            "notification_enable",
            json!(false),
            "webhooks are not supported yet",
        ),
        (
            "audit_log_forward_endpoint",
            json!(""),
            "audit log forwarding is not supported yet",
        ),
        (
            "skip_audit_log_database",
            json!(false),
            "the audit log is kept in the database",
        ),
        (
            "disabled_audit_log_event_types",
            json!(""),
            "every audit event type is recorded",
        ),
        (
            "scanner_skip_update_pulltime",
            json!(false),
            "vulnerability scanning is not supported yet",
        ),
    ]
}

/// Prefixes of the fields of sign-in modes this server does not have yet.
const NOT_YET: &[(&str, &str)] = &[
    ("ldap_", "LDAP sign-in"),
    ("oidc_", "OIDC sign-in"),
    ("uaa_", "UAA sign-in"),
    ("http_authproxy_", "HTTP auth proxy sign-in"),
];

/// The settings (administrators only).
pub(crate) async fn get(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_sysadmin()?;
    let s = state.settings.get().await;
    let mut out = Map::new();
    for (name, value) in editable_values(&state, &s) {
        out.insert(name.into(), item(value, true));
    }
    for (name, value, _) in fixed(&state) {
        out.insert(name.into(), item(value, false));
    }
    Ok(Json(Value::Object(out)).into_response())
}

/// The current value of every field this server changes at run time.
fn editable_values(state: &AppState, s: &Settings) -> Vec<(&'static str, Value)> {
    let minutes = |d: std::time::Duration| d.as_secs().div_ceil(60);
    vec![
        ("read_only", json!(s.read_only)),
        (
            "project_creation_restriction",
            json!(s.project_creation_restriction()),
        ),
        ("self_registration", json!(s.self_registration)),
        (
            "token_expiration",
            json!(minutes(s.token_ttl(state.tokens.ttl()))),
        ),
        (
            "session_timeout",
            json!(minutes(s.session_ttl(state.auth.session_ttl))),
        ),
        ("robot_token_duration", json!(s.robot_days())),
        (
            "storage_per_project",
            json!(s.storage_per_project.unwrap_or(state.default_storage_limit)),
        ),
        ("banner_message", json!(s.banner_message)),
    ]
}

/// Checks one editable field; its value as stored.
fn check(name: &str, v: &Value) -> ApiResult<Option<Value>> {
    let bad = |what: &str| ApiError::bad_request(format!("{name} must be {what}"));
    let minutes = |v: &Value| match v.as_u64() {
        Some(n @ 1..=525_600) => Ok(json!(n)),
        _ => Err(bad("a number of minutes from 1 to 525600")),
    };
    Ok(Some(match name {
        "read_only" | "self_registration" => {
            json!(v.as_bool().ok_or_else(|| bad("true or false"))?)
        }
        "project_creation_restriction" => match v.as_str() {
            Some(s @ ("everyone" | "adminonly")) => json!(s),
            _ => return Err(bad("\"everyone\" or \"adminonly\"")),
        },
        "token_expiration" | "session_timeout" => minutes(v)?,
        "robot_token_duration" => match v.as_i64() {
            Some(n @ 1..=36_500) => json!(n),
            _ => return Err(bad("a number of days from 1 to 36500")),
        },
        "storage_per_project" => match v.as_i64() {
            Some(n) if n == -1 || n > 0 => json!(n),
            _ => return Err(bad("-1 (unlimited) or a positive number of bytes")),
        },
        "banner_message" => match v.as_str() {
            Some(s) if s.chars().count() <= 1024 => json!(s),
            _ => return Err(bad("a string of at most 1024 characters")),
        },
        _ => return Ok(None),
    }))
}

/// Whether `v` is an "off" value: null, false, an empty string or list.
fn is_off(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Changes settings (administrators only), all or nothing.
pub(crate) async fn put(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    let fixed = fixed(&state);
    let mut writes = Vec::new();
    for (name, value) in &body {
        if let Some(v) = check(name, value)? {
            writes.push((name.clone(), v));
        } else if let Some((_, current, why)) = fixed.iter().find(|(n, _, _)| n == name) {
            if value != current {
                return Err(ApiError::bad_request(format!(
                    "{name} cannot be changed: {why}"
                )));
            }
        } else if let Some((_, feature)) = NOT_YET.iter().find(|(p, _)| name.starts_with(p)) {
            if !is_off(value) {
                return Err(ApiError::bad_request(format!(
                    "{name} is not supported yet: this server has no {feature}"
                )));
            }
        } else {
            return Err(ApiError::bad_request(format!(
                "unknown configuration {name}"
            )));
        }
    }
    if !writes.is_empty() {
        state
            .platform
            .settings
            .update(&ctx.principal, &writes)
            .await?;
    }
    Ok(StatusCode::OK.into_response())
}
