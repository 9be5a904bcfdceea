//! `/api/v2.0/robots`: system- and project-level robot accounts.
//!
//! The rules (naming, the subset rule, secrets, expiry) are `harbor_platform::robots`'.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use harbor_api_model as m;
use harbor_auth::robot::Level;
use harbor_core::identity::{Robot, RobotAccess, RobotPermission, RobotQuery};
use harbor_platform::robots::{CreateRobot, RobotChanges};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, parse_q, query, time};
use crate::AppState;

fn expires_at(r: &Robot) -> i64 {
    r.expires_ms.map_or(-1, |ms| ms / 1000)
}

/// Permissions as the API shows them.
fn to_model(p: &[RobotPermission]) -> Vec<m::RobotPermission> {
    p.iter()
        .map(|p| m::RobotPermission {
            kind: p.kind.clone(),
            namespace: p.namespace.clone(),
            access: p
                .access
                .iter()
                .map(|a| m::Access {
                    resource: a.resource.clone(),
                    action: a.action.clone(),
                    effect: a.effect.clone(),
                })
                .collect(),
        })
        .collect()
}

/// Permissions as sent.
fn from_model(p: Vec<m::RobotPermission>) -> Vec<RobotPermission> {
    p.into_iter()
        .map(|p| RobotPermission {
            kind: p.kind,
            namespace: p.namespace,
            access: p
                .access
                .into_iter()
                .map(|a| RobotAccess {
                    resource: a.resource,
                    action: a.action,
                    effect: a.effect,
                })
                .collect(),
        })
        .collect()
}

/// Harbor's `Robot`.
fn robot_model(state: &AppState, r: &Robot) -> m::Robot {
    m::Robot {
        id: r.id,
        name: state.accounts.robot_login(&r.name),
        description: r.description.clone(),
        level: if r.is_project_level() {
            "project"
        } else {
            "system"
        }
        .into(),
        duration: r.duration_days,
        editable: true,
        disable: r.disabled,
        expires_at: expires_at(r),
        permissions: to_model(&r.permissions),
        creator: Some(r.creator.clone()),
        creator_type: r.creator_type.clone(),
        creator_ref: r.creator_ref,
        creation_time: time(r.created_ms),
        update_time: time(r.updated_ms),
    }
}

/// `GET /permissions`: the (resource, action) pairs robots may be given, Harbor's
/// `Permissions`: system administrators get both levels, other signed-in users the
/// project level (what a project admin may hand out).
pub(crate) async fn permissions(ctx: Ctx) -> ApiResult {
    ctx.require_authenticated()?;
    let pairs = |list: &[(&str, &str)]| -> Vec<m::Permission> {
        list.iter()
            .map(|(resource, action)| m::Permission {
                resource: (*resource).to_owned(),
                action: (*action).to_owned(),
            })
            .collect()
    };
    let out = m::Permissions {
        project: pairs(&harbor_auth::robot::project_access()),
        system: ctx
            .principal
            .is_sysadmin()
            .then(|| pairs(harbor_auth::robot::SYSTEM_ACCESS)),
    };
    Ok(Json(out).into_response())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<m::RobotCreate>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let permissions = req
        .permissions
        .ok_or_else(|| ApiError::bad_request("permissions is required"))?;
    let new = CreateRobot {
        name: req.name,
        description: req.description.unwrap_or_default(),
        level: Level::parse(&req.level)?,
        duration: req.duration.unwrap_or(-1),
        disable: req.disable.unwrap_or(false),
        permissions: from_model(permissions),
        secret: req.secret,
    };
    let c = state.platform.robots.create(&ctx.principal, new).await?;
    let mut resp = (
        StatusCode::CREATED,
        Json(m::RobotCreated {
            id: c.robot.id,
            creation_time: time(c.robot.created_ms),
            expires_at: expires_at(&c.robot),
            name: c.login,
            secret: c.secret,
        }),
    )
        .into_response();
    if let Ok(v) = format!("/api/v2.0/robots/{}", c.robot.id).parse() {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(resp)
}

pub(crate) async fn list_robots(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let mut filter = RobotQuery::default();
    for (k, v) in parse_q(param(&q, "q"))? {
        match k.as_str() {
            "Level" | "level" => {
                if Level::parse(v.exact(&k)?)? == Level::System {
                    filter.project_id = Some(0);
                }
            }
            "ProjectID" | "project_id" => {
                let id = v
                    .exact(&k)?
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_request("ProjectID must be a number"))?;
                filter.project_id = Some(id);
            }
            "name" => filter.name = Some(v.text(&k)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}"
                )));
            }
        }
    }
    let (robots, total) = state
        .platform
        .robots
        .list(&ctx.principal, &filter, pg)
        .await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        robots.iter().map(|r| robot_model(&state, r)).collect(),
    ))
}

pub(crate) async fn get(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    let robot = state.platform.robots.get(&ctx.principal, id).await?;
    Ok(Json(robot_model(&state, &robot)).into_response())
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(req): Json<m::RobotCreate>,
) -> ApiResult {
    let changes = RobotChanges {
        description: req.description,
        duration: req.duration,
        disable: req.disable,
        permissions: req.permissions.map(from_model),
    };
    state
        .platform
        .robots
        .update(&ctx.principal, id, changes)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `PATCH /robots/{id}`: a new secret, given (checked against the policy) or generated.
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Option<Json<m::RobotSec>>,
) -> ApiResult {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let secret = state
        .platform
        .robots
        .refresh_secret(&ctx.principal, id, req.secret)
        .await?;
    Ok(Json(m::RobotSec {
        secret: Some(secret),
    })
    .into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> ApiResult {
    state.platform.robots.delete(&ctx.principal, id).await?;
    Ok(StatusCode::OK.into_response())
}
