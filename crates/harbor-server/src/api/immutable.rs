//! `/api/v2.0/projects/{p}/immutabletagrules[/{id}]`: a project's tag immutability rules
//! (Harbor's `ImmutableRule`), needing `immutable-tag` permissions in the project
//! (project admins and maintainers). Enforcement is in `harbor_core::Registry`.
//!
//! A rule holds exactly one tag selector (`matches`/`excludes`) and one repository scope
//! selector (`repoMatches`/`repoExcludes`), both of kind `doublestar`: the shape Harbor's
//! portal writes and the only selectors Harbor's matcher reads.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use harbor_api_model as m;
use harbor_core::immutable::{ImmutableRule, RuleSpec, Selector};
use harbor_core::rbac::{Action, Resource};
use serde::Deserialize;
use std::collections::BTreeMap;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, query};
use super::users::created;
use crate::AppState;

const ACTION: &str = "immutable";
const TEMPLATE: &str = "immutable_template";
const KIND: &str = "doublestar";

/// Harbor's `ImmutableSelector`.
#[derive(Deserialize)]
pub(crate) struct SelectorReq {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    decoration: Option<String>,
    #[serde(default)]
    pattern: Option<String>,
}

/// Harbor's `ImmutableRule` as a request body.
#[derive(Deserialize)]
pub(crate) struct RuleReq {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    tag_selectors: Option<Vec<SelectorReq>>,
    #[serde(default)]
    scope_selectors: Option<BTreeMap<String, Vec<SelectorReq>>>,
}

fn selector_model(s: &Selector, matches: &str, excludes: &str) -> m::ImmutableSelector {
    m::ImmutableSelector {
        kind: KIND.into(),
        decoration: if s.exclude { excludes } else { matches }.into(),
        pattern: s.pattern.clone(),
        extras: String::new(),
    }
}

/// Harbor's `ImmutableRule`.
fn rule_model(r: &ImmutableRule) -> m::ImmutableRule {
    let repository = selector_model(&r.spec.repositories, "repoMatches", "repoExcludes");
    m::ImmutableRule {
        id: r.id,
        priority: r.spec.priority,
        disabled: r.spec.disabled,
        action: ACTION.into(),
        template: TEMPLATE.into(),
        params: serde_json::Map::new(),
        tag_selectors: vec![selector_model(&r.spec.tags, "matches", "excludes")],
        scope_selectors: [("repository".to_owned(), vec![repository])].into(),
    }
}

/// One selector of a list that must hold exactly one, with one of two decorations.
fn selector(
    list: &[SelectorReq],
    what: &str,
    matches: &str,
    excludes: &str,
) -> ApiResult<Selector> {
    let [s] = list else {
        return Err(ApiError::bad_request(format!(
            "a rule takes exactly one {what} selector"
        )));
    };
    if s.kind.as_deref().unwrap_or(KIND) != KIND {
        return Err(ApiError::bad_request(format!(
            "{what} selectors must be of kind {KIND:?}"
        )));
    }
    let exclude = match s.decoration.as_deref() {
        Some(d) if d == matches => false,
        Some(d) if d == excludes => true,
        _ => {
            return Err(ApiError::bad_request(format!(
                "the {what} selector's decoration must be {matches:?} or {excludes:?}"
            )));
        }
    };
    let pattern = s.pattern.clone().unwrap_or_default();
    if pattern.is_empty() {
        return Err(ApiError::bad_request(format!(
            "the {what} selector needs a pattern"
        )));
    }
    Ok(Selector { exclude, pattern })
}

/// The rule a request describes; selectors left out keep those of `current` (Harbor
/// toggles `disabled` from a body holding little else).
fn spec(req: &RuleReq, current: Option<&RuleSpec>) -> ApiResult<RuleSpec> {
    if req.action.as_deref().is_some_and(|a| a != ACTION) {
        return Err(ApiError::bad_request(format!(
            "the rule's action must be {ACTION:?}"
        )));
    }
    if req.template.as_deref().is_some_and(|t| t != TEMPLATE) {
        return Err(ApiError::bad_request(format!(
            "the rule's template must be {TEMPLATE:?}"
        )));
    }
    let tags = match (&req.tag_selectors, current) {
        (Some(list), _) => selector(list, "tag", "matches", "excludes")?,
        (None, Some(c)) => c.tags.clone(),
        (None, None) => return Err(ApiError::bad_request("a rule needs tag_selectors")),
    };
    let repositories = match (&req.scope_selectors, current) {
        (Some(scopes), _) => {
            if let Some(other) = scopes.keys().find(|k| *k != "repository") {
                return Err(ApiError::bad_request(format!(
                    "unsupported scope selector {other:?}: use \"repository\""
                )));
            }
            let list = scopes
                .get("repository")
                .map(Vec::as_slice)
                .unwrap_or_default();
            selector(list, "repository", "repoMatches", "repoExcludes")?
        }
        (None, Some(c)) => c.repositories.clone(),
        (None, None) => {
            return Err(ApiError::bad_request(
                "a rule needs scope_selectors.repository",
            ));
        }
    };
    Ok(RuleSpec {
        priority: req
            .priority
            .or(current.map(|c| c.priority))
            .unwrap_or_default(),
        disabled: req
            .disabled
            .or(current.map(|c| c.disabled))
            .unwrap_or_default(),
        repositories,
        tags,
    })
}

fn rule_id(s: &str) -> ApiResult<i64> {
    s.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request("immutable_rule_id must be a positive integer"))
}

/// `GET /projects/{p}/immutabletagrules`.
pub(crate) async fn list_rules(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(p): Path<String>,
) -> ApiResult {
    let (project, grants) = ctx.project(&state, &parts.headers, &p).await?;
    ctx.check(&grants, Resource::ImmutableTag, Action::List)?;
    let pg = page(&query(&parts.uri))?;
    let (rules, total) = state.registry.immutable_rules(project.id, pg).await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        rules.iter().map(rule_model).collect(),
    ))
}

/// `POST /projects/{p}/immutabletagrules`: 201 with `Location`.
pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(p): Path<String>,
    Json(req): Json<RuleReq>,
) -> ApiResult {
    let (project, grants) = ctx.project(&state, &parts.headers, &p).await?;
    ctx.check(&grants, Resource::ImmutableTag, Action::Create)?;
    let spec = spec(&req, None)?;
    let rule = state
        .registry
        .create_immutable_rule(ctx.principal.name(), project.id, &spec)
        .await?;
    Ok(created(&format!(
        "/api/v2.0/projects/{p}/immutabletagrules/{}",
        rule.id
    )))
}

/// `PUT /projects/{p}/immutabletagrules/{id}`: replaces the rule (or only toggles
/// `disabled` when the body carries no selectors).
pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, id)): Path<(String, String)>,
    Json(req): Json<RuleReq>,
) -> ApiResult {
    let id = rule_id(&id)?;
    if req.id.is_some_and(|body| body != 0 && body != id) {
        return Err(ApiError::bad_request(
            "the immutable_rule_id doesn't match the id in the body",
        ));
    }
    let (project, grants) = ctx.project(&state, &parts.headers, &p).await?;
    ctx.check(&grants, Resource::ImmutableTag, Action::Update)?;
    let current = state.registry.immutable_rule(project.id, id).await?;
    let spec = spec(&req, Some(&current.spec))?;
    state
        .registry
        .update_immutable_rule(ctx.principal.name(), project.id, id, &spec)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /projects/{p}/immutabletagrules/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = rule_id(&id)?;
    let (project, grants) = ctx.project(&state, &parts.headers, &p).await?;
    ctx.check(&grants, Resource::ImmutableTag, Action::Delete)?;
    state
        .registry
        .delete_immutable_rule(ctx.principal.name(), project.id, id)
        .await?;
    Ok(StatusCode::OK.into_response())
}
