//! `/api/v2.0/retentions...`: tag retention policies (Harbor's `RetentionPolicy`), one per
//! project, needing `tag-retention` permissions in the policy's project (project admins,
//! maintainers and developers). The rules are `harbor_platform::retention`'s (a policy's
//! cron trigger becomes a job schedule, `retention:<id>`); runs are in `retention_runs.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use harbor_api_model as m;
use harbor_core::rbac::Action;
use harbor_core::retention::{
    RetentionPolicy, RetentionRule, RetentionScope, RetentionSelector, RetentionTrigger, metadata,
};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::users::created;
use crate::AppState;

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

/// The core's policy from Harbor's model (the same fields).
fn policy_from(p: m::RetentionPolicy) -> RetentionPolicy {
    let selector = |s: m::RetentionSelector| RetentionSelector {
        kind: s.kind,
        decoration: s.decoration,
        pattern: s.pattern,
        extras: s.extras,
    };
    RetentionPolicy {
        id: p.id,
        algorithm: p.algorithm,
        rules: p
            .rules
            .into_iter()
            .map(|r| RetentionRule {
                id: r.id,
                priority: r.priority,
                disabled: r.disabled,
                action: r.action,
                template: r.template,
                params: r.params,
                tag_selectors: r.tag_selectors.into_iter().map(selector).collect(),
                scope_selectors: r
                    .scope_selectors
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().map(selector).collect()))
                    .collect(),
            })
            .collect(),
        trigger: p.trigger.map(|t| RetentionTrigger {
            kind: t.kind,
            settings: t.settings,
            references: t.references,
        }),
        scope: p.scope.map(|s| RetentionScope {
            level: s.level,
            reference: s.reference,
        }),
    }
}

/// Harbor's model of a stored policy.
fn policy_model(p: RetentionPolicy) -> m::RetentionPolicy {
    let selector = |s: RetentionSelector| m::RetentionSelector {
        kind: s.kind,
        decoration: s.decoration,
        pattern: s.pattern,
        extras: s.extras,
    };
    m::RetentionPolicy {
        id: p.id,
        algorithm: p.algorithm,
        rules: p
            .rules
            .into_iter()
            .map(|r| m::RetentionRule {
                id: r.id,
                priority: r.priority,
                disabled: r.disabled,
                action: r.action,
                template: r.template,
                params: r.params,
                tag_selectors: r.tag_selectors.into_iter().map(selector).collect(),
                scope_selectors: r
                    .scope_selectors
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().map(selector).collect()))
                    .collect(),
            })
            .collect(),
        trigger: p.trigger.map(|t| m::RetentionRuleTrigger {
            kind: t.kind,
            settings: t.settings,
            references: t.references,
        }),
        scope: p.scope.map(|s| m::RetentionPolicyScope {
            level: s.level,
            reference: s.reference,
        }),
    }
}

fn policy_id(s: &str) -> ApiResult<i64> {
    s.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request("the retention id must be a positive integer"))
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
    Json(policy): Json<m::RetentionPolicy>,
) -> ApiResult {
    let id = state
        .platform
        .retention
        .create(&ctx.principal, &policy_from(policy))
        .await?;
    Ok(created(&format!("/api/v2.0/retentions/{id}")))
}

/// `GET /retentions/{id}`.
pub(crate) async fn get_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let (policy, _) = state
        .platform
        .retention
        .authorised(&ctx.principal, policy_id(&id)?, Action::Read)
        .await?;
    Ok(Json(policy_model(policy)).into_response())
}

/// `PUT /retentions/{id}`: replaces the policy; it stays in its project.
pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Json(policy): Json<m::RetentionPolicy>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let id = policy_id(&id)?;
    state
        .platform
        .retention
        .update(&ctx.principal, id, &policy_from(policy))
        .await?;
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
    state.platform.retention.delete(&ctx.principal, id).await?;
    Ok(StatusCode::OK.into_response())
}
