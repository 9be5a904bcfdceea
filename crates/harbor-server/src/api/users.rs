//! `/api/v2.0/users`: accounts, the current user, passwords and sysadmin rights.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use harbor_api_model as m;
use harbor_core::identity::{User, UserQuery};
use harbor_core::rbac::Resource;
use harbor_platform::users::{CreateUser, ProfileChanges};

use super::context::{Ctx, project_ref};
use super::error::{ApiError, ApiResult};
use super::paging::{flag, list, page, param, parse_q, query, time};
use crate::AppState;

/// Harbor's `UserResp`.
pub(crate) fn user_model(u: &User) -> m::UserResp {
    m::UserResp {
        email: u.email.clone().unwrap_or_default(),
        realname: u.realname.clone(),
        comment: u.comment.clone(),
        user_id: u.id,
        username: u.username.clone(),
        sysadmin_flag: u.sysadmin,
        admin_role_in_auth: false,
        oidc_user_meta: None,
        creation_time: time(u.created_ms),
        update_time: time(u.updated_ms),
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<m::UserCreationReq>,
) -> ApiResult {
    let new = CreateUser {
        username: req.username,
        email: req.email,
        realname: req.realname,
        comment: req.comment,
        password: req.password,
    };
    let user = state.platform.users.create(&ctx.principal, new).await?;
    Ok(created(&format!("/api/v2.0/users/{}", user.id)))
}

/// A `201 Created` with its `Location`.
pub(crate) fn created(location: &str) -> Response {
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = location.parse() {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

pub(crate) async fn list_users(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    ctx.require_sysadmin()?;
    let q = query(&parts.uri);
    let p = page(&q)?;
    let mut filter = UserQuery::default();
    for (k, v) in parse_q(param(&q, "q"))? {
        match k.as_str() {
            "username" => filter.username = Some(v.text(&k)?),
            "email" => filter.email = Some(v.text(&k)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}"
                )));
            }
        }
    }
    let (users, total) = state
        .platform
        .users
        .list(&ctx.principal, &filter, p)
        .await?;
    Ok(list(
        &parts.uri,
        p,
        total,
        users.iter().map(user_model).collect(),
    ))
}

/// `GET /users/search?username=`: any signed-in user may look up names (to add members).
pub(crate) async fn search(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    ctx.require_authenticated()?;
    let q = query(&parts.uri);
    let p = page(&q)?;
    let name = param(&q, "username").unwrap_or_default();
    let (users, total) = state.platform.users.search(&ctx.principal, name, p).await?;
    let items: Vec<m::UserSearchRespItem> = users
        .iter()
        .map(|u| m::UserSearchRespItem {
            user_id: u.id,
            username: u.username.clone(),
        })
        .collect();
    Ok(list(&parts.uri, p, total, items))
}

pub(crate) async fn current(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    let u = ctx.require_user()?;
    let mut model = user_model(u);
    model.oidc_user_meta = super::oidc::user_meta(&state, u.id).await?;
    Ok(Json(model).into_response())
}

/// `GET /users/current/permissions?scope=/project/<id>&relative=true`: what the caller
/// may do in a project (the project itself is `.`, as in Harbor), or (`scope=/system`)
/// at system level. Without a scope the list is empty, as in Harbor.
pub(crate) async fn current_permissions(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    ctx.require_authenticated()?;
    let q = query(&parts.uri);
    let relative = flag(&q, "relative", false)?;
    let scope = param(&q, "scope").unwrap_or_default().trim_end_matches('/');
    if scope.is_empty() {
        return Ok(Json(Vec::<m::Permission>::new()).into_response());
    }
    if scope == "/system" {
        let out: Vec<m::Permission> = harbor_platform::access::system_permissions(&ctx.principal)
            .into_iter()
            .map(|(r, a)| {
                let resource = if relative {
                    r.to_owned()
                } else {
                    format!("/system/{r}")
                };
                m::Permission {
                    resource,
                    action: a.to_owned(),
                }
            })
            .collect();
        return Ok(Json(out).into_response());
    }
    let id = scope
        .strip_prefix("/project/")
        .and_then(|s| s.split('/').next())
        .ok_or_else(|| ApiError::bad_request("scope must be /system or /project/<id or name>"))?;
    let r = project_ref(&parts.headers, id)?;
    let (project, pairs) = state
        .platform
        .projects
        .permissions(&ctx.principal, &r)
        .await?;
    let out: Vec<m::Permission> = pairs
        .into_iter()
        .map(|(r, a)| {
            // The project itself is Harbor's "self" resource: `/project/<id>`, or `.`
            // relative to it.
            let resource = match (r, relative) {
                (Resource::Project, true) => ".".to_owned(),
                (Resource::Project, false) => format!("/project/{}", project.id),
                (_, true) => r.as_str().to_owned(),
                (_, false) => format!("/project/{}/{}", project.id, r.as_str()),
            };
            m::Permission {
                resource,
                action: a.as_str().to_owned(),
            }
        })
        .collect();
    Ok(Json(out).into_response())
}

pub(crate) async fn get(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    let user = state.platform.users.get(&ctx.principal, id).await?;
    let mut model = user_model(&user);
    // Only the user and administrators read a user (`Users::get`): both may see the
    // CLI secret, as in Harbor.
    model.oidc_user_meta = super::oidc::user_meta(&state, user.id).await?;
    Ok(Json(model).into_response())
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(req): Json<m::UserProfile>,
) -> ApiResult {
    let changes = ProfileChanges {
        email: req.email,
        realname: req.realname,
        comment: req.comment,
    };
    state
        .platform
        .users
        .update_profile(&ctx.principal, id, changes)
        .await?;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> ApiResult {
    state.platform.users.delete(&ctx.principal, id).await?;
    Ok(StatusCode::OK.into_response())
}

/// Users change their own password with the old one; a system administrator resets
/// another user's without it.
pub(crate) async fn password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(req): Json<m::PasswordReq>,
) -> ApiResult {
    state
        .platform
        .users
        .change_password(&ctx.principal, id, req.old_password, req.new_password)
        .await?;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn sysadmin(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(req): Json<m::UserSysAdminFlag>,
) -> ApiResult {
    state
        .platform
        .users
        .set_sysadmin(&ctx.principal, id, req.sysadmin_flag)
        .await?;
    Ok(StatusCode::OK.into_response())
}
