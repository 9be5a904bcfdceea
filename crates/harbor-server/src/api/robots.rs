//! `/api/v2.0/robots`: system- and project-level robot accounts.
//!
//! The rules (naming, the subset rule, secrets, expiry) are `harbor_platform::robots`'.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use harbor_auth::robot::Level;
use harbor_core::identity::{Robot, RobotPermission, RobotQuery};
use harbor_platform::robots::{CreateRobot, RobotChanges};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, parse_q, query, time};
use crate::AppState;

fn expires_at(r: &Robot) -> i64 {
    r.expires_ms.map_or(-1, |ms| ms / 1000)
}

fn robot_json(state: &AppState, r: &Robot) -> Value {
    json!({
        "id": r.id,
        "name": state.accounts.robot_login(&r.name),
        "description": r.description,
        "level": if r.is_project_level() { "project" } else { "system" },
        "duration": r.duration_days,
        "editable": true,
        "disable": r.disabled,
        "expires_at": expires_at(r),
        "permissions": r.permissions,
        "creator": r.creator,
        "creator_type": r.creator_type,
        "creator_ref": r.creator_ref,
        "creation_time": time(r.created_ms),
        "update_time": time(r.updated_ms),
    })
}

/// `GET /permissions`: the (resource, action) pairs robots may be given, Harbor's
/// `Permissions`: system administrators get both levels, other signed-in users the
/// project level (what a project admin may hand out).
pub(crate) async fn permissions(ctx: Ctx) -> ApiResult {
    ctx.require_authenticated()?;
    let pairs = |list: &[(&str, &str)]| -> Vec<Value> {
        list.iter()
            .map(|(resource, action)| json!({ "resource": resource, "action": action }))
            .collect()
    };
    let mut out = json!({ "project": pairs(&harbor_auth::robot::project_access()) });
    if ctx.principal.is_sysadmin() {
        out["system"] = json!(pairs(harbor_auth::robot::SYSTEM_ACCESS));
    }
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
pub(crate) struct CreateRobotReq {
    name: String,
    #[serde(default)]
    description: String,
    level: String,
    #[serde(default = "never")]
    duration: i64,
    #[serde(default)]
    disable: bool,
    permissions: Vec<RobotPermission>,
    #[serde(default)]
    secret: Option<String>,
}

fn never() -> i64 {
    -1
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<CreateRobotReq>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let new = CreateRobot {
        name: req.name,
        description: req.description,
        level: Level::parse(&req.level)?,
        duration: req.duration,
        disable: req.disable,
        permissions: req.permissions,
        secret: req.secret,
    };
    let c = state.platform.robots.create(&ctx.principal, new).await?;
    let mut resp = (
        StatusCode::CREATED,
        Json(json!({
            "id": c.robot.id,
            "name": c.login,
            "secret": c.secret,
            "creation_time": time(c.robot.created_ms),
            "expires_at": expires_at(&c.robot),
        })),
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
        robots.iter().map(|r| robot_json(&state, r)).collect(),
    ))
}

pub(crate) async fn get(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    let robot = state.platform.robots.get(&ctx.principal, id).await?;
    Ok(Json(robot_json(&state, &robot)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct UpdateRobot {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    disable: Option<bool>,
    #[serde(default)]
    permissions: Option<Vec<RobotPermission>>,
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(req): Json<UpdateRobot>,
) -> ApiResult {
    let changes = RobotChanges {
        description: req.description,
        duration: req.duration,
        disable: req.disable,
        permissions: req.permissions,
    };
    state
        .platform
        .robots
        .update(&ctx.principal, id, changes)
        .await?;
    Ok(StatusCode::OK.into_response())
}

#[derive(Deserialize, Default)]
pub(crate) struct RefreshSecret {
    #[serde(default)]
    secret: Option<String>,
}

/// `PATCH /robots/{id}`: a new secret, given (checked against the policy) or generated.
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Option<Json<RefreshSecret>>,
) -> ApiResult {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let secret = state
        .platform
        .robots
        .refresh_secret(&ctx.principal, id, req.secret)
        .await?;
    Ok(Json(json!({ "secret": secret })).into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> ApiResult {
    state.platform.robots.delete(&ctx.principal, id).await?;
    Ok(StatusCode::OK.into_response())
}
