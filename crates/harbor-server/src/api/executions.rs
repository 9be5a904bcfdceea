//! System jobs with Harbor's execution API shape: garbage collection (`/system/gc`), the
//! audit log purge (`/system/purgeaudit`), and ours: the storage check (`/system/fsck`)
//! and the abandoned-upload cleanup (`/system/uploadcleanup`). Each
//! kind has a history, one execution (`GET`, `PUT` = stop), its log and a schedule
//! (`/schedule`: `GET`, `POST`/`PUT` with Harbor's `{"schedule": {"type", "cron"},
//! "parameters": {...}}`; type `Manual` runs now). System administrators only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use harbor_api_model as m;
use harbor_core::gc::{FSCK_JOB_KIND, GcParams, JOB_KIND as GC_JOB_KIND};
use harbor_core::identity::PurgeAuditParams;
use harbor_core::jobs::kinds::{FsckParams, UploadCleanupParams};
use harbor_core::jobs::{Job, Schedule, Trigger};
use harbor_platform::system_jobs::ScheduleSpec;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, query, time};
use crate::AppState;

/// One kind of system job.
pub(crate) trait SystemJob: Send + Sync + 'static {
    /// The job kind.
    const KIND: &'static str;
    /// The name of its one schedule.
    const SCHEDULE: &'static str;
    /// What the audit log calls it.
    const RESOURCE: &'static str;
    /// Validates Harbor's `parameters` object and returns the job's parameters (JSON).
    fn params(parameters: &Map<String, Value>) -> ApiResult<String>;
}

fn decode<T: for<'de> Deserialize<'de> + serde::Serialize>(
    parameters: &Map<String, Value>,
) -> ApiResult<T> {
    serde_json::from_value(Value::Object(parameters.clone()))
        .map_err(|e| ApiError::bad_request(format!("invalid parameters: {e}")))
}

fn encode<T: serde::Serialize>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).map_err(|e| ApiError::from(harbor_core::Error::internal(e)))
}

/// Garbage collection.
pub(crate) struct Gc;

impl SystemJob for Gc {
    const KIND: &'static str = GC_JOB_KIND;
    const SCHEDULE: &'static str = "gc";
    const RESOURCE: &'static str = "garbage_collection";
    fn params(parameters: &Map<String, Value>) -> ApiResult<String> {
        let p: GcParams = decode(parameters)?;
        p.validate()?;
        encode(&p)
    }
}

/// The audit log purge.
pub(crate) struct PurgeAudit;

impl SystemJob for PurgeAudit {
    const KIND: &'static str = harbor_core::identity::PURGE_AUDIT_JOB_KIND;
    const SCHEDULE: &'static str = "purge_audit";
    const RESOURCE: &'static str = "purge_audit";
    fn params(parameters: &Map<String, Value>) -> ApiResult<String> {
        let p: PurgeAuditParams = decode(parameters)?;
        p.validate()?;
        encode(&p)
    }
}

/// The storage consistency check.
pub(crate) struct Fsck;

impl SystemJob for Fsck {
    const KIND: &'static str = FSCK_JOB_KIND;
    const SCHEDULE: &'static str = "fsck";
    const RESOURCE: &'static str = "fsck";
    fn params(parameters: &Map<String, Value>) -> ApiResult<String> {
        let p: FsckParams = decode(parameters)?;
        encode(&p)
    }
}

/// The abandoned-upload cleanup (ours; its schedule is the built-in hourly one).
pub(crate) struct UploadCleanup;

impl SystemJob for UploadCleanup {
    const KIND: &'static str = harbor_core::gc::UPLOAD_CLEANUP_JOB_KIND;
    const SCHEDULE: &'static str = crate::jobs::UPLOAD_CLEANUP_SCHEDULE;
    const RESOURCE: &'static str = "upload_cleanup";
    fn params(parameters: &Map<String, Value>) -> ApiResult<String> {
        let p: UploadCleanupParams = decode(parameters)?;
        encode(&p)
    }
}

/// Scan all (its parameters are ignored, as Harbor ignores them).
pub(crate) struct ScanAll;

impl SystemJob for ScanAll {
    const KIND: &'static str = harbor_platform::scanner::scan_all::JOB_KIND;
    const SCHEDULE: &'static str = harbor_platform::scanner::scan_all::SCHEDULE;
    const RESOURCE: &'static str = "scan_all";
    fn params(_: &Map<String, Value>) -> ApiResult<String> {
        Ok("{}".into())
    }
}

/// Harbor's `ScheduleObj` of a schedule (or of a manual run).
fn schedule_obj(s: Option<&Schedule>) -> m::ScheduleObj {
    match s {
        Some(s) => m::ScheduleObj {
            kind: s.schedule_type.clone(),
            cron: Some(s.cron.clone()),
            next_scheduled_time: s.next_run_ms.map(time),
        },
        None => m::ScheduleObj {
            kind: "Manual".into(),
            ..m::ScheduleObj::default()
        },
    }
}

/// Harbor's `GCHistory` / `ExecHistory`, with our progress, error and run times.
pub(crate) fn history(job: &Job, schedule: Option<&Schedule>) -> m::ExecHistory {
    let progress: Value =
        serde_json::from_str(&job.progress).unwrap_or_else(|_| Value::Object(Map::new()));
    let schedule = if job.trigger == Trigger::Schedule {
        schedule
    } else {
        None
    };
    m::ExecHistory {
        id: job.id,
        job_name: job.kind.clone(),
        job_kind: job.trigger.as_str().to_owned(),
        job_parameters: job.params.clone(),
        schedule: Some(schedule_obj(schedule)),
        job_status: job.status.as_str().to_owned(),
        deleted: false,
        creation_time: time(job.created_at),
        update_time: time(job.updated_at),
        start_time: job.started_at.map(time),
        end_time: job.finished_at.map(time),
        attempts: Some(job.attempts),
        stop_requested: Some(job.stop_requested),
        progress: Some(progress),
        error: job.error.clone(),
    }
}

fn run_id<K: SystemJob>(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("{} execution {id} not found", K::RESOURCE)))
}

/// `GET /system/<kind>`: the runs, newest first.
pub(crate) async fn list_runs<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let jobs = &state.platform.jobs;
    let (runs, total) = jobs.runs(&ctx.principal, K::KIND, pg).await?;
    let schedule = jobs.schedule(&ctx.principal, K::SCHEDULE).await?;
    let items: Vec<m::ExecHistory> = runs.iter().map(|j| history(j, schedule.as_ref())).collect();
    Ok(list(&parts.uri, pg, total, items))
}

/// `GET /system/<kind>/{id}`.
pub(crate) async fn get_run<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let jobs = &state.platform.jobs;
    let job = jobs.run(&ctx.principal, K::KIND, run_id::<K>(&id)?).await?;
    let schedule = jobs.schedule(&ctx.principal, K::SCHEDULE).await?;
    Ok(Json(history(&job, schedule.as_ref())).into_response())
}

/// `PUT /system/<kind>/{id}`: stops a run (a queued one at once, a running one between
/// its steps). A run that already ended is left as it is (`200`, as Harbor answers).
pub(crate) async fn stop_run<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let id = run_id::<K>(&id)?;
    state
        .platform
        .jobs
        .stop(&ctx.principal, K::KIND, id)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /system/<kind>/{id}/log`: the log as text, one line per entry.
pub(crate) async fn run_log<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let id = run_id::<K>(&id)?;
    let (job, lines) = state.platform.jobs.log(&ctx.principal, K::KIND, id).await?;
    let mut text = String::new();
    for (at, line) in lines {
        text.push_str(&time(at));
        text.push_str(" [INFO] ");
        text.push_str(&line);
        text.push('\n');
    }
    if let Some(e) = &job.error {
        text.push_str(&format!(
            "{} [ERROR] {e}\n",
            time(job.finished_at.unwrap_or(job.updated_at))
        ));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// `GET /system/<kind>/schedule`: the schedule (type `None` if there is none).
pub(crate) async fn get_schedule<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
) -> ApiResult {
    let found = state
        .platform
        .jobs
        .schedule(&ctx.principal, K::SCHEDULE)
        .await?;
    let Some(s) = found else {
        return Ok(Json(m::ScheduleBody::none()).into_response());
    };
    Ok(Json(m::ExecHistory {
        id: s.id,
        job_name: s.kind.clone(),
        job_kind: "SCHEDULE".into(),
        job_parameters: s.params.clone(),
        schedule: Some(schedule_obj(Some(&s))),
        job_status: if s.paused { "Paused" } else { "Scheduled" }.into(),
        creation_time: time(s.created_at),
        update_time: time(s.updated_at),
        ..m::ExecHistory::default()
    })
    .into_response())
}

/// `POST /system/<kind>/schedule`: `Manual` starts a run now (201, `Location` of the
/// run; 409 while another run of the kind is queued or running); another type sets the
/// schedule; `None` removes it.
pub(crate) async fn post_schedule<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<m::ScheduleBody>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    let params = K::params(&body.parameters)?;
    let kind = body
        .schedule
        .as_ref()
        .map(|s| s.kind.as_str())
        .unwrap_or("Manual");
    if kind != "Manual" {
        return set_schedule::<K>(&state, &ctx, &body, params, StatusCode::CREATED).await;
    }
    if K::KIND == ScanAll::KIND {
        // A scan-all run is over only when its scans are.
        state
            .platform
            .scans
            .ensure_scan_all_idle(&ctx.principal)
            .await?;
    }
    let job = state
        .platform
        .jobs
        .start(&ctx.principal, K::KIND, params)
        .await?;
    let location = format!("/api/v2.0/system/{}/{}", path_of::<K>(), job.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(m::ExecStarted { id: job.id }),
    )
        .into_response())
}

/// `PUT /system/<kind>/schedule`: sets or (type `None`) removes the schedule.
pub(crate) async fn put_schedule<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<m::ScheduleBody>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    let params = K::params(&body.parameters)?;
    if body.schedule.as_ref().map(|s| s.kind.as_str()) == Some("Manual") {
        return Err(ApiError::bad_request(
            "a Manual run is started with POST, not PUT",
        ));
    }
    set_schedule::<K>(&state, &ctx, &body, params, StatusCode::OK).await
}

fn path_of<K: SystemJob>() -> &'static str {
    match K::SCHEDULE {
        "gc" => "gc",
        "purge_audit" => "purgeaudit",
        crate::jobs::UPLOAD_CLEANUP_SCHEDULE => "uploadcleanup",
        harbor_platform::scanner::scan_all::SCHEDULE => "scanAll",
        _ => "fsck",
    }
}

async fn set_schedule<K: SystemJob>(
    state: &AppState,
    ctx: &Ctx,
    body: &m::ScheduleBody,
    params: String,
    ok: StatusCode,
) -> ApiResult {
    let Some(obj) = &body.schedule else {
        return Err(ApiError::bad_request("schedule.type is required"));
    };
    let jobs = &state.platform.jobs;
    if obj.kind == "None" {
        jobs.remove_schedule(&ctx.principal, K::SCHEDULE, K::KIND)
            .await?;
    } else {
        let spec = ScheduleSpec {
            kind: obj.kind.clone(),
            cron: obj.cron.clone(),
        };
        jobs.set_schedule(&ctx.principal, K::SCHEDULE, K::KIND, &spec, params)
            .await?;
    }
    Ok(ok.into_response())
}
