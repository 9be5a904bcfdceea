//! `/api/v2.0/projects/{p}/metadatas`: a project's metadata keys one by one (the rules
//! are `harbor_core::project_meta`'s; project admins change them, maintainers read them).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use harbor_core::project_meta;
use harbor_core::rbac::{Action, Resource};
use serde_json::{Map, Value};

use super::context::{Ctx, project_ref};
use super::error::{ApiError, ApiResult};
use super::projects::raw_metadata;
use crate::AppState;

fn as_json(m: BTreeMap<String, String>) -> Value {
    Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

async fn retention_id(state: &AppState, project_id: i64) -> ApiResult<Option<i64>> {
    Ok(state
        .registry
        .retention_policy_of_project(project_id)
        .await?
        .map(|p| p.id))
}

/// `GET .../metadatas/`: every key the project has.
pub(crate) async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(p): Path<String>,
) -> ApiResult {
    let (project, grants) = ctx.project(&state, &headers, &p).await?;
    ctx.check(&grants, Resource::Metadata, Action::Read)?;
    let rid = retention_id(&state, project.id).await?;
    Ok(Json(as_json(project_meta::view(&project, rid))).into_response())
}

/// `POST .../metadatas/` `{key: value, ...}`: adds keys; `409` if one is set already.
pub(crate) async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(p): Path<String>,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult {
    let raw = raw_metadata(&body)?;
    let r = project_ref(&headers, &p)?;
    state
        .platform
        .projects
        .add_metadata(&ctx.principal, &r, &raw)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET .../metadatas/{name}`: `{name: value}`, `404` if the project has no such key.
pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((p, name)): Path<(String, String)>,
) -> ApiResult {
    let (project, grants) = ctx.project(&state, &headers, &p).await?;
    ctx.check(&grants, Resource::Metadata, Action::Read)?;
    let rid = retention_id(&state, project.id).await?;
    let all = project_meta::view(&project, rid);
    let value = all
        .get(&name)
        .ok_or_else(|| ApiError::not_found(format!("metadata {name} not found")))?;
    Ok(Json(as_json(BTreeMap::from([(name, value.clone())]))).into_response())
}

/// `PUT .../metadatas/{name}` `{name: value}`: sets one key.
pub(crate) async fn put(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((p, name)): Path<(String, String)>,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult {
    let raw = raw_metadata(&body)?;
    if raw.len() != 1 || !raw.contains_key(&name) {
        return Err(ApiError::bad_request(format!(
            "the body must be {{\"{name}\": <value>}}"
        )));
    }
    let r = project_ref(&headers, &p)?;
    state
        .platform
        .projects
        .set_metadata(&ctx.principal, &r, &raw)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE .../metadatas/{name}`: removes one key (`public` cannot be removed).
pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((p, name)): Path<(String, String)>,
) -> ApiResult {
    let r = project_ref(&headers, &p)?;
    state
        .platform
        .projects
        .remove_metadata(&ctx.principal, &r, &name)
        .await?;
    Ok(StatusCode::OK.into_response())
}
