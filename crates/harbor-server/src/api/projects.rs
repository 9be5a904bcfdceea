//! `/api/v2.0/projects`: list, create, check, read, update, delete, summary.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use harbor_auth::Principal;
use harbor_auth::principal::robot_system_allows;
use std::collections::BTreeMap;

use harbor_core::identity::{Project, ProjectQuery, check_project_name};
use harbor_core::project_meta::{self, RawValue};
use harbor_core::rbac::{Action, Resource, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, parse_q, query, time};
use super::users::created;
use crate::AppState;
use crate::audit::record_now;

/// Harbor's `Project`, with the caller's roles.
pub(crate) fn project_json(p: &Project, roles: &[Role], repo_count: Option<u64>) -> Value {
    let mut metadata = serde_json::Map::new();
    for (k, val) in project_meta::view(p, None) {
        metadata.insert(k, Value::String(val));
    }
    let mut v = json!({
        "project_id": p.id,
        "name": p.name,
        "owner_id": p.owner_id,
        "owner_name": p.owner_name,
        "creation_time": time(p.created_ms),
        "update_time": time(p.updated_ms),
        "deleted": false,
        "togglable": true,
        "current_user_role_id": roles.first().map(|r| r.id()).unwrap_or(0),
        "current_user_role_ids": roles.iter().map(|r| r.id()).collect::<Vec<_>>(),
        "metadata": metadata,
        // No CVE allowlist entries until scanning exists (creating one is refused).
        "cve_allowlist": {
            "project_id": p.id,
            "items": [],
            "creation_time": time(p.created_ms),
            "update_time": time(p.updated_ms),
        },
    });
    if let Some(n) = repo_count {
        v["repo_count"] = json!(n);
    }
    v
}

async fn roles_of(state: &AppState, ctx: &Ctx, p: &Project) -> ApiResult<Vec<Role>> {
    Ok(match ctx.principal.user_id() {
        Some(uid) => state.accounts.store().roles(p.id, uid).await?,
        None => Vec::new(),
    })
}

/// Metadata values as sent: Harbor's strings, or JSON booleans and integers; `null` is
/// "not given".
pub(crate) fn raw_metadata(
    m: &serde_json::Map<String, Value>,
) -> ApiResult<BTreeMap<String, RawValue>> {
    let mut out = BTreeMap::new();
    for (k, v) in m {
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

#[derive(Deserialize)]
pub(crate) struct ProjectReq {
    #[serde(default)]
    project_name: Option<String>,
    #[serde(default)]
    public: Option<bool>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
    /// Bytes, -1 = unlimited; the configured default when absent.
    #[serde(default)]
    storage_limit: Option<i64>,
    #[serde(default)]
    cve_allowlist: Option<Value>,
    #[serde(default)]
    registry_id: Option<i64>,
}

impl ProjectReq {
    /// The metadata to write (the deprecated top-level `public` folded in), validated;
    /// what this server cannot do is refused by name.
    fn metadata(&self) -> ApiResult<BTreeMap<String, RawValue>> {
        if self.registry_id.is_some() {
            return Err(ApiError::bad_request(
                "registry_id is not supported yet: this server has no proxy cache projects",
            ));
        }
        if let Some(list) = &self.cve_allowlist {
            let items = list.get("items").and_then(Value::as_array);
            if items.is_some_and(|i| !i.is_empty()) {
                return Err(ApiError::bad_request(
                    "cve_allowlist items are not supported yet: this server has no \
                     vulnerability scanning",
                ));
            }
        }
        let mut raw = match &self.metadata {
            Some(m) => raw_metadata(m)?,
            None => BTreeMap::new(),
        };
        if let Some(p) = self.public {
            raw.entry("public".into()).or_insert(RawValue::Bool(p));
        }
        // Everything checked now, before anything is written.
        project_meta::validate_all(&raw)?;
        Ok(raw)
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<ProjectReq>,
) -> ApiResult {
    ctx.require_authenticated()?;
    if !may_create_projects(&state, &ctx.principal).await {
        return Err(ApiError::forbidden(
            "only system administrators may create projects (project_creation_restriction)",
        ));
    }
    let owner_id = match &ctx.principal {
        Principal::User(u) => u.id,
        Principal::Robot { robot, .. }
            if robot_system_allows(&robot.permissions, "project", "create") =>
        {
            // Owned by the bootstrap admin: robots cannot own projects.
            state
                .accounts
                .store()
                .user_by_name(harbor_auth::accounts::ADMIN)
                .await?
                .map(|u| u.id)
                .unwrap_or(0)
        }
        _ => return Err(ApiError::forbidden("not allowed to create projects")),
    };
    let name = req.project_name.clone().unwrap_or_default();
    check_project_name(&name)?;
    let mut metadata = req.metadata()?;
    let public = match metadata.remove("public") {
        Some(v) => project_meta::validate("public", &v)? == "true",
        None => false,
    };
    if let Some(limit) = req.storage_limit {
        harbor_core::quota::validate_limit(limit)?;
    }
    // Only system administrators choose another limit than the default (as in Harbor).
    let limit = req.storage_limit.filter(|_| ctx.principal.is_sysadmin());
    let p = create_project(&state, &ctx.principal, &name, owner_id, public, limit).await?;
    if !metadata.is_empty() {
        project_meta::update(state.accounts.store().as_ref(), &p, &metadata).await?;
    }
    Ok(created(&format!("/api/v2.0/projects/{}", p.id)))
}

/// Whether `principal` may create projects under the run-time setting
/// `project_creation_restriction` (robots are judged by their own permissions).
pub(crate) async fn may_create_projects(state: &AppState, principal: &Principal) -> bool {
    principal.is_sysadmin()
        || matches!(principal, Principal::Robot { .. })
        || !state.settings.get().await.admin_only_projects
}

/// Creates a project owned by `owner_id` on behalf of `by`, with its storage limit
/// (`limit`, else the `storage_per_project` setting, else the configured default), and
/// records it: the one place projects are created (the API, and a push that creates its
/// project).
pub(crate) async fn create_project(
    state: &AppState,
    by: &Principal,
    name: &str,
    owner_id: i64,
    public: bool,
    limit: Option<i64>,
) -> harbor_core::Result<Project> {
    let p = state
        .accounts
        .store()
        .create_project(name, owner_id, public)
        .await?;
    // Created with the configured default; a chosen or stored one replaces it.
    if let Some(limit) = limit.or(state.settings.get().await.storage_per_project) {
        state.registry.set_project_quota_limit(p.id, limit).await?;
    }
    record_now(state, Some(p.id), by.name(), "create", "project", &p.name).await;
    Ok(p)
}

/// `HEAD /projects?project_name=`: 200 if the project exists, else 404.
pub(crate) async fn head(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    ctx.require_authenticated()?;
    let q = query(&parts.uri);
    let name = param(&q, "project_name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("project_name is required"))?;
    Ok(match state.accounts.store().project_by_name(name).await? {
        Some(_) => StatusCode::OK,
        None => StatusCode::NOT_FOUND,
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
    if !ctx.principal.is_sysadmin() {
        match &ctx.principal {
            Principal::User(u) => filter.visible_to = Some(u.id),
            // Anonymous callers and robots list public projects.
            _ => {
                if filter.public == Some(false) {
                    return Ok(list(&parts.uri, p, 0, Vec::<Value>::new()));
                }
                filter.public = Some(true);
            }
        }
    }
    let store = state.accounts.store();
    let (projects, total) = store.projects(&filter, p).await?;
    let items = projects_json(store.as_ref(), &ctx, &projects).await?;
    Ok(list(&parts.uri, p, total, items))
}

/// Harbor's `Project` for each of a page of projects, with the caller's roles and the
/// repository counts (one query each for the whole page).
pub(crate) async fn projects_json(
    store: &dyn harbor_core::ports::IdentityStore,
    ctx: &Ctx,
    projects: &[Project],
) -> ApiResult<Vec<Value>> {
    let ids: Vec<i64> = projects.iter().map(|p| p.id).collect();
    let mut roles: std::collections::HashMap<i64, Vec<Role>> = Default::default();
    if let Some(uid) = ctx.principal.user_id() {
        for (pid, role) in store.roles_in_projects(uid, &ids).await? {
            roles.entry(pid).or_default().push(role);
        }
    }
    let repos = store.project_repository_counts(&ids).await?;
    Ok(projects
        .iter()
        .map(|p| {
            let roles = roles.get(&p.id).map_or(&[][..], Vec::as_slice);
            project_json(p, roles, Some(repos.get(&p.id).copied().unwrap_or(0)))
        })
        .collect())
}

pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> ApiResult {
    let (p, _) = ctx.project(&state, &headers, &reference).await?;
    let roles = roles_of(&state, &ctx, &p).await?;
    let repos = state
        .accounts
        .store()
        .project_repository_count(&p.name)
        .await?;
    let mut v = project_json(&p, &roles, Some(repos));
    // Harbor's `metadata.retention_id`: the project's tag retention policy, if any.
    if let Some(policy) = state.registry.retention_policy_of_project(p.id).await? {
        v["metadata"]["retention_id"] = json!(policy.id.to_string());
    }
    Ok(Json(v).into_response())
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Json(req): Json<ProjectReq>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &headers, &reference).await?;
    ctx.check(&grants, Resource::Project, Action::Update)?;
    if let Some(n) = &req.project_name
        && n != &p.name
    {
        return Err(ApiError::bad_request("a project cannot be renamed"));
    }
    let metadata = req.metadata()?;
    if !metadata.is_empty() {
        ctx.check(&grants, Resource::Metadata, Action::Update)?;
        project_meta::update(state.accounts.store().as_ref(), &p, &metadata).await?;
    }
    record_now(
        &state,
        Some(p.id),
        ctx.principal.name(),
        "update",
        "project",
        &p.name,
    )
    .await;
    Ok(StatusCode::OK.into_response())
}

async fn deletable(state: &AppState, p: &Project) -> ApiResult<(bool, String)> {
    let repos = state
        .accounts
        .store()
        .project_repository_count(&p.name)
        .await?;
    Ok(if repos > 0 {
        (
            false,
            format!("the project contains {repos} repositories: delete them first"),
        )
    } else {
        (true, String::new())
    })
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &headers, &reference).await?;
    ctx.check(&grants, Resource::Project, Action::Delete)?;
    let (ok, why) = deletable(&state, &p).await?;
    if !ok {
        return Err(ApiError::precondition(why));
    }
    state.accounts.store().delete_project(p.id).await?;
    record_now(
        &state,
        Some(p.id),
        ctx.principal.name(),
        "delete",
        "project",
        &p.name,
    )
    .await;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn is_deletable(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &headers, &reference).await?;
    ctx.check(&grants, Resource::Project, Action::Delete)?;
    let (ok, message) = deletable(&state, &p).await?;
    Ok(Json(json!({"deletable": ok, "message": message})).into_response())
}

pub(crate) async fn summary(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &headers, &reference).await?;
    let s = state.accounts.store().project_summary(&p).await?;
    let mut v = json!({ "repo_count": s.repo_count });
    // Member counts only for those who may list members, as Harbor does.
    if grants.allows(Resource::Member, Action::List) {
        let count = |r: Role| {
            s.members_by_role
                .iter()
                .find(|(x, _)| *x == r)
                .map_or(0, |(_, n)| *n)
        };
        v["project_admin_count"] = json!(count(Role::ProjectAdmin));
        v["maintainer_count"] = json!(count(Role::Maintainer));
        v["developer_count"] = json!(count(Role::Developer));
        v["guest_count"] = json!(count(Role::Guest));
        v["limited_guest_count"] = json!(count(Role::LimitedGuest));
    }
    if grants.allows(Resource::Quota, Action::Read)
        && let Some(q) = state.registry.find_project_quota(p.id).await?
    {
        v["quota"] = json!({ "hard": { "storage": q.hard }, "used": { "storage": q.used } });
    }
    Ok(Json(v).into_response())
}
