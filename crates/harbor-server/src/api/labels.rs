//! `/api/v2.0/labels[/{id}]` (Harbor's `Label`) and attaching labels to artifacts
//! (`/projects/{p}/repositories/{r}/artifacts/{reference}/labels[/{label_id}]`).
//!
//! Global labels (scope `g`) are readable by anyone and written by system administrators;
//! project labels (scope `p`) need `label` permissions in their project. Attaching and
//! detaching need `artifact-label` permissions in the artifact's project, and a project
//! label can only go on artifacts of its own project.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use harbor_auth::Grants;
use harbor_core::identity::{Match, Project};
use harbor_core::labels::{Label, LabelQuery, LabelScope, LabelUpdate, NewLabel};
use harbor_core::rbac::{Action, Resource};
use serde::Deserialize;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{list, page, param, query, time};
use super::repositories::{full_name, project};
use super::users::created;
use crate::AppState;

/// Harbor's `Label`.
pub(crate) fn label_model(l: &Label) -> harbor_api_model::Label {
    harbor_api_model::Label {
        id: l.id,
        name: l.name.clone(),
        description: l.description.clone(),
        color: l.color.clone(),
        scope: l.scope.as_str().to_owned(),
        project_id: l.project_id.unwrap_or(0),
        creation_time: time(l.created_ms),
        update_time: time(l.updated_ms),
        deleted: Some(false),
    }
}

/// Harbor's `Label` as a request body.
#[derive(Deserialize)]
pub(crate) struct LabelReq {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    project_id: Option<i64>,
}

/// The project `id` names, hidden from callers who may not read it, with their grants.
async fn project_by_id(state: &AppState, ctx: &Ctx, id: i64) -> ApiResult<(Project, Grants)> {
    ctx.project(state, &HeaderMap::new(), &id.to_string()).await
}

/// Checks that the caller may do `action` on `label`: system administrators for global
/// labels (anyone may read those), `label` permissions in the project for project labels.
async fn authorize(state: &AppState, ctx: &Ctx, label: &Label, action: Action) -> ApiResult<()> {
    match (label.scope, label.project_id) {
        (LabelScope::Global, _) if action == Action::Read => Ok(()),
        (LabelScope::Global, _) => ctx.require_sysadmin(),
        (LabelScope::Project, Some(pid)) => {
            let (_, grants) = project_by_id(state, ctx, pid).await?;
            ctx.check(&grants, Resource::Label, action)
        }
        (LabelScope::Project, None) => Err(ApiError::not_found("label not found")),
    }
}

/// The label of a path, hidden (404) from callers who may not read it.
async fn readable(state: &AppState, ctx: &Ctx, id: &str) -> ApiResult<Label> {
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request("label_id must be a positive integer"))?;
    let label = state.registry.label(id).await?;
    authorize(state, ctx, &label, Action::Read)
        .await
        .map_err(|e| {
            if e.status == StatusCode::UNAUTHORIZED {
                e
            } else {
                ApiError::not_found(format!("label {id} not found"))
            }
        })?;
    Ok(label)
}

/// `GET /labels?scope=g|p&project_id=&name=`: `scope` defaults to `g`; `p` needs a
/// `project_id` whose labels the caller may list. `name` matches as a substring, or
/// exactly in `q=name=...`.
pub(crate) async fn list_labels(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let scope = LabelScope::parse(param(&q, "scope").filter(|s| !s.is_empty()).unwrap_or("g"))?;
    let project_id = match param(&q, "project_id").filter(|s| !s.is_empty()) {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request("project_id must be an integer"))?,
        ),
        None => None,
    };
    let mut filter = LabelQuery {
        scope,
        project_id: None,
        name: param(&q, "name")
            .filter(|s| !s.is_empty())
            .map(|n| Match::Fuzzy(n.to_owned())),
    };
    for (k, v) in super::paging::parse_q(param(&q, "q"))? {
        match k.as_str() {
            "name" => filter.name = Some(v.text(&k)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}"
                )));
            }
        }
    }
    if scope == LabelScope::Project {
        let pid = project_id
            .filter(|id| *id > 0)
            .ok_or_else(|| ApiError::bad_request("project_id is required when scope is p"))?;
        let (project, grants) = project_by_id(&state, &ctx, pid).await?;
        ctx.check(&grants, Resource::Label, Action::List)?;
        filter.project_id = Some(project.id);
    }
    let (labels, total) = state.registry.labels(&filter, pg).await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        labels.iter().map(label_model).collect(),
    ))
}

/// `POST /labels`: 201 with `Location`.
pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<LabelReq>,
) -> ApiResult {
    ctx.require_authenticated()?;
    let scope = LabelScope::parse(req.scope.as_deref().unwrap_or("g"))?;
    let project_id = match scope {
        LabelScope::Global => {
            ctx.require_sysadmin()?;
            if req.project_id.is_some_and(|p| p != 0) {
                return Err(ApiError::bad_request(
                    "a global label belongs to no project: leave project_id out",
                ));
            }
            None
        }
        LabelScope::Project => {
            let pid = req
                .project_id
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::bad_request("a project label needs a project_id"))?;
            let (project, grants) = project_by_id(&state, &ctx, pid).await?;
            ctx.check(&grants, Resource::Label, Action::Create)?;
            Some(project.id)
        }
    };
    let label = state
        .registry
        .create_label(
            ctx.principal.name(),
            &NewLabel {
                name: req.name.unwrap_or_default(),
                description: req.description.unwrap_or_default(),
                color: req.color.unwrap_or_default(),
                scope,
                project_id,
            },
        )
        .await?;
    Ok(created(&format!("/api/v2.0/labels/{}", label.id)))
}

/// `GET /labels/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let label = readable(&state, &ctx, &id).await?;
    Ok(Json(label_model(&label)).into_response())
}

/// `PUT /labels/{id}`: changes the name, description and color (fields left out keep
/// their values; scope and project never change).
pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Json(req): Json<LabelReq>,
) -> ApiResult {
    let label = readable(&state, &ctx, &id).await?;
    authorize(&state, &ctx, &label, Action::Update).await?;
    let update = LabelUpdate {
        name: req.name.unwrap_or(label.name),
        description: req.description.unwrap_or(label.description),
        color: req.color.unwrap_or(label.color),
    };
    state
        .registry
        .update_label(ctx.principal.name(), label.id, &update)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /labels/{id}`: detaches it from every artifact.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let label = readable(&state, &ctx, &id).await?;
    authorize(&state, &ctx, &label, Action::Delete).await?;
    state
        .registry
        .delete_label(ctx.principal.name(), label.id)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /projects/{p}/repositories/{r}/artifacts/{reference}/labels` with
/// `{"id": <label id>}`.
pub(crate) async fn attach(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r, reference)): Path<(String, String, String)>,
    Json(req): Json<LabelReq>,
) -> ApiResult {
    let (project, grants) = project(&state, &ctx, &p).await?;
    ctx.check(&grants, Resource::ArtifactLabel, Action::Create)?;
    let name = full_name(&project, &r)?;
    let id = req
        .id
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request("the body needs the label's id"))?;
    let label = state.registry.label(id).await?;
    state
        .registry
        .attach_label(ctx.principal.name(), &name, project.id, &reference, &label)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /projects/{p}/repositories/{r}/artifacts/{reference}/labels/{label_id}`.
pub(crate) async fn detach(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r, reference, label_id)): Path<(String, String, String, String)>,
) -> ApiResult {
    let (project, grants) = project(&state, &ctx, &p).await?;
    ctx.check(&grants, Resource::ArtifactLabel, Action::Delete)?;
    let name = full_name(&project, &r)?;
    let label_id = label_id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request("label_id must be a positive integer"))?;
    state
        .registry
        .detach_label(ctx.principal.name(), &name, &reference, label_id)
        .await?;
    Ok(StatusCode::OK.into_response())
}
