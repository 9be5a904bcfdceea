//! `/api/v2.0/retentions...`: tag retention policies (Harbor's `RetentionPolicy`), one per
//! project, needing `tag-retention` permissions in the policy's project (project admins,
//! maintainers and developers). Validation and storage are in `harbor_core::Registry`;
//! a policy's cron trigger becomes a job schedule (`retention:<id>`); runs are in
//! `retention_runs.rs`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use harbor_auth::Grants;
use harbor_core::identity::Project;
use harbor_core::jobs::kinds::{RETENTION_JOB_KIND, RetentionParams};
use harbor_core::jobs::{Cron, NewSchedule};
use harbor_core::model::now_ms;
use harbor_core::rbac::{Action, Resource};
use harbor_core::retention::{RetentionPolicy, metadata};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::users::created;
use crate::AppState;
use crate::audit::record_now;

/// The retention routes, relative to `/api/v2.0`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/retentions/metadatas", get(metadatas))
        .route("/retentions", post(create))
        .route(
            "/retentions/{id}",
            get(get_policy).put(update).delete(delete),
        )
        .merge(super::retention_runs::routes())
}

/// The job schedule of policy `id`.
pub(crate) fn schedule_name(id: i64) -> String {
    format!("retention:{id}")
}

/// The policy's cron trigger, checked (`None`: manual runs only).
fn trigger_cron(policy: &RetentionPolicy) -> ApiResult<Option<(String, Cron)>> {
    let Some(text) = policy.trigger.as_ref().and_then(|t| t.cron()) else {
        return Ok(None);
    };
    let cron = Cron::parse(text)
        .map_err(|e| ApiError::bad_request(format!("invalid trigger cron {text:?}: {e}")))?;
    Ok(Some((text.to_owned(), cron)))
}

/// Makes the policy's schedule match its trigger.
async fn sync_schedule(state: &AppState, id: i64, cron: Option<(String, Cron)>) -> ApiResult<()> {
    let store = state.jobs.store();
    let Some((text, cron)) = cron else {
        store.delete_schedule(&schedule_name(id)).await?;
        return Ok(());
    };
    let params = serde_json::to_string(&RetentionParams {
        policy_id: id,
        dry_run: false,
    })
    .map_err(|e| ApiError::from(harbor_core::Error::internal(e)))?;
    store
        .put_schedule(&NewSchedule {
            name: schedule_name(id),
            kind: RETENTION_JOB_KIND.into(),
            cron: text,
            schedule_type: "Custom".into(),
            params,
            next_run_ms: cron.next_after(now_ms()),
            paused: false,
        })
        .await?;
    Ok(())
}

fn policy_id(s: &str) -> ApiResult<i64> {
    s.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request("the retention id must be a positive integer"))
}

/// The project with id `project_id`, with the caller's grants; one the caller may not
/// see is answered as missing.
async fn project(state: &AppState, ctx: &Ctx, project_id: i64) -> ApiResult<(Project, Grants)> {
    // By id, whatever `X-Is-Resource-Name` says: `scope.ref` is always an id.
    ctx.project(state, &HeaderMap::new(), &project_id.to_string())
        .await
}

/// The policy `id` and its project, after checking `action` on `tag-retention` there.
pub(crate) async fn authorised(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    action: Action,
) -> ApiResult<(RetentionPolicy, Project)> {
    let policy = state.registry.retention_policy(id).await?;
    // A policy of a project the caller may not see is answered as a missing policy: the
    // error must not name the project.
    let (project, grants) = project(state, ctx, policy.project_id().unwrap_or_default())
        .await
        .map_err(|e| {
            if e.status == StatusCode::NOT_FOUND {
                ApiError::not_found(format!("retention policy {id} not found"))
            } else {
                e
            }
        })?;
    ctx.check(&grants, Resource::TagRetention, action)?;
    Ok((policy, project))
}

async fn audit(state: &AppState, ctx: &Ctx, project: &Project, operation: &str, id: i64) {
    record_now(
        state,
        Some(project.id),
        ctx.principal.name(),
        operation,
        "retention_policy",
        &format!("{}/retention/{id}", project.name),
    )
    .await;
}

/// `GET /retentions/metadatas`: the templates and selectors the portal offers.
pub(crate) async fn metadatas(ctx: Ctx) -> ApiResult {
    ctx.require_authenticated()?;
    Ok(Json(metadata()).into_response())
}

/// `POST /retentions`: 201 with `Location`; the project is the policy's `scope.ref`.
pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(policy): Json<RetentionPolicy>,
) -> ApiResult {
    ctx.require_authenticated()?;
    policy.validate()?;
    let project_id = policy.project_id().unwrap_or_default();
    let (project, grants) =
        project(&state, &ctx, project_id)
            .await
            .map_err(|e| match e.status {
                StatusCode::NOT_FOUND => {
                    ApiError::bad_request(format!("invalid Project id {project_id}"))
                }
                _ => e,
            })?;
    ctx.check(&grants, Resource::TagRetention, Action::Create)?;
    let cron = trigger_cron(&policy)?;
    let id = state.registry.create_retention_policy(&policy).await?;
    sync_schedule(&state, id, cron).await?;
    audit(&state, &ctx, &project, "create", id).await;
    Ok(created(&format!("/api/v2.0/retentions/{id}")))
}

/// `GET /retentions/{id}`.
pub(crate) async fn get_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let (policy, _) = authorised(&state, &ctx, policy_id(&id)?, Action::Read).await?;
    Ok(Json(policy).into_response())
}

/// `PUT /retentions/{id}`: replaces the policy; it stays in its project.
pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Json(policy): Json<RetentionPolicy>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let id = policy_id(&id)?;
    policy.validate()?;
    let (_, project) = authorised(&state, &ctx, id, Action::Update).await?;
    let cron = trigger_cron(&policy)?;
    state.registry.update_retention_policy(id, &policy).await?;
    sync_schedule(&state, id, cron).await?;
    audit(&state, &ctx, &project, "update", id).await;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /retentions/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    ctx.require_authenticated()?;
    let id = policy_id(&id)?;
    let (_, project) = authorised(&state, &ctx, id, Action::Delete).await?;
    state.registry.delete_retention_policy(id).await?;
    state
        .jobs
        .store()
        .delete_schedule(&schedule_name(id))
        .await?;
    audit(&state, &ctx, &project, "delete", id).await;
    Ok(StatusCode::OK.into_response())
}
