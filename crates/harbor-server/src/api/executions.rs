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
use harbor_core::gc::{FSCK_JOB_KIND, GcParams, JOB_KIND as GC_JOB_KIND};
use harbor_core::identity::PurgeAuditParams;
use harbor_core::jobs::kinds::{FsckParams, UploadCleanupParams};
use harbor_core::jobs::{Cron, Job, JobQuery, JobStatus, NewSchedule, Schedule, Trigger};
use harbor_core::model::now_ms;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, query, time};
use crate::AppState;
use crate::audit::record_now;

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

/// Harbor's `ScheduleObj` of a schedule (or of a manual run).
fn schedule_obj(s: Option<&Schedule>) -> Value {
    match s {
        Some(s) => json!({
            "type": s.schedule_type,
            "cron": s.cron,
            "next_scheduled_time": s.next_run_ms.map(time),
        }),
        None => json!({ "type": "Manual" }),
    }
}

/// Harbor's `GCHistory` / `ExecHistory`, with our progress, error and run times.
pub(crate) fn history(job: &Job, schedule: Option<&Schedule>) -> Value {
    let progress: Value = serde_json::from_str(&job.progress).unwrap_or_else(|_| json!({}));
    json!({
        "id": job.id,
        "job_name": job.kind,
        "job_kind": job.trigger.as_str(),
        "job_parameters": job.params,
        "schedule": schedule_obj(if job.trigger == Trigger::Schedule { schedule } else { None }),
        "job_status": job.status.as_str(),
        "deleted": false,
        "creation_time": time(job.created_at),
        "update_time": time(job.updated_at),
        "start_time": job.started_at.map(time),
        "end_time": job.finished_at.map(time),
        "attempts": job.attempts,
        "stop_requested": job.stop_requested,
        "progress": progress,
        "error": job.error,
    })
}

async fn one<K: SystemJob>(state: &AppState, id: &str) -> ApiResult<Job> {
    let missing = || ApiError::not_found(format!("{} execution {id} not found", K::RESOURCE));
    let id: i64 = id.parse().map_err(|_| missing())?;
    match state.jobs.store().job(id).await? {
        Some(j) if j.kind == K::KIND => Ok(j),
        _ => Err(missing()),
    }
}

/// `GET /system/<kind>`: the runs, newest first.
pub(crate) async fn list_runs<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    ctx.require_sysadmin()?;
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let store = state.jobs.store();
    let (jobs, total) = store
        .jobs(
            &JobQuery {
                kind: Some(K::KIND.to_owned()),
                status: None,
            },
            pg,
        )
        .await?;
    let schedule = store.schedule(K::SCHEDULE).await?;
    let items: Vec<Value> = jobs.iter().map(|j| history(j, schedule.as_ref())).collect();
    Ok(list(&parts.uri, pg, total, items))
}

/// `GET /system/<kind>/{id}`.
pub(crate) async fn get_run<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    let job = one::<K>(&state, &id).await?;
    let schedule = state.jobs.store().schedule(K::SCHEDULE).await?;
    Ok(Json(history(&job, schedule.as_ref())).into_response())
}

/// `PUT /system/<kind>/{id}`: stops a run (a queued one at once, a running one between
/// its steps). A run that already ended is left as it is (`200`, as Harbor answers).
pub(crate) async fn stop_run<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    let job = one::<K>(&state, &id).await?;
    if job.status.is_final() {
        return Ok(StatusCode::OK.into_response());
    }
    state.jobs.store().request_stop(job.id, now_ms()).await?;
    record_now(
        &state,
        None,
        ctx.principal.name(),
        "update",
        K::RESOURCE,
        &format!("stop {}", job.id),
    )
    .await;
    Ok(StatusCode::OK.into_response())
}

/// `GET /system/<kind>/{id}/log`: the log as text, one line per entry.
pub(crate) async fn run_log<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    let job = one::<K>(&state, &id).await?;
    let lines = state.jobs.store().job_log(job.id).await?;
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
    ctx.require_sysadmin()?;
    let Some(s) = state.jobs.store().schedule(K::SCHEDULE).await? else {
        return Ok(Json(json!({ "schedule": { "type": "None" } })).into_response());
    };
    Ok(Json(json!({
        "id": s.id,
        "job_name": s.kind,
        "job_kind": "SCHEDULE",
        "job_parameters": s.params,
        "schedule": schedule_obj(Some(&s)),
        "job_status": if s.paused { "Paused" } else { "Scheduled" },
        "creation_time": time(s.created_at),
        "update_time": time(s.updated_at),
    }))
    .into_response())
}

/// Harbor's `Schedule` body.
#[derive(Deserialize)]
pub(crate) struct ScheduleBody {
    schedule: Option<ScheduleObj>,
    #[serde(default)]
    parameters: Map<String, Value>,
}

#[derive(Deserialize)]
struct ScheduleObj {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    cron: Option<String>,
}

/// `POST /system/<kind>/schedule`: `Manual` starts a run now (201, `Location` of the
/// run; 409 while another run of the kind is queued or running); another type sets the
/// schedule; `None` removes it.
pub(crate) async fn post_schedule<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<ScheduleBody>,
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
    let store = state.jobs.store();
    for status in [JobStatus::Pending, JobStatus::Running] {
        let (busy, _) = store
            .jobs(
                &JobQuery {
                    kind: Some(K::KIND.to_owned()),
                    status: Some(status),
                },
                harbor_core::identity::Page {
                    page: 1,
                    page_size: 1,
                },
            )
            .await?;
        if let Some(j) = busy.first() {
            return Err(ApiError::conflict(format!(
                "{} execution {} is already {}",
                K::RESOURCE,
                j.id,
                j.status.as_str().to_lowercase()
            )));
        }
    }
    let job = state.jobs.enqueue(K::KIND, params).await?;
    record_now(
        &state,
        None,
        ctx.principal.name(),
        "create",
        K::RESOURCE,
        &format!("run {}", job.id),
    )
    .await;
    let location = format!("/api/v2.0/system/{}/{}", path_of::<K>(), job.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json!({ "id": job.id })),
    )
        .into_response())
}

/// `PUT /system/<kind>/schedule`: sets or (type `None`) removes the schedule.
pub(crate) async fn put_schedule<K: SystemJob>(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<ScheduleBody>,
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
        _ => "fsck",
    }
}

async fn set_schedule<K: SystemJob>(
    state: &AppState,
    ctx: &Ctx,
    body: &ScheduleBody,
    params: String,
    ok: StatusCode,
) -> ApiResult {
    let Some(obj) = &body.schedule else {
        return Err(ApiError::bad_request("schedule.type is required"));
    };
    let store = state.jobs.store();
    if obj.kind == "None" {
        store.delete_schedule(K::SCHEDULE).await?;
        record_now(
            state,
            None,
            ctx.principal.name(),
            "delete",
            K::RESOURCE,
            "schedule",
        )
        .await;
        return Ok(ok.into_response());
    }
    let cron_text = match obj.kind.as_str() {
        "Hourly" | "Daily" | "Weekly" => Cron::default_for_type(&obj.kind)
            .map(str::to_owned)
            .unwrap_or_default(),
        "Custom" | "Schedule" => obj
            .cron
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| ApiError::bad_request("a Custom schedule needs a cron expression"))?,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown schedule type {other:?}: use Manual, Hourly, Daily, Weekly, Custom or None"
            )));
        }
    };
    let cron = Cron::parse(&cron_text)
        .map_err(|e| ApiError::bad_request(format!("invalid cron {cron_text:?}: {e}")))?;
    let next = cron
        .next_after(now_ms())
        .ok_or_else(|| ApiError::bad_request(format!("the cron {cron_text:?} never fires")))?;
    store
        .put_schedule(&NewSchedule {
            name: K::SCHEDULE.into(),
            kind: K::KIND.into(),
            cron: cron_text.clone(),
            schedule_type: obj.kind.clone(),
            params,
            next_run_ms: Some(next),
            paused: false,
        })
        .await?;
    record_now(
        state,
        None,
        ctx.principal.name(),
        "update",
        K::RESOURCE,
        &format!("schedule {} {cron_text}", obj.kind),
    )
    .await;
    Ok(ok.into_response())
}
