//! `/api/v2.0/robots`: system- and project-level robot accounts.
//!
//! A project robot is stored as `<project>+<name>` and logs in as `robot$<project>+<name>`;
//! a system robot as `<name>` / `robot$<name>`. The secret is shown once (on creation and
//! on refresh) and stored as an Argon2id hash. A robot may create or edit robots only
//! within its own permissions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use harbor_auth::Principal;
use harbor_auth::accounts::hash_blocking;
use harbor_auth::principal::robot_system_allows;
use harbor_auth::robot::{Level, is_subset, validate};
use harbor_auth::secret::{check_policy, generate};
use harbor_core::identity::{
    NewRobot, Robot, RobotPermission, RobotQuery, RobotUpdate, check_robot_name,
};
use harbor_core::model::now_ms;
use harbor_core::rbac::{Action, Resource};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, parse_q, query, time};
use crate::AppState;
use crate::audit::record_now;

const DAY_MS: i64 = 86_400_000;

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

/// Days to an expiry: -1 never, else 1 to 100 years' worth of days.
fn expiry(duration: i64) -> ApiResult<Option<i64>> {
    match duration {
        -1 => Ok(None),
        1..=36_500 => Ok(Some(now_ms() + duration * DAY_MS)),
        other => Err(ApiError::bad_request(format!(
            "invalid duration {other}: use -1 (never expires) or 1 to 36500 days"
        ))),
    }
}

/// Checks the caller may hand out `permissions`: a robot only within its own.
fn within_caller(ctx: &Ctx, permissions: &[RobotPermission]) -> ApiResult<()> {
    if let Principal::Robot { robot, .. } = &ctx.principal
        && !is_subset(permissions, &robot.permissions)
    {
        return Err(ApiError::forbidden(
            "a robot may only grant permissions it holds itself",
        ));
    }
    Ok(())
}

/// Whether the caller may `action` robots of `project_id` (0 = system robots).
async fn authorize(state: &AppState, ctx: &Ctx, project_id: i64, action: Action) -> ApiResult<()> {
    ctx.require_authenticated()?;
    if project_id == 0 {
        let ok = match &ctx.principal {
            Principal::Robot { robot, .. } => {
                robot_system_allows(&robot.permissions, "robot", action.as_str())
            }
            p => p.is_sysadmin(),
        };
        return if ok {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only system administrators may manage system robots",
            ))
        };
    }
    let headers = axum::http::HeaderMap::new();
    let (_, grants) = ctx
        .project(state, &headers, &project_id.to_string())
        .await?;
    ctx.check(&grants, Resource::Robot, action)
}

#[derive(Deserialize)]
pub(crate) struct CreateRobot {
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
    Json(req): Json<CreateRobot>,
) -> ApiResult {
    ctx.require_authenticated()?;
    check_robot_name(&req.name)?;
    if req.description.chars().count() > 1024 {
        return Err(ApiError::bad_request(
            "description is longer than 1024 characters",
        ));
    }
    let level = Level::parse(&req.level)?;
    validate(level, &req.permissions)?;
    let store = state.accounts.store();
    let (stored_name, project_id) = match level {
        Level::Project => {
            let ns = &req.permissions[0].namespace;
            let project = store
                .project_by_name(ns)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("project {ns} not found")))?;
            authorize(&state, &ctx, project.id, Action::Create).await?;
            (format!("{}+{}", project.name, req.name), project.id)
        }
        Level::System => {
            authorize(&state, &ctx, 0, Action::Create).await?;
            for p in req
                .permissions
                .iter()
                .filter(|p| p.kind == "project" && p.namespace != "*")
            {
                if store.project_by_name(&p.namespace).await?.is_none() {
                    return Err(ApiError::not_found(format!(
                        "project {} not found",
                        p.namespace
                    )));
                }
            }
            (req.name.clone(), 0)
        }
    };
    within_caller(&ctx, &req.permissions)?;
    let secret = match req.secret {
        Some(s) => {
            check_policy(&s).map_err(|e| ApiError::bad_request(format!("secret {e}")))?;
            s
        }
        None => generate()?,
    };
    // 0: the system's default lifetime (`robot_token_duration`), as in Harbor.
    let duration = match req.duration {
        0 => state.settings.get().await.robot_days(),
        d => d,
    };
    let robot = store
        .create_robot(&NewRobot {
            name: stored_name,
            description: req.description,
            project_id,
            secret_hash: hash_blocking(secret.clone()).await?,
            disabled: req.disable,
            duration_days: duration,
            expires_ms: expiry(duration)?,
            permissions: req.permissions,
            creator: ctx.principal.name().to_owned(),
            creator_type: match &ctx.principal {
                harbor_auth::Principal::Robot { .. } => "robot".into(),
                _ => "local".into(),
            },
            creator_ref: ctx.principal.account_id().unwrap_or(0),
        })
        .await?;
    let login = state.accounts.robot_login(&robot.name);
    record_now(
        &state,
        Some(project_id).filter(|p| *p != 0),
        ctx.principal.name(),
        "create",
        "robot",
        &login,
    )
    .await;
    let mut resp = (
        StatusCode::CREATED,
        Json(json!({
            "id": robot.id,
            "name": login,
            "secret": secret,
            "creation_time": time(robot.created_ms),
            "expires_at": expires_at(&robot),
        })),
    )
        .into_response();
    if let Ok(v) = format!("/api/v2.0/robots/{}", robot.id).parse() {
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
    match filter.project_id {
        Some(pid) => authorize(&state, &ctx, pid, Action::List).await?,
        None => {
            ctx.require_sysadmin()?;
        }
    }
    let (robots, total) = state.accounts.store().robots(&filter, pg).await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        robots.iter().map(|r| robot_json(&state, r)).collect(),
    ))
}

async fn load(state: &AppState, ctx: &Ctx, id: i64, action: Action) -> ApiResult<Robot> {
    ctx.require_authenticated()?;
    let missing = || ApiError::not_found(format!("robot {id} not found"));
    let robot = state.accounts.store().robot(id).await?;
    let Some(robot) = robot else {
        return Err(missing());
    };
    // A robot may always read and refresh itself.
    let is_self = matches!(&ctx.principal, Principal::Robot { robot: me, .. } if me.id == id);
    if !is_self {
        // Whoever may not even read a robot learns nothing about it: the same 404 as for
        // a robot that does not exist, for system and project robots alike.
        authorize(state, ctx, robot.project_id, Action::Read)
            .await
            .map_err(|e| {
                if matches!(e.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) {
                    missing()
                } else {
                    e
                }
            })?;
    }
    if action != Action::Read && !(is_self && action == Action::Update) {
        authorize(state, ctx, robot.project_id, action).await?;
    }
    if action != Action::Read {
        covers_target(ctx, &robot)?;
    }
    Ok(robot)
}

/// A robot changes (refreshes, enables, extends, edits, deletes) only robots whose every
/// permission it holds itself: otherwise a robot allowed `robot:update` could take over a
/// more powerful one by giving it a secret of its choosing.
fn covers_target(ctx: &Ctx, target: &Robot) -> ApiResult<()> {
    if let Principal::Robot { robot: me, .. } = &ctx.principal
        && me.id != target.id
        && !is_subset(&target.permissions, &me.permissions)
    {
        return Err(ApiError::forbidden(
            "a robot may only change robots whose permissions it holds itself",
        ));
    }
    Ok(())
}

pub(crate) async fn get(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult {
    let robot = load(&state, &ctx, id, Action::Read).await?;
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
    let robot = load(&state, &ctx, id, Action::Update).await?;
    if matches!(&ctx.principal, Principal::Robot { robot: me, .. } if me.id == id)
        && (req.permissions.is_some() || req.duration.is_some() || req.disable == Some(false))
    {
        return Err(ApiError::forbidden("a robot cannot extend its own rights"));
    }
    let level = if robot.is_project_level() {
        Level::Project
    } else {
        Level::System
    };
    if let Some(perms) = &req.permissions {
        validate(level, perms)?;
        if level == Level::Project {
            let project = state.accounts.store().project(robot.project_id).await?;
            if project.map(|p| p.name) != Some(perms[0].namespace.clone()) {
                return Err(ApiError::bad_request(
                    "a project robot's permission must stay in its project",
                ));
            }
        }
        within_caller(&ctx, perms)?;
    }
    let update = RobotUpdate {
        description: req.description,
        disabled: req.disable,
        duration: match req.duration {
            Some(d) => Some((d, expiry(d)?)),
            None => None,
        },
        permissions: req.permissions,
    };
    let updated = state.accounts.store().update_robot(id, &update).await?;
    let login = state.accounts.robot_login(&updated.name);
    record_now(
        &state,
        Some(updated.project_id).filter(|p| *p != 0),
        ctx.principal.name(),
        "update",
        "robot",
        &login,
    )
    .await;
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
    let robot = load(&state, &ctx, id, Action::Update).await?;
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let secret = match req.secret.filter(|s| !s.is_empty()) {
        Some(s) => {
            check_policy(&s).map_err(|e| ApiError::bad_request(format!("secret {e}")))?;
            s
        }
        None => generate()?,
    };
    state
        .accounts
        .store()
        .set_robot_secret(id, &hash_blocking(secret.clone()).await?)
        .await?;
    let login = state.accounts.robot_login(&robot.name);
    record_now(
        &state,
        Some(robot.project_id).filter(|p| *p != 0),
        ctx.principal.name(),
        "update",
        "robot",
        &login,
    )
    .await;
    Ok(Json(json!({ "secret": secret })).into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> ApiResult {
    let robot = load(&state, &ctx, id, Action::Delete).await?;
    state.accounts.store().delete_robot(id).await?;
    let login = state.accounts.robot_login(&robot.name);
    record_now(
        &state,
        Some(robot.project_id).filter(|p| *p != 0),
        ctx.principal.name(),
        "delete",
        "robot",
        &login,
    )
    .await;
    Ok(StatusCode::OK.into_response())
}
