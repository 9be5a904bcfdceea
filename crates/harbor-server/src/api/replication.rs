//! `/api/v2.0/replication/policies[/{id}]`, `/replication/executions[/{id}[/tasks[/{task_id}/log]]]`:
//! Harbor's replication models. Handlers decode, call one `Replication` method (which
//! checks the caller's system permissions) and encode.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use harbor_api_model::{
    ReplicationExecution, ReplicationFilter, ReplicationPolicy, ReplicationTask,
    ReplicationTrigger, ReplicationTriggerSettings, StartReplicationExecution,
};
use harbor_core::endpoints::Endpoint;
use harbor_core::identity::Match;
use harbor_core::replication::{
    Execution, ExecutionQuery, ExecutionStatus, FilterInput, Policy, PolicyQuery, PolicySettings,
    Task, Trigger, filter_inputs, parse_filters,
};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, parse_q, positive_id, query, time};
use super::registries::registry_model;
use super::users::created;
use crate::AppState;

/// This registry as a policy's side, as Harbor shows it.
fn local_registry(state: &AppState) -> harbor_api_model::Registry {
    harbor_api_model::Registry {
        id: 0,
        name: "Local".into(),
        kind: "harbor".into(),
        url: state.auth.external_url.clone().unwrap_or_default(),
        status: "healthy".into(),
        ..Default::default()
    }
}

/// The registries of `policies`' remote sides, each looked up once, by id.
async fn sides(
    state: &AppState,
    ctx: &Ctx,
    policies: &[Policy],
) -> ApiResult<HashMap<i64, harbor_api_model::Registry>> {
    let mut ids: Vec<i64> = Vec::new();
    for p in policies {
        ids.extend(p.settings.src_registry);
        ids.extend(p.settings.dest_registry);
    }
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    for id in ids {
        let e: Endpoint = state.platform.registries.get(&ctx.principal, id).await?;
        out.insert(id, registry_model(&e));
    }
    Ok(out)
}

fn policy_model(
    state: &AppState,
    sides: &HashMap<i64, harbor_api_model::Registry>,
    p: &Policy,
) -> ReplicationPolicy {
    let s = &p.settings;
    let side = |id: Option<i64>| match id.and_then(|id| sides.get(&id)) {
        Some(r) => r.clone(),
        None => local_registry(state),
    };
    ReplicationPolicy {
        id: p.id,
        name: s.name.clone(),
        description: s.description.clone(),
        src_registry: Some(side(s.src_registry)),
        dest_registry: Some(side(s.dest_registry)),
        dest_namespace: s.dest_namespace.clone(),
        dest_namespace_replace_count: Some(s.dest_namespace_replace_count),
        trigger: Some(ReplicationTrigger {
            kind: s.trigger.kind().into(),
            trigger_settings: Some(ReplicationTriggerSettings {
                cron: match &s.trigger {
                    Trigger::Scheduled(c) => c.clone(),
                    _ => String::new(),
                },
            }),
        }),
        filters: filter_inputs(&s.filters)
            .into_iter()
            .map(|f| ReplicationFilter {
                kind: f.kind,
                value: f.value,
                decoration: f.decoration,
            })
            .collect(),
        replicate_deletion: s.deletion,
        deletion: s.deletion,
        r#override: s.override_,
        enabled: s.enabled,
        creation_time: time(p.created_ms),
        update_time: time(p.updated_ms),
        speed: Some(s.speed_kbps),
        copy_by_chunk: Some(s.copy_by_chunk),
        single_active_replication: Some(s.single_active),
    }
}

/// A policy's settings from Harbor's model. A side with id 0 (or none) is this registry.
fn settings(req: ReplicationPolicy) -> ApiResult<PolicySettings> {
    let side =
        |r: &Option<harbor_api_model::Registry>| r.as_ref().map(|r| r.id).filter(|id| *id > 0);
    let trigger = match &req.trigger {
        Some(t) => Trigger::parse(
            &t.kind,
            t.trigger_settings.as_ref().map_or("", |s| s.cron.as_str()),
        )?,
        None => Trigger::Manual,
    };
    let filters = parse_filters(
        &req.filters
            .into_iter()
            .map(|f| FilterInput {
                kind: f.kind,
                value: f.value,
                decoration: f.decoration,
            })
            .collect::<Vec<_>>(),
    )?;
    Ok(PolicySettings {
        name: req.name,
        description: req.description,
        src_registry: side(&req.src_registry),
        dest_registry: side(&req.dest_registry),
        dest_namespace: req.dest_namespace,
        dest_namespace_replace_count: req.dest_namespace_replace_count.unwrap_or(-1),
        filters,
        trigger,
        deletion: req.deletion || req.replicate_deletion,
        override_: req.r#override,
        enabled: req.enabled,
        // Harbor's UI sends -1 for "unlimited".
        speed_kbps: req.speed.map_or(0, |s| if s == -1 { 0 } else { s }),
        copy_by_chunk: req.copy_by_chunk.unwrap_or(false),
        single_active: req.single_active_replication.unwrap_or(false),
    })
}

/// `GET /replication/policies?name=&q=name=~x`.
pub(crate) async fn list_policies(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let mut filter = PolicyQuery {
        name: param(&q, "name")
            .filter(|s| !s.is_empty())
            .map(|n| Match::Fuzzy(n.to_owned())),
    };
    for (k, v) in parse_q(param(&q, "q"))? {
        match k.as_str() {
            "name" => filter.name = Some(v.text(&k)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}: use name"
                )));
            }
        }
    }
    let (items, total) = state
        .platform
        .replication
        .policies(&ctx.principal, &filter, pg)
        .await?;
    let sides = sides(&state, &ctx, &items).await?;
    let out = items
        .iter()
        .map(|p| policy_model(&state, &sides, p))
        .collect();
    Ok(list(&parts.uri, pg, total, out))
}

/// `POST /replication/policies`: 201 with `Location`.
pub(crate) async fn create_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<ReplicationPolicy>,
) -> ApiResult {
    let p = state
        .platform
        .replication
        .create_policy(&ctx.principal, settings(req)?)
        .await?;
    Ok(created(&format!("/api/v2.0/replication/policies/{}", p.id)))
}

/// `GET /replication/policies/{id}`.
pub(crate) async fn get_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
) -> ApiResult {
    let p = state
        .platform
        .replication
        .policy(&ctx.principal, positive_id(&raw, "policy")?)
        .await?;
    let sides = sides(&state, &ctx, std::slice::from_ref(&p)).await?;
    Ok(Json(policy_model(&state, &sides, &p)).into_response())
}

/// `PUT /replication/policies/{id}`: replaces the policy.
pub(crate) async fn update_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<ReplicationPolicy>,
) -> ApiResult {
    state
        .platform
        .replication
        .update_policy(&ctx.principal, positive_id(&raw, "policy")?, settings(req)?)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /replication/policies/{id}`: 412 while an execution is in progress.
pub(crate) async fn delete_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
) -> ApiResult {
    state
        .platform
        .replication
        .delete_policy(&ctx.principal, positive_id(&raw, "policy")?)
        .await?;
    Ok(StatusCode::OK.into_response())
}

fn execution_model(e: &Execution) -> ReplicationExecution {
    ReplicationExecution {
        id: e.id,
        policy_id: e.policy_id,
        status: e.status.as_str().into(),
        trigger: e.trigger.clone(),
        start_time: time(e.started_ms),
        end_time: e.ended_ms.map(time),
        status_text: e.status_text.clone(),
        total: e.counts.total,
        failed: e.counts.failed,
        succeed: e.counts.succeed,
        in_progress: e.counts.in_progress,
        stopped: e.counts.stopped,
    }
}

fn task_model(t: &Task, job_id: Option<i64>) -> ReplicationTask {
    ReplicationTask {
        id: t.id,
        execution_id: t.execution_id,
        status: t.status.as_str().into(),
        job_id: job_id.map(|j| j.to_string()).unwrap_or_default(),
        operation: t.plan.operation.clone(),
        resource_type: t.plan.resource_type.clone(),
        src_resource: t.src_resource(),
        dst_resource: t.plan.dst_repository.clone(),
        start_time: t.started_ms.map(time),
        end_time: t.ended_ms.map(time),
    }
}

/// `GET /replication/executions?policy_id=&status=&trigger=`.
pub(crate) async fn list_executions(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let policy_id = match param(&q, "policy_id").filter(|s| !s.is_empty()) {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request("policy_id must be an integer"))?,
        ),
        None => None,
    };
    let status = match param(&q, "status").filter(|s| !s.is_empty()) {
        Some(v) => Some(ExecutionStatus::parse(v).ok_or_else(|| {
            ApiError::bad_request("status is InProgress, Succeed, Failed or Stopped")
        })?),
        None => None,
    };
    let query = ExecutionQuery {
        policy_id,
        status,
        trigger: param(&q, "trigger")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    };
    let (items, total) = state
        .platform
        .replication
        .executions(&ctx.principal, &query, pg)
        .await?;
    let items: Vec<ReplicationExecution> = items.iter().map(execution_model).collect();
    Ok(list(&parts.uri, pg, total, items))
}

/// `POST /replication/executions` with `{policy_id}`: 201 with `Location`; 409 while
/// one is in progress, 412 for a disabled policy.
pub(crate) async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<StartReplicationExecution>,
) -> ApiResult {
    let policy_id = positive_id(&req.policy_id.to_string(), "policy")?;
    let e = state
        .platform
        .replication
        .start(&ctx.principal, policy_id)
        .await?;
    Ok(created(&format!(
        "/api/v2.0/replication/executions/{}",
        e.id
    )))
}

/// `GET /replication/executions/{id}`.
pub(crate) async fn get_execution(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
) -> ApiResult {
    let e = state
        .platform
        .replication
        .execution(&ctx.principal, positive_id(&raw, "execution")?)
        .await?;
    Ok(Json(execution_model(&e)).into_response())
}

/// `PUT /replication/executions/{id}`: stops it.
pub(crate) async fn stop(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
) -> ApiResult {
    state
        .platform
        .replication
        .stop(&ctx.principal, positive_id(&raw, "execution")?)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /replication/executions/{id}/tasks?status=&resource_type=` (paged).
pub(crate) async fn tasks(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw): Path<String>,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let (execution, tasks) = state
        .platform
        .replication
        .tasks(&ctx.principal, positive_id(&raw, "execution")?)
        .await?;
    let status = param(&q, "status").filter(|s| !s.is_empty());
    let resource_type = param(&q, "resource_type").filter(|s| !s.is_empty());
    let all: Vec<ReplicationTask> = tasks
        .iter()
        .filter(|t| status.is_none_or(|s| t.status.as_str() == s))
        .filter(|t| resource_type.is_none_or(|r| t.plan.resource_type == r))
        .map(|t| task_model(t, execution.job_id))
        .collect();
    let total = all.len() as u64;
    let items = all
        .into_iter()
        .skip(usize::try_from(pg.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(pg.page_size).unwrap_or(usize::MAX))
        .collect();
    Ok(list(&parts.uri, pg, total, items))
}

/// `GET /replication/executions/{id}/tasks/{task_id}/log`: text, one line per event.
pub(crate) async fn task_log(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((raw, task_raw)): Path<(String, String)>,
) -> ApiResult {
    let lines = state
        .platform
        .replication
        .task_log(
            &ctx.principal,
            positive_id(&raw, "execution")?,
            positive_id(&task_raw, "task")?,
        )
        .await?;
    let mut text = String::new();
    for (at, line) in lines {
        text.push_str(&time(at));
        text.push(' ');
        text.push_str(&line);
        text.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}
