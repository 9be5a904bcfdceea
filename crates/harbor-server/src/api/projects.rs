//! `/api/v2.0/projects`: list, create, check, read, update, delete, summary.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use std::collections::BTreeMap;

use harbor_api_model as m;
use harbor_core::identity::{Project, ProjectQuery};
use harbor_core::project_meta::{self, RawValue};
use harbor_core::rbac::{Action, Resource, Role};
use harbor_platform::projects::{CreateProject, ProjectDetails};
use serde_json::Value;

use super::allowlists;
use super::context::{Ctx, project_ref};
use super::error::{ApiError, ApiResult};
use super::paging::{flag, list, page, param, parse_q, query, time};
use super::users::created;
use crate::AppState;

/// Harbor's `Project`, with the caller's roles. Listings carry an empty `cve_allowlist`
/// (as Harbor's do); [`get`] puts the project's own list there.
pub(crate) fn project_model(p: &Project, roles: &[Role], repo_count: Option<u64>) -> m::Project {
    let mut metadata = m::ProjectMetadata::default();
    for (k, val) in project_meta::view(p, None) {
        match k.as_str() {
            "public" => metadata.public = Some(val),
            _ => {
                metadata.other.insert(k, val);
            }
        }
    }
    m::Project {
        project_id: p.id,
        owner_id: p.owner_id,
        name: p.name.clone(),
        creation_time: time(p.created_ms),
        update_time: time(p.updated_ms),
        deleted: false,
        owner_name: p.owner_name.clone(),
        togglable: true,
        current_user_role_id: roles.first().map(|r| r.id()).unwrap_or(0),
        current_user_role_ids: roles.iter().map(|r| r.id()).collect(),
        repo_count,
        metadata,
        cve_allowlist: Some(m::CveAllowlist {
            project_id: Some(p.id),
            creation_time: Some(time(p.created_ms)),
            update_time: Some(time(p.updated_ms)),
            ..m::CveAllowlist::default()
        }),
        registry_id: p.registry_id,
    }
}

/// Metadata values as sent: Harbor's strings, or JSON booleans and integers; `null` is
/// "not given".
pub(crate) fn raw_metadata<'a>(
    values: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> ApiResult<BTreeMap<String, RawValue>> {
    let mut out = BTreeMap::new();
    for (k, v) in values {
        let raw = match v {
            Value::Null => continue,
            Value::String(s) => RawValue::Text(s.clone()),
            Value::Bool(b) => RawValue::Bool(*b),
            Value::Number(n) if n.is_i64() => RawValue::Int(n.as_i64().unwrap_or_default()),
            other => {
                return Err(ApiError::bad_request(format!(
                    "metadata.{k} must be a string, not {other}"
                )));
            }
        };
        out.insert(k.clone(), raw);
    }
    Ok(out)
}

/// `public=` of the listing filter: `"true"`/`"false"`, booleans accepted too.
fn public_flag(v: &Value) -> ApiResult<Option<bool>> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(ApiError::bad_request(format!(
            "metadata.public must be \"true\" or \"false\", not {other}"
        ))),
    }
}

/// The metadata a `ProjectReq` asks to write (the deprecated top-level `public` folded
/// in); what this server cannot do is refused by name.
fn requested_metadata(req: &m::ProjectReq) -> ApiResult<BTreeMap<String, RawValue>> {
    let mut raw = match &req.metadata {
        Some(values) => raw_metadata(values)?,
        None => BTreeMap::new(),
    };
    if let Some(p) = req.public {
        raw.entry("public".into()).or_insert(RawValue::Bool(p));
    }
    Ok(raw)
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<m::ProjectReq>,
) -> ApiResult {
    let new = CreateProject {
        metadata: requested_metadata(&req)?,
        name: req.project_name.unwrap_or_default(),
        storage_limit: req.storage_limit,
        // Harbor's clients send 0 for "not a proxy cache".
        registry_id: req.registry_id.filter(|id| *id != 0),
        cve_allowlist: req.cve_allowlist.map(allowlists::input),
    };
    let p = state.platform.projects.create(&ctx.principal, new).await?;
    Ok(created(&format!("/api/v2.0/projects/{}", p.id)))
}

/// `HEAD /projects?project_name=`: 200 if the project exists, else 404.
pub(crate) async fn head(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    let q = query(&parts.uri);
    let name = param(&q, "project_name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("project_name is required"))?;
    let found = state.platform.projects.exists(&ctx.principal, name).await?;
    Ok(if found {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
    .into_response())
}

pub(crate) async fn list_projects(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let p = page(&q)?;
    // Harbor's `with_detail` (the details are always there); validated as Harbor does.
    flag(&q, "with_detail", true)?;
    let mut filter = ProjectQuery::default();
    if let Some(n) = param(&q, "name").filter(|n| !n.is_empty()) {
        filter.name = Some(harbor_core::identity::Match::Fuzzy(n.to_owned()));
    }
    if let Some(v) = param(&q, "public").filter(|n| !n.is_empty()) {
        filter.public = public_flag(&Value::String(v.to_owned()))?;
    }
    for (k, v) in parse_q(param(&q, "q"))? {
        match k.as_str() {
            "name" => filter.name = Some(v.text(&k)?),
            "public" => filter.public = public_flag(&Value::String(v.exact(&k)?.to_owned()))?,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}"
                )));
            }
        }
    }
    let (projects, total) = state
        .platform
        .projects
        .list(&ctx.principal, filter, p)
        .await?;
    Ok(list(
        &parts.uri,
        p,
        total,
        projects.iter().map(details_model).collect(),
    ))
}

/// Harbor's `Project` of a listing entry.
pub(crate) fn details_model(d: &ProjectDetails) -> m::Project {
    project_model(&d.project, &d.roles, Some(d.repo_count))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> ApiResult {
    let r = project_ref(&headers, &reference)?;
    let d = state.platform.projects.get(&ctx.principal, &r).await?;
    let mut v = details_model(&d);
    if let Some(list) = &d.cve_allowlist {
        v.cve_allowlist = Some(allowlists::model(list));
    }
    // Harbor's `metadata.retention_id`: the project's tag retention policy, if any.
    if let Some(policy) = state
        .registry
        .retention_policy_of_project(d.project.id)
        .await?
    {
        v.metadata.retention_id = Some(policy.id.to_string());
    }
    Ok(Json(v).into_response())
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Json(req): Json<m::ProjectReq>,
) -> ApiResult {
    let r = project_ref(&headers, &reference)?;
    let metadata = requested_metadata(&req)?;
    state
        .platform
        .projects
        .update(
            &ctx.principal,
            &r,
            req.project_name.as_deref(),
            &metadata,
            req.cve_allowlist.map(allowlists::input),
        )
        .await?;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> ApiResult {
    let r = project_ref(&headers, &reference)?;
    state.platform.projects.delete(&ctx.principal, &r).await?;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn is_deletable(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> ApiResult {
    let r = project_ref(&headers, &reference)?;
    let d = state
        .platform
        .projects
        .deletable(&ctx.principal, &r)
        .await?;
    Ok(Json(m::ProjectDeletable {
        deletable: d.deletable,
        message: d.message,
    })
    .into_response())
}

pub(crate) async fn summary(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> ApiResult {
    let r = project_ref(&headers, &reference)?;
    let (p, grants, s) = state.platform.projects.summary(&ctx.principal, &r).await?;
    let mut v = m::ProjectSummary {
        repo_count: s.repo_count,
        ..m::ProjectSummary::default()
    };
    // Member counts only for those who may list members, as Harbor does.
    if grants.allows(Resource::Member, Action::List) {
        let count = |r: Role| {
            Some(
                s.members_by_role
                    .iter()
                    .find(|(x, _)| *x == r)
                    .map_or(0, |(_, n)| *n),
            )
        };
        v.project_admin_count = count(Role::ProjectAdmin);
        v.maintainer_count = count(Role::Maintainer);
        v.developer_count = count(Role::Developer);
        v.guest_count = count(Role::Guest);
        v.limited_guest_count = count(Role::LimitedGuest);
    }
    if grants.allows(Resource::Quota, Action::Read)
        && let Some(q) = state.registry.find_project_quota(p.id).await?
    {
        v.quota = Some(m::ProjectSummaryQuota {
            hard: [("storage".to_owned(), q.hard)].into(),
            used: [("storage".to_owned(), q.used)].into(),
        });
    }
    Ok(Json(v).into_response())
}
