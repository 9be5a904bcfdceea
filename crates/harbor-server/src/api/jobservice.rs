//! `/api/v2.0/jobservice/...` and `/schedules`: the job queue as Harbor's job service
//! dashboard shows it (queues with pending counts, one job's log, stopping a job, the
//! schedules). System administrators only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use harbor_api_model as m;
use harbor_core::gc::{FSCK_JOB_KIND, JOB_KIND as GC_JOB_KIND, UPLOAD_CLEANUP_JOB_KIND};
use harbor_core::identity::PURGE_AUDIT_JOB_KIND;
use harbor_core::jobs::kinds::RETENTION_JOB_KIND;
use harbor_core::model::now_ms;
use serde::Deserialize;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::time;
use crate::AppState;

/// The job kinds this server runs.
const KINDS: [&str; 5] = [
    GC_JOB_KIND,
    RETENTION_JOB_KIND,
    PURGE_AUDIT_JOB_KIND,
    UPLOAD_CLEANUP_JOB_KIND,
    FSCK_JOB_KIND,
];

/// `GET /jobservice/queues`: each kind with its queued (`count`) and running jobs.
pub(crate) async fn queues(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    let counts = state.platform.jobs.queues(&ctx.principal, &KINDS).await?;
    let out: Vec<m::JobQueue> = counts
        .into_iter()
        .map(|(kind, pending, running)| m::JobQueue {
            job_type: kind,
            count: pending,
            running,
            paused: false,
        })
        .collect();
    Ok(Json(out).into_response())
}

/// `GET /jobservice/pools`: this process's worker pool, if it runs one (replicas share
/// the queue; one started with `--no-jobs` has none).
pub(crate) async fn pools(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_sysadmin()?;
    let pools: Vec<m::WorkerPool> = state
        .jobs
        .pool()
        .map(|(workers, started_ms)| m::WorkerPool {
            pid: i64::from(std::process::id()),
            worker_pool_id: "local".into(),
            start_at: time(started_ms),
            heartbeat_at: time(now_ms()),
            concurrency: i64::try_from(workers).unwrap_or(i64::MAX),
            host: hostname(),
        })
        .into_iter()
        .collect();
    Ok(Json(pools).into_response())
}

/// This machine's name, as the kernel knows it.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

fn job_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("job {id} not found")))
}

/// `GET /jobservice/jobs/{id}/log`.
pub(crate) async fn job_log(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let id = job_id(&id)?;
    let (_, lines) = state.platform.jobs.job_log(&ctx.principal, id).await?;
    let mut text = String::new();
    for (at, line) in lines {
        text.push_str(&format!("{} [INFO] {line}\n", time(at)));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// Harbor's `ActionRequest`.
#[derive(Deserialize)]
pub(crate) struct Action {
    action: String,
}

/// `PUT /jobservice/jobs/{id}` with `{"action":"stop"}`.
pub(crate) async fn act_on_job(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Option<Json<Action>>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    // Harbor's call has no body (it stops); `{"action": "stop"}` is accepted too.
    if let Some(Json(body)) = &body
        && body.action != "stop"
    {
        return Err(ApiError::bad_request(format!(
            "unsupported action {:?}: only stop",
            body.action
        )));
    }
    let id = job_id(&id)?;
    state.platform.jobs.stop_job(&ctx.principal, id).await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /schedules`: every schedule.
pub(crate) async fn schedules(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    let all = state.platform.jobs.schedules(&ctx.principal).await?;
    let out: Vec<m::ScheduleTask> = all
        .iter()
        .map(|s| m::ScheduleTask {
            id: s.id,
            vendor_type: s.kind.clone(),
            // Harbor's vendor id is the retention policy's id, -1 for system jobs.
            vendor_id: s
                .name
                .strip_prefix("retention:")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(-1),
            cron: s.cron.clone(),
            update_time: time(s.updated_at),
            name: s.name.clone(),
            schedule_type: s.schedule_type.clone(),
            next_scheduled_time: s.next_run_ms.map(time),
            paused: s.paused,
            extra_attrs: serde_json::from_str(&s.params).unwrap_or_default(),
        })
        .collect();
    Ok(Json(out).into_response())
}

/// `GET /schedules/{job_type}/paused`: whether every schedule of a kind is paused.
pub(crate) async fn paused(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(kind): Path<String>,
) -> ApiResult {
    let all = state.platform.jobs.schedules(&ctx.principal).await?;
    let of_kind: Vec<_> = all.iter().filter(|s| s.kind == kind).collect();
    Ok(Json(m::SchedulerStatus {
        paused: !of_kind.is_empty() && of_kind.iter().all(|s| s.paused),
    })
    .into_response())
}
