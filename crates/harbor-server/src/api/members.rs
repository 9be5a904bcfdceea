//! `/api/v2.0/projects/{p}/members`: who holds which role in a project.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use harbor_core::identity::{Match, Member};
use harbor_core::rbac::{Action, Resource, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, query};
use super::users::created;
use crate::AppState;
use crate::audit::record_now;

/// Harbor's `ProjectMemberEntity`.
fn member_json(m: &Member) -> Value {
    json!({
        "id": m.id,
        "project_id": m.project_id,
        "entity_id": m.user_id,
        "entity_name": m.username,
        "entity_type": "u",
        "role_id": m.role.id(),
        "role_name": m.role.name(),
    })
}

fn role(id: i64) -> ApiResult<Role> {
    Role::from_id(id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "invalid role_id {id}: use 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) or 5 (limitedGuest)"
        ))
    })
}

pub(crate) async fn list_members(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(reference): Path<String>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &parts.headers, &reference).await?;
    ctx.check(&grants, Resource::Member, Action::List)?;
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let filter = param(&q, "entityname")
        .filter(|n| !n.is_empty())
        .map(|n| Match::Fuzzy(n.to_owned()));
    let (members, total) = state
        .accounts
        .store()
        .members(p.id, filter.as_ref(), pg)
        .await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        members.iter().map(member_json).collect(),
    ))
}

#[derive(Deserialize)]
pub(crate) struct MemberUser {
    #[serde(default)]
    user_id: Option<i64>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct NewMember {
    role_id: i64,
    #[serde(default)]
    member_user: Option<MemberUser>,
    #[serde(default)]
    member_group: Option<Value>,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Json(req): Json<NewMember>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &headers, &reference).await?;
    ctx.check(&grants, Resource::Member, Action::Create)?;
    let role = role(req.role_id)?;
    if req.member_group.as_ref().is_some_and(|g| !g.is_null()) {
        return Err(ApiError::bad_request("user groups are not supported"));
    }
    let who = req
        .member_user
        .ok_or_else(|| ApiError::bad_request("member_user is required"))?;
    let store = state.accounts.store();
    let user = match (who.user_id, who.username.as_deref()) {
        (Some(id), _) if id > 0 => store.user(id).await?,
        (_, Some(name)) if !name.is_empty() => store.user_by_name(name).await?,
        _ => {
            return Err(ApiError::bad_request(
                "member_user needs user_id or username",
            ));
        }
    }
    .ok_or_else(|| ApiError::not_found("user not found"))?;
    let m = store.add_member(p.id, user.id, role).await?;
    record_now(
        &state,
        Some(p.id),
        ctx.principal.name(),
        "create",
        "member",
        &user.username,
    )
    .await;
    Ok(created(&format!(
        "/api/v2.0/projects/{}/members/{}",
        p.id, m.id
    )))
}

async fn load(state: &AppState, project_id: i64, mid: i64) -> ApiResult<Member> {
    state
        .accounts
        .store()
        .member(project_id, mid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("member {mid} not found")))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((reference, mid)): Path<(String, i64)>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &headers, &reference).await?;
    ctx.check(&grants, Resource::Member, Action::Read)?;
    Ok(Json(member_json(&load(&state, p.id, mid).await?)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct RoleRequest {
    role_id: i64,
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((reference, mid)): Path<(String, i64)>,
    Json(req): Json<RoleRequest>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &headers, &reference).await?;
    ctx.check(&grants, Resource::Member, Action::Update)?;
    let role = role(req.role_id)?;
    let m = load(&state, p.id, mid).await?;
    if ctx.principal.user_id() == Some(m.user_id) {
        return Err(ApiError::forbidden("you cannot change your own role"));
    }
    state
        .accounts
        .store()
        .set_member_role(p.id, mid, role)
        .await?;
    record_now(
        &state,
        Some(p.id),
        ctx.principal.name(),
        "update",
        "member",
        &m.username,
    )
    .await;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((reference, mid)): Path<(String, i64)>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &headers, &reference).await?;
    ctx.check(&grants, Resource::Member, Action::Delete)?;
    let m = load(&state, p.id, mid).await?;
    if ctx.principal.user_id() == Some(m.user_id) {
        return Err(ApiError::forbidden(
            "you cannot remove yourself from the project",
        ));
    }
    state.accounts.store().delete_member(p.id, mid).await?;
    record_now(
        &state,
        Some(p.id),
        ctx.principal.name(),
        "delete",
        "member",
        &m.username,
    )
    .await;
    Ok(StatusCode::OK.into_response())
}
