//! `/api/v2.0/retentions/{id}/executions...`: retention runs (one `RETENTION` job each,
//! Harbor's execution) and their per-repository tasks (kept in the job's progress; a
//! task's log is the job's lines for its repository).

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use harbor_api_model as m;
use harbor_core::jobs::Job;
use harbor_core::jobs::kinds::RetentionProgress;
use harbor_core::rbac::Action;
use harbor_platform::retention::params_of;
use serde::Deserialize;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, query, time};
use super::users::created;
use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/retentions/{id}/executions",
            get(list_runs).post(start_run),
        )
        .route(
            "/retentions/{id}/executions/{eid}",
            axum::routing::patch(stop_run),
        )
        .route("/retentions/{id}/executions/{eid}/tasks", get(tasks))
        .route(
            "/retentions/{id}/executions/{eid}/tasks/{tid}",
            get(task_log),
        )
}

fn number(s: &str, what: &str) -> ApiResult<i64> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_request(format!("the {what} must be a positive integer")))
}

fn progress_of(job: &Job) -> RetentionProgress {
    serde_json::from_str(&job.progress).unwrap_or_default()
}

/// Harbor's `RetentionExecution`.
fn execution(job: &Job) -> m::RetentionExecution {
    let p = params_of(job);
    m::RetentionExecution {
        id: job.id,
        policy_id: p.policy_id,
        start_time: Some(time(job.started_at.unwrap_or(job.created_at))),
        end_time: job.finished_at.map(time),
        status: job.status.as_str().to_owned(),
        trigger: job.trigger.as_str().to_owned(),
        dry_run: p.dry_run,
    }
}

/// The policy and run ids of a path.
fn ids(id: &str, eid: &str) -> ApiResult<(i64, i64)> {
    let id = number(id, "retention id")?;
    let eid = eid
        .parse()
        .map_err(|_| ApiError::not_found(format!("retention execution {eid} not found")))?;
    Ok((id, eid))
}

/// The run `eid` of policy `id`, after checking `action` on the policy's project.
async fn run_of(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    eid: &str,
    action: Action,
) -> ApiResult<Job> {
    let (id, eid) = ids(id, eid)?;
    Ok(state
        .platform
        .retention
        .run(&ctx.principal, id, eid, action)
        .await?)
}

/// `GET /retentions/{id}/executions`: the policy's runs, newest first.
pub(crate) async fn list_runs(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    parts: Parts,
) -> ApiResult {
    let id = number(&id, "retention id")?;
    let pg = page(&query(&parts.uri))?;
    let (runs, total) = state
        .platform
        .retention
        .runs(&ctx.principal, id, pg)
        .await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        runs.iter().map(execution).collect(),
    ))
}

#[derive(Deserialize)]
pub(crate) struct RunBody {
    dry_run: bool,
}

/// `POST /retentions/{id}/executions` with `{"dry_run": bool}`: 201 with `Location`. The
/// body is required (as in Harbor's API): a call without one must not start a real run.
pub(crate) async fn start_run(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Option<Json<RunBody>>,
) -> ApiResult {
    let id = number(&id, "retention id")?;
    // Permission first: whoever may not run the policy learns nothing about the body.
    state
        .platform
        .retention
        .authorised(&ctx.principal, id, Action::Operate)
        .await?;
    let Some(Json(RunBody { dry_run })) = body else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "a body {\"dry_run\": true|false} is required",
        ));
    };
    let job = state
        .platform
        .retention
        .start(&ctx.principal, id, dry_run)
        .await?;
    Ok(created(&format!(
        "/api/v2.0/retentions/{id}/executions/{}",
        job.id
    )))
}

#[derive(Deserialize)]
pub(crate) struct StopBody {
    action: String,
}

/// `PATCH /retentions/{id}/executions/{eid}` with `{"action":"stop"}`.
pub(crate) async fn stop_run(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, eid)): Path<(String, String)>,
    Json(body): Json<StopBody>,
) -> ApiResult {
    if body.action != "stop" {
        return Err(ApiError::bad_request(format!(
            "unsupported action {:?}: only stop",
            body.action
        )));
    }
    let (id, eid) = ids(&id, &eid)?;
    state
        .platform
        .retention
        .stop(&ctx.principal, id, eid)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /retentions/{id}/executions/{eid}/tasks`: one task per repository.
pub(crate) async fn tasks(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, eid)): Path<(String, String)>,
    parts: Parts,
) -> ApiResult {
    let job = run_of(&state, &ctx, &id, &eid, Action::List).await?;
    let pg = page(&query(&parts.uri))?;
    let progress = progress_of(&job);
    let total = progress.tasks.len() as u64;
    let start = usize::try_from((pg.page - 1).saturating_mul(pg.page_size)).unwrap_or(usize::MAX);
    let items: Vec<m::RetentionExecutionTask> = progress
        .tasks
        .iter()
        .skip(start)
        .take(usize::try_from(pg.page_size).unwrap_or(usize::MAX))
        .map(|t| m::RetentionExecutionTask {
            id: t.id,
            execution_id: job.id,
            repository: t.repository.clone(),
            job_id: job.id.to_string(),
            status: t.status.clone(),
            status_code: 0,
            status_revision: 0,
            start_time: t.start_ms.map(time),
            end_time: t.end_ms.map(time),
            total: t.total,
            retained: t.retained,
            deleted: t.deleted,
        })
        .collect();
    Ok(list(&parts.uri, pg, total, items))
}

/// `GET /retentions/{id}/executions/{eid}/tasks/{tid}`: the task's log.
pub(crate) async fn task_log(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, eid, tid)): Path<(String, String, String)>,
) -> ApiResult {
    let (id, eid) = ids(&id, &eid)?;
    let (job, lines) = state
        .platform
        .retention
        .log(&ctx.principal, id, eid)
        .await?;
    let tid = number(&tid, "task id")?;
    let progress = progress_of(&job);
    let task = progress
        .tasks
        .iter()
        .find(|t| t.id == tid)
        .ok_or_else(|| ApiError::not_found(format!("retention task {tid} not found")))?;
    let prefix = format!("[{}] ", task.repository);
    let mut text = String::new();
    for (at, line) in lines {
        if let Some(rest) = line.strip_prefix(&prefix) {
            text.push_str(&format!("{} [INFO] {rest}\n", time(at)));
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}
