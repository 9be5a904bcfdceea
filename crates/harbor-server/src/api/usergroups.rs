//! `/api/v2.0/usergroups`: user groups (system administrators manage them; any signed-in
//! user may search them by name).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use harbor_api_model as m;
use harbor_core::groups::{GroupQuery, UserGroup};
use harbor_core::identity::Match;
use harbor_platform::groups::{CreateGroup, UpdateGroup};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, positive_id, query};
use super::users::created;
use crate::AppState;

/// Harbor's `UserGroup`.
pub(crate) fn group_model(g: &UserGroup) -> m::UserGroup {
    m::UserGroup {
        id: Some(g.id),
        group_name: Some(g.name.clone()),
        group_type: Some(g.group_type.id()),
        ldap_group_dn: Some(g.ldap_group_dn.clone()),
    }
}

/// `GET /usergroups?group_name=&ldap_group_dn=`: the name matches as a substring, the DN
/// exactly.
pub(crate) async fn list_groups(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    ctx.require_authenticated()?;
    let q = query(&parts.uri);
    let p = page(&q)?;
    let filter = GroupQuery {
        name: param(&q, "group_name")
            .filter(|n| !n.is_empty())
            .map(|n| Match::Fuzzy(n.to_owned())),
        ldap_group_dn: param(&q, "ldap_group_dn")
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        group_type: None,
    };
    let (groups, total) = state
        .platform
        .groups
        .list(&ctx.principal, &filter, p)
        .await?;
    Ok(list(
        &parts.uri,
        p,
        total,
        groups.iter().map(group_model).collect(),
    ))
}

/// `GET /usergroups/search?groupname=`.
pub(crate) async fn search(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    ctx.require_authenticated()?;
    let q = query(&parts.uri);
    let p = page(&q)?;
    let name = param(&q, "groupname").unwrap_or_default();
    let (groups, total) = state
        .platform
        .groups
        .search(&ctx.principal, name, p)
        .await?;
    let items: Vec<m::UserGroupSearchItem> = groups
        .iter()
        .map(|g| m::UserGroupSearchItem {
            id: g.id,
            group_name: g.name.clone(),
            group_type: g.group_type.id(),
        })
        .collect();
    Ok(list(&parts.uri, p, total, items))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<m::UserGroup>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let new = CreateGroup {
        name: req
            .group_name
            .ok_or_else(|| ApiError::bad_request("group_name is required"))?,
        group_type: req
            .group_type
            .ok_or_else(|| ApiError::bad_request("group_type is required"))?,
        ldap_group_dn: req.ldap_group_dn.unwrap_or_default(),
    };
    let g = state.platform.groups.create(&ctx.principal, new).await?;
    Ok(created(&format!("/api/v2.0/usergroups/{}", g.id)))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let id = positive_id(&id, "group")?;
    let g = state.platform.groups.get(&ctx.principal, id).await?;
    Ok(Json(group_model(&g)).into_response())
}

/// `PUT /usergroups/{id}`: renames; the type and DN cannot change.
pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Json(req): Json<m::UserGroup>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let id = positive_id(&id, "group")?;
    let change = UpdateGroup {
        name: req.group_name,
        group_type: req.group_type,
        ldap_group_dn: req.ldap_group_dn,
    };
    state
        .platform
        .groups
        .update(&ctx.principal, id, change)
        .await?;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let id = positive_id(&id, "group")?;
    state.platform.groups.delete(&ctx.principal, id).await?;
    Ok(StatusCode::OK.into_response())
}
