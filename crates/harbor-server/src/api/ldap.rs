//! `/api/v2.0/ldap/...`: Harbor's directory operations (system administrators): ping,
//! user search and import, group search. The rules are `harbor_platform::sign_in::ldap`'s.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use harbor_api_model as m;
use harbor_platform::sign_in::ldap::{self, Ldap};
use serde::Deserialize;
use serde_json::Value;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use crate::AppState;

/// The routes.
pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/ldap/ping", post(ping))
        .route("/ldap/users/search", get(search_users))
        .route("/ldap/users/import", post(import_users))
        .route("/ldap/groups/search", get(search_groups))
}

fn directory(state: &AppState) -> Result<&Ldap, ApiError> {
    state
        .platform
        .sign_in
        .as_ref()
        .map(|s| s.ldap())
        .ok_or_else(|| ApiError::from(harbor_core::Error::Unsupported("LDAP sign-in".into())))
}

/// `POST /ldap/ping` with optional `LdapConf`: the stored settings with the given
/// fields over them; always `200` with whether it worked and why not.
async fn ping(State(state): State<AppState>, ctx: Ctx, body: Bytes) -> ApiResult {
    let conf: m::LdapConf = if body.iter().all(u8::is_ascii_whitespace) {
        m::LdapConf::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid LdapConf: {e}")))?
    };
    let mut fields: HashMap<String, Value> = HashMap::new();
    let mut put = |name: &str, v: Option<Value>| {
        if let Some(v) = v {
            fields.insert(name.to_owned(), v);
        }
    };
    put("ldap_url", conf.ldap_url.map(Value::from));
    put("ldap_search_dn", conf.ldap_search_dn.map(Value::from));
    put("ldap_base_dn", conf.ldap_base_dn.map(Value::from));
    put("ldap_filter", conf.ldap_filter.map(Value::from));
    put("ldap_uid", conf.ldap_uid.map(Value::from));
    put("ldap_scope", conf.ldap_scope.map(Value::from));
    put(
        "ldap_timeout",
        conf.ldap_connection_timeout.map(Value::from),
    );
    put("ldap_verify_cert", conf.ldap_verify_cert.map(Value::from));
    let stored = state.settings.get().await.auth.ldap;
    let cfg = ldap::with_overrides(stored, &fields)?;
    let password = conf.ldap_search_password.filter(|p| !p.is_empty());
    let result = directory(&state)?
        .ping(&ctx.principal, &cfg, password)
        .await?;
    Ok(Json(m::LdapPingResult {
        success: result.success,
        message: result.message,
    })
    .into_response())
}

#[derive(Deserialize)]
struct UserQuery {
    #[serde(default)]
    username: String,
}

/// `GET /ldap/users/search?username=`.
async fn search_users(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<UserQuery>,
) -> ApiResult {
    let users = directory(&state)?
        .search_users(&ctx.principal, &q.username)
        .await?;
    let body: Vec<m::LdapUser> = users
        .into_iter()
        .map(|u| m::LdapUser {
            username: u.username,
            realname: u.realname,
            email: u.email.unwrap_or_default(),
        })
        .collect();
    Ok(Json(body).into_response())
}

/// `POST /ldap/users/import` `{ldap_uid_list}`: `200`, or `404` listing what failed.
async fn import_users(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<m::LdapImportUsers>,
) -> ApiResult {
    let failed = directory(&state)?
        .import_users(&ctx.principal, &body.ldap_uid_list)
        .await?;
    if failed.is_empty() {
        return Ok(StatusCode::OK.into_response());
    }
    let body: Vec<m::LdapFailedImportUser> = failed
        .into_iter()
        .map(|f| m::LdapFailedImportUser {
            uid: f.uid,
            error: f.error,
        })
        .collect();
    Ok((StatusCode::NOT_FOUND, Json(body)).into_response())
}

#[derive(Deserialize)]
struct GroupQuery {
    #[serde(default)]
    groupname: String,
    #[serde(default)]
    groupdn: String,
}

/// `GET /ldap/groups/search?groupname=&groupdn=`: directory groups as Harbor's
/// `UserGroup` (type 1, no id: they are not user groups here until added).
async fn search_groups(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<GroupQuery>,
) -> ApiResult {
    let found = directory(&state)?
        .search_groups(&ctx.principal, &q.groupname, &q.groupdn)
        .await?;
    let body: Vec<m::UserGroup> = found
        .into_iter()
        .map(|g| m::UserGroup {
            id: None,
            group_name: Some(g.name),
            group_type: Some(1),
            ldap_group_dn: Some(g.dn),
        })
        .collect();
    Ok(Json(body).into_response())
}
