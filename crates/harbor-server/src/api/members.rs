//! `/api/v2.0/projects/{p}/members`: who holds which role in a project.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use harbor_api_model as model;
use harbor_core::identity::{Match, Member};
use harbor_core::rbac::Role;

use super::context::{Ctx, project_ref};
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, query};
use super::users::created;
use crate::AppState;
use harbor_core::groups::GroupType;
use harbor_platform::{GroupRef, UserRef};

/// Harbor's `ProjectMemberEntity`.
fn member_model(m: &Member) -> model::ProjectMemberEntity {
    model::ProjectMemberEntity {
        id: m.id,
        project_id: m.project_id,
        entity_name: m.username.clone(),
        role_name: m.role.name().to_owned(),
        role_id: m.role.id(),
        entity_id: m.entity_id(),
        entity_type: m.entity_type().into(),
    }
}

fn role(id: i64) -> ApiResult<Role> {
    Role::from_id(id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "invalid role_id {id}: use 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) or 5 (limitedGuest)"
        ))
    })
}

/// How `member_group` names a group: `id`, else `ldap_group_dn`, else `group_name` with
/// `group_type`.
fn group_ref(g: model::UserGroup) -> ApiResult<GroupRef> {
    if let Some(id) = g.id.filter(|id| *id != 0) {
        return if id > 0 {
            Ok(GroupRef::Id(id))
        } else {
            Err(ApiError::bad_request("member_group.id must be positive"))
        };
    }
    if let Some(dn) = g.ldap_group_dn.filter(|d| !d.trim().is_empty()) {
        return Ok(GroupRef::LdapDn(dn));
    }
    match (g.group_name.filter(|n| !n.trim().is_empty()), g.group_type) {
        (Some(name), Some(t)) => GroupType::from_id(t)
            .map(|t| GroupRef::Name(name, t))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid group_type {t}: use 1 (LDAP), 2 (HTTP) or 3 (OIDC)"
                ))
            }),
        _ => Err(ApiError::bad_request(
            "member_group needs id, ldap_group_dn, or group_name and group_type",
        )),
    }
}

pub(crate) async fn list_members(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(reference): Path<String>,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let filter = param(&q, "entityname")
        .filter(|n| !n.is_empty())
        .map(|n| Match::Fuzzy(n.to_owned()));
    let r = project_ref(&parts.headers, &reference)?;
    let (members, total) = state
        .platform
        .members
        .list(&ctx.principal, &r, filter.as_ref(), pg)
        .await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        members.iter().map(member_model).collect(),
    ))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Json(req): Json<model::ProjectMember>,
) -> ApiResult {
    let role = role(req.role_id)?;
    let r = project_ref(&headers, &reference)?;
    if let Some(g) = req.member_group {
        if req.member_user.is_some() {
            return Err(ApiError::bad_request(
                "give member_user or member_group, not both",
            ));
        }
        let group = group_ref(g)?;
        let m = state
            .platform
            .members
            .add_group(&ctx.principal, &r, &group, role)
            .await?;
        return Ok(created(&format!(
            "/api/v2.0/projects/{}/members/{}",
            m.project_id, m.id
        )));
    }
    let who = req
        .member_user
        .ok_or_else(|| ApiError::bad_request("member_user or member_group is required"))?;
    let user = match (who.user_id, who.username) {
        (Some(id), _) if id > 0 => UserRef::Id(id),
        (_, Some(name)) if !name.is_empty() => UserRef::Name(name),
        _ => {
            return Err(ApiError::bad_request(
                "member_user needs user_id or username",
            ));
        }
    };
    let m = state
        .platform
        .members
        .add(&ctx.principal, &r, &user, role)
        .await?;
    Ok(created(&format!(
        "/api/v2.0/projects/{}/members/{}",
        m.project_id, m.id
    )))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((reference, mid)): Path<(String, i64)>,
) -> ApiResult {
    let r = project_ref(&headers, &reference)?;
    let m = state.platform.members.get(&ctx.principal, &r, mid).await?;
    Ok(Json(member_model(&m)).into_response())
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((reference, mid)): Path<(String, i64)>,
    Json(req): Json<model::RoleRequest>,
) -> ApiResult {
    let role = role(req.role_id)?;
    let r = project_ref(&headers, &reference)?;
    state
        .platform
        .members
        .set_role(&ctx.principal, &r, mid, role)
        .await?;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((reference, mid)): Path<(String, i64)>,
) -> ApiResult {
    let r = project_ref(&headers, &reference)?;
    state
        .platform
        .members
        .remove(&ctx.principal, &r, mid)
        .await?;
    Ok(StatusCode::OK.into_response())
}
