//! `/api/v2.0/projects/{p}/webhook/...`: a project's webhook policies (Harbor's
//! `WebhookPolicy`), their executions and tasks (one delivery each), task logs, the last
//! trigger per event type and the supported types; `POST …/policies/{id}/test` (ours)
//! sends a test event. Rules, permissions and sending are `harbor_platform::webhook`'s.

use axum::extract::{Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use harbor_api_model as m;
use harbor_core::webhook::{
    Delivery, DeliveryStatus, EventType, NotifyType, PayloadFormat, Policy,
};
use harbor_platform::webhook::{MASK, PolicyInput, TargetInput};

use super::context::{Ctx, project_ref};
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, positive_id, query, time};
use super::users::created;
use crate::AppState;

/// The webhook routes, relative to `/api/v2.0`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/projects/{p}/webhook/policies",
            get(list_policies).post(create),
        )
        .route(
            "/projects/{p}/webhook/policies/{id}",
            get(get_policy).put(update).delete(delete),
        )
        .route("/projects/{p}/webhook/policies/{id}/test", post(test))
        .route(
            "/projects/{p}/webhook/policies/{id}/executions",
            get(executions),
        )
        .route(
            "/projects/{p}/webhook/policies/{id}/executions/{eid}/tasks",
            get(tasks),
        )
        .route(
            "/projects/{p}/webhook/policies/{id}/executions/{eid}/tasks/{tid}/log",
            get(task_log),
        )
        .route("/projects/{p}/webhook/lasttrigger", get(last_trigger))
        .route("/projects/{p}/webhook/events", get(events))
}

/// Harbor's model of a stored policy (auth headers masked).
pub(crate) fn policy_model(p: &Policy) -> m::WebhookPolicy {
    m::WebhookPolicy {
        id: p.id,
        name: p.settings.name.clone(),
        description: p.settings.description.clone(),
        project_id: p.project_id,
        targets: p
            .settings
            .targets
            .iter()
            .map(|t| m::WebhookTargetObject {
                kind: t.kind.as_str().into(),
                address: t.address.clone(),
                auth_header: t.auth_header.as_ref().map(|_| MASK.to_owned()),
                skip_cert_verify: t.skip_cert_verify,
                payload_format: (t.kind == NotifyType::Http)
                    .then(|| t.payload_format.as_str().to_owned()),
            })
            .collect(),
        event_types: p
            .settings
            .event_types
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        creator: p.creator.clone(),
        creation_time: Some(time(p.created_ms)),
        update_time: Some(time(p.updated_ms)),
        enabled: p.settings.enabled,
    }
}

/// The policy a request describes.
fn input(req: m::WebhookPolicy) -> ApiResult<PolicyInput> {
    let mut targets = Vec::with_capacity(req.targets.len());
    for t in req.targets {
        let kind = match t.kind.as_str() {
            "" => NotifyType::Http,
            k => NotifyType::parse(k).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unsupported webhook target type {k:?}: use \"http\" or \"slack\""
                ))
            })?,
        };
        let payload_format = match t.payload_format.as_deref() {
            None | Some("") => PayloadFormat::Default,
            Some(f) => PayloadFormat::parse(f).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unsupported payload format {f:?}: use \"Default\" or \"CloudEvents\""
                ))
            })?,
        };
        if kind == NotifyType::Slack && payload_format != PayloadFormat::Default {
            return Err(ApiError::bad_request(
                "slack targets take no payload format",
            ));
        }
        targets.push(TargetInput {
            kind,
            address: t.address,
            auth_header: t.auth_header,
            skip_cert_verify: t.skip_cert_verify,
            payload_format,
        });
    }
    let event_types = req
        .event_types
        .iter()
        .map(|t| {
            EventType::parse(t)
                .ok_or_else(|| ApiError::bad_request(format!("unsupported event type {t:?}")))
        })
        .collect::<ApiResult<_>>()?;
    Ok(PolicyInput {
        name: req.name,
        description: req.description,
        targets,
        event_types,
        enabled: req.enabled,
    })
}

/// Harbor's `Execution` of a delivery.
fn execution_model(policy: &Policy, d: &Delivery) -> m::Execution {
    let slack = policy
        .settings
        .targets
        .get(d.spec.target as usize)
        .is_some_and(|t| t.kind == NotifyType::Slack);
    let count = |s: DeliveryStatus| i64::from(d.status == s);
    m::Execution {
        id: d.id,
        vendor_type: if slack { "SLACK" } else { "WEBHOOK" }.into(),
        vendor_id: policy.id,
        status: d.status.as_str().into(),
        status_message: d.status_text.clone(),
        metrics: Some(m::Metrics {
            task_count: 1,
            success_task_count: count(DeliveryStatus::Success),
            error_task_count: count(DeliveryStatus::Error),
            pending_task_count: count(DeliveryStatus::Pending),
            running_task_count: count(DeliveryStatus::Running),
            scheduled_task_count: 0,
            stopped_task_count: count(DeliveryStatus::Stopped),
        }),
        trigger: "EVENT".into(),
        extra_attrs: [
            ("event_type".to_owned(), d.spec.event_type.as_str().into()),
            ("payload".to_owned(), d.spec.payload.clone().into()),
        ]
        .into(),
        start_time: time(d.created_ms),
        end_time: d.ended_ms.map(time),
    }
}

/// Harbor's `Task` of a delivery.
fn task_model(policy: &Policy, d: &Delivery) -> m::Task {
    let address = policy
        .settings
        .targets
        .get(d.spec.target as usize)
        .map(|t| t.address.clone())
        .unwrap_or_default();
    m::Task {
        id: d.id,
        execution_id: d.id,
        status: d.status.as_str().into(),
        status_message: d.status_text.clone(),
        run_count: i32::try_from(d.attempts).unwrap_or(i32::MAX),
        extra_attrs: [
            ("address".to_owned(), address.into()),
            ("id".to_owned(), d.spec.uuid.clone().into()),
        ]
        .into(),
        creation_time: time(d.created_ms),
        update_time: time(d.updated_ms),
        start_time: d.started_ms.map(time),
        end_time: d.ended_ms.map(time),
    }
}

fn policy_id(raw: &str) -> ApiResult<i64> {
    positive_id(raw, "webhook_policy_id")
}

/// `GET /projects/{p}/webhook/policies`.
async fn list_policies(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(p): Path<String>,
) -> ApiResult {
    let r = project_ref(&parts.headers, &p)?;
    let pg = page(&query(&parts.uri))?;
    let (policies, total) = state
        .platform
        .webhooks
        .policies(&ctx.principal, &r, pg)
        .await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        policies.iter().map(policy_model).collect(),
    ))
}

/// `POST /projects/{p}/webhook/policies`: 201 with `Location`.
async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(p): Path<String>,
    Json(req): Json<m::WebhookPolicy>,
) -> ApiResult {
    let r = project_ref(&parts.headers, &p)?;
    let policy = state
        .platform
        .webhooks
        .create(&ctx.principal, &r, input(req)?)
        .await?;
    Ok(created(&format!(
        "/api/v2.0/projects/{p}/webhook/policies/{}",
        policy.id
    )))
}

/// `GET /projects/{p}/webhook/policies/{id}`.
async fn get_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, id)): Path<(String, String)>,
) -> ApiResult<Json<m::WebhookPolicy>> {
    let r = project_ref(&parts.headers, &p)?;
    let policy = state
        .platform
        .webhooks
        .policy(&ctx.principal, &r, policy_id(&id)?)
        .await?;
    Ok(Json(policy_model(&policy)))
}

/// `PUT /projects/{p}/webhook/policies/{id}`: 200 with no body, as Harbor answers.
async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, id)): Path<(String, String)>,
    Json(req): Json<m::WebhookPolicy>,
) -> ApiResult<()> {
    let r = project_ref(&parts.headers, &p)?;
    state
        .platform
        .webhooks
        .update(&ctx.principal, &r, policy_id(&id)?, input(req)?)
        .await?;
    Ok(())
}

/// `DELETE /projects/{p}/webhook/policies/{id}`.
async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, id)): Path<(String, String)>,
) -> ApiResult<()> {
    let r = project_ref(&parts.headers, &p)?;
    state
        .platform
        .webhooks
        .delete(&ctx.principal, &r, policy_id(&id)?)
        .await?;
    Ok(())
}

/// `POST /projects/{p}/webhook/policies/{id}/test`: one test event to each target.
async fn test(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<m::WebhookTestResult>>> {
    let r = project_ref(&parts.headers, &p)?;
    let results = state
        .platform
        .webhooks
        .test(&ctx.principal, &r, policy_id(&id)?)
        .await?;
    Ok(Json(
        results
            .into_iter()
            .map(|(address, success, message)| m::WebhookTestResult {
                address,
                success,
                message,
            })
            .collect(),
    ))
}

/// `GET /projects/{p}/webhook/policies/{id}/executions` (`?status=`), newest first.
async fn executions(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, id)): Path<(String, String)>,
) -> ApiResult {
    let r = project_ref(&parts.headers, &p)?;
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let status = match param(&q, "status").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown status {s:?}: use Pending, Running, Success, Error or Stopped"
            ))
        })?),
    };
    let (policy, deliveries, total) = state
        .platform
        .webhooks
        .executions(&ctx.principal, &r, policy_id(&id)?, status, pg)
        .await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        deliveries
            .iter()
            .map(|d| execution_model(&policy, d))
            .collect(),
    ))
}

/// `GET /projects/{p}/webhook/policies/{id}/executions/{eid}/tasks`: the one task.
async fn tasks(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, id, eid)): Path<(String, String, String)>,
) -> ApiResult {
    let r = project_ref(&parts.headers, &p)?;
    let (policy, d) = state
        .platform
        .webhooks
        .execution(
            &ctx.principal,
            &r,
            policy_id(&id)?,
            positive_id(&eid, "execution_id")?,
        )
        .await?;
    let pg = page(&query(&parts.uri))?;
    Ok(list(&parts.uri, pg, 1, vec![task_model(&policy, &d)]))
}

/// `GET …/executions/{eid}/tasks/{tid}/log`: one line per attempt.
async fn task_log(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, id, eid, tid)): Path<(String, String, String, String)>,
) -> ApiResult {
    let r = project_ref(&parts.headers, &p)?;
    let eid = positive_id(&eid, "execution_id")?;
    if positive_id(&tid, "task_id")? != eid {
        return Err(ApiError::not_found(format!("webhook task {tid} not found")));
    }
    let lines = state
        .platform
        .webhooks
        .log(&ctx.principal, &r, policy_id(&id)?, eid)
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

/// `GET /projects/{p}/webhook/lasttrigger`.
async fn last_trigger(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(p): Path<String>,
) -> ApiResult<Json<Vec<m::WebhookLastTrigger>>> {
    let r = project_ref(&parts.headers, &p)?;
    let triggers = state
        .platform
        .webhooks
        .last_triggers(&ctx.principal, &r)
        .await?;
    Ok(Json(
        triggers
            .iter()
            .map(|t| m::WebhookLastTrigger {
                policy_name: t.policy.settings.name.clone(),
                event_type: t.event_type.as_str().into(),
                enabled: t.policy.settings.enabled,
                creation_time: time(t.policy.created_ms),
                last_trigger_time: t.last_ms.map(time),
            })
            .collect(),
    ))
}

/// `GET /projects/{p}/webhook/events`.
async fn events(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(p): Path<String>,
) -> ApiResult<Json<m::SupportedWebhookEventTypes>> {
    let r = project_ref(&parts.headers, &p)?;
    state
        .platform
        .webhooks
        .supported(&ctx.principal, &r)
        .await?;
    Ok(Json(m::SupportedWebhookEventTypes {
        event_type: EventType::ALL.iter().map(|t| t.as_str().into()).collect(),
        notify_type: vec!["http".into(), "slack".into()],
        payload_formats: vec![
            m::PayloadFormat {
                notify_type: "http".into(),
                formats: vec!["Default".into(), "CloudEvents".into()],
            },
            m::PayloadFormat {
                notify_type: "slack".into(),
                formats: vec!["Default".into()],
            },
        ],
    }))
}
