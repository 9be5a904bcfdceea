//! `/api/v2.0/users`: accounts, the current user, passwords and sysadmin rights.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use harbor_auth::accounts::{hash_blocking, verify_blocking};
use harbor_auth::secret::check_policy;
use harbor_core::identity::{NewUser, User, UserQuery, UserUpdate, check_username};
use harbor_core::rbac::{Action, Resource};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, parse_q, query, time};
use crate::AppState;
use crate::audit::record_now;

/// Harbor's `UserResp`.
pub(crate) fn user_json(u: &User) -> Value {
    json!({
        "user_id": u.id,
        "username": u.username,
        "email": u.email.clone().unwrap_or_default(),
        "realname": u.realname,
        "comment": u.comment,
        "sysadmin_flag": u.sysadmin,
        "admin_role_in_auth": false,
        "creation_time": time(u.created_ms),
        "update_time": time(u.updated_ms),
    })
}

#[derive(Deserialize)]
pub(crate) struct CreateUser {
    username: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    realname: String,
    #[serde(default)]
    comment: String,
    password: String,
}

fn check_email(email: Option<String>) -> ApiResult<Option<String>> {
    match email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()) {
        None => Ok(None),
        Some(e) => {
            let valid = e.len() <= 255
                && e.split_once('@').is_some_and(|(a, b)| {
                    !a.is_empty() && b.contains('.') && !e.contains(char::is_whitespace)
                });
            if valid {
                Ok(Some(e))
            } else {
                Err(ApiError::bad_request(format!("invalid email {e:?}")))
            }
        }
    }
}

fn check_text(field: &str, v: &str) -> ApiResult<()> {
    if v.chars().count() > 255 {
        return Err(ApiError::bad_request(format!(
            "{field} is longer than 255 characters"
        )));
    }
    Ok(())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<CreateUser>,
) -> ApiResult {
    // Administrators create accounts; with `self_registration` on, so may anonymous
    // visitors, for themselves (never administrators).
    let signing_up =
        !ctx.principal.is_authenticated() && state.settings.get().await.self_registration;
    if !signing_up {
        ctx.require_sysadmin()?;
    }
    check_username(&req.username)?;
    check_text("realname", &req.realname)?;
    check_text("comment", &req.comment)?;
    let email = check_email(req.email)?;
    check_policy(&req.password).map_err(|e| ApiError::bad_request(format!("password {e}")))?;
    let hash = hash_blocking(req.password).await?;
    let user = state
        .accounts
        .store()
        .create_user(&NewUser {
            username: req.username,
            email,
            realname: req.realname,
            comment: req.comment,
            password_hash: hash,
            sysadmin: false,
        })
        .await?;
    let by = if signing_up {
        user.username.as_str()
    } else {
        ctx.principal.name()
    };
    record_now(&state, None, by, "create", "user", &user.username).await;
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
    let (users, total) = state.accounts.store().users(&filter, p).await?;
    Ok(list(
        &parts.uri,
        p,
        total,
        users.iter().map(user_json).collect(),
    ))
}

/// `GET /users/search?username=`: any signed-in user may look up names (to add members).
pub(crate) async fn search(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    ctx.require_authenticated()?;
    let q = query(&parts.uri);
    let p = page(&q)?;
    let name = param(&q, "username").unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::bad_request("username is required"));
    }
    let filter = UserQuery {
        username: Some(harbor_core::identity::Match::Fuzzy(name.to_owned())),
        email: None,
    };
    let (users, total) = state.accounts.store().users(&filter, p).await?;
    let items: Vec<Value> = users
        .iter()
        .map(|u| json!({"user_id": u.id, "username": u.username}))
        .collect();
    Ok(list(&parts.uri, p, total, items))
}

pub(crate) async fn current(ctx: Ctx) -> ApiResult {
    let u = ctx.require_user()?;
    Ok(Json(user_json(u)).into_response())
}

/// `GET /users/current/permissions?scope=/project/<id>&relative=true`: what the caller
/// may do in a project, or (`scope=/system`) at system level. Without a scope the list
/// is empty, as in Harbor.
pub(crate) async fn current_permissions(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    ctx.require_authenticated()?;
    let q = query(&parts.uri);
    let relative = match param(&q, "relative") {
        None | Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "relative must be true or false, not {v:?}"
            )));
        }
    };
    let scope = param(&q, "scope").unwrap_or_default().trim_end_matches('/');
    if scope.is_empty() {
        return Ok(Json(Vec::<Value>::new()).into_response());
    }
    if scope == "/system" {
        let out: Vec<Value> = harbor_auth::robot::SYSTEM_ACCESS
            .iter()
            .filter(|(r, a)| match &ctx.principal {
                p if p.is_sysadmin() => true,
                harbor_auth::Principal::Robot { robot, .. } => {
                    harbor_auth::principal::robot_system_allows(&robot.permissions, r, a)
                }
                _ => false,
            })
            .map(|(r, a)| {
                let resource = if relative {
                    (*r).to_owned()
                } else {
                    format!("/system/{r}")
                };
                json!({"resource": resource, "action": a})
            })
            .collect();
        return Ok(Json(out).into_response());
    }
    let id = scope
        .strip_prefix("/project/")
        .and_then(|s| s.split('/').next())
        .ok_or_else(|| ApiError::bad_request("scope must be /system or /project/<id or name>"))?;
    let (project, grants) = ctx.project(&state, &parts.headers, id).await?;
    let mut out = Vec::new();
    for r in Resource::ALL {
        for a in Action::ALL {
            if grants.allows(*r, *a) {
                let resource = if relative {
                    r.as_str().to_owned()
                } else {
                    format!("/project/{}/{}", project.id, r.as_str())
                };
                out.push(json!({"resource": resource, "action": a.as_str()}));
            }
        }
    }
    Ok(Json(out).into_response())
}

async fn load(state: &AppState, id: i64) -> ApiResult<User> {
    state
        .accounts
        .store()
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id} not found")))
}

/// Only the user themself or a system administrator.
fn self_or_admin(ctx: &Ctx, id: i64) -> ApiResult<()> {
    ctx.require_authenticated()?;
    if ctx.principal.is_sysadmin() || ctx.principal.user_id() == Some(id) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the user or a system administrator may do this",
        ))
    }
}

pub(crate) async fn get(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    self_or_admin(&ctx, id)?;
    Ok(Json(user_json(&load(&state, id).await?)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct Profile {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    realname: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(req): Json<Profile>,
) -> ApiResult {
    self_or_admin(&ctx, id)?;
    let user = load(&state, id).await?;
    for (f, v) in [("realname", &req.realname), ("comment", &req.comment)] {
        if let Some(v) = v {
            check_text(f, v)?;
        }
    }
    let update = UserUpdate {
        email: match req.email {
            Some(e) => Some(check_email(Some(e))?),
            None => None,
        },
        realname: req.realname,
        comment: req.comment,
    };
    state.accounts.store().update_user(id, &update).await?;
    record_now(
        &state,
        None,
        ctx.principal.name(),
        "update",
        "user",
        &user.username,
    )
    .await;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    if ctx.principal.user_id() == Some(id) {
        return Err(ApiError::forbidden("you cannot delete your own account"));
    }
    let user = load(&state, id).await?;
    state.accounts.store().delete_user(id).await?;
    record_now(
        &state,
        None,
        ctx.principal.name(),
        "delete",
        "user",
        &user.username,
    )
    .await;
    Ok(StatusCode::OK.into_response())
}

#[derive(Deserialize)]
pub(crate) struct PasswordReq {
    #[serde(default)]
    old_password: String,
    new_password: String,
}

/// Users change their own password with the old one; a system administrator resets
/// another user's without it.
pub(crate) async fn password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(req): Json<PasswordReq>,
) -> ApiResult {
    self_or_admin(&ctx, id)?;
    let user = load(&state, id).await?;
    if ctx.principal.user_id() == Some(id) {
        let ok = verify_blocking(user.password_hash.clone(), req.old_password).await?;
        if !ok {
            return Err(ApiError::forbidden("the old password is wrong"));
        }
    }
    check_policy(&req.new_password).map_err(|e| ApiError::bad_request(format!("password {e}")))?;
    let hash = hash_blocking(req.new_password).await?;
    state.accounts.store().set_password(id, &hash).await?;
    record_now(
        &state,
        None,
        ctx.principal.name(),
        "update",
        "user",
        &user.username,
    )
    .await;
    Ok(StatusCode::OK.into_response())
}

#[derive(Deserialize)]
pub(crate) struct SysadminFlag {
    sysadmin_flag: bool,
}

pub(crate) async fn sysadmin(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(req): Json<SysadminFlag>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    if ctx.principal.user_id() == Some(id) && !req.sysadmin_flag {
        return Err(ApiError::forbidden(
            "you cannot revoke your own administrator rights",
        ));
    }
    let user = load(&state, id).await?;
    state
        .accounts
        .store()
        .set_sysadmin(id, req.sysadmin_flag)
        .await?;
    record_now(
        &state,
        None,
        ctx.principal.name(),
        "update",
        "user",
        &user.username,
    )
    .await;
    Ok(StatusCode::OK.into_response())
}
