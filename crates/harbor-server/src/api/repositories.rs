//! `/api/v2.0/repositories` and `/api/v2.0/projects/{p}/repositories[/{r}]`: list, read,
//! update the description, delete.
//!
//! `{r}` is the repository name without its project; a name containing `/` arrives
//! URL-encoded twice (`a%252Fb` for `a/b`), as in Harbor. Reading a repository needs
//! `repository:list` in its project, as in Harbor (public projects grant it to anyone).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use harbor_auth::Principal;
use harbor_core::RepositoryName;
use harbor_core::identity::Project;
use harbor_core::model::{
    RepositoryQuery, RepositoryRecord, RepositorySortKey, RepositoryVisibility,
};
use harbor_core::rbac::{Action, Resource};
use serde::Deserialize;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{QValue, list, page, param, parse_q, parse_time, query, sort_keys, time};
use crate::AppState;

/// Harbor's `Repository`.
fn repository_model(r: &RepositoryRecord) -> harbor_api_model::Repository {
    harbor_api_model::Repository {
        id: r.id,
        project_id: r.project_id,
        name: r.name.to_string(),
        description: r.description.clone(),
        artifact_count: r.artifact_count,
        pull_count: r.pull_count,
        creation_time: time(r.created_ms),
        update_time: time(r.updated_ms),
    }
}

/// `(from, to)` of a `k=[from~to]` time range (either side may be empty).
pub(crate) fn time_range(key: &str, v: QValue) -> ApiResult<(Option<i64>, Option<i64>)> {
    let bound = |s: String| -> ApiResult<Option<i64>> {
        if s.is_empty() {
            Ok(None)
        } else {
            parse_time(&s).map(Some)
        }
    };
    match v {
        QValue::Range(a, b) => Ok((bound(a)?, bound(b)?)),
        QValue::Exact(t) => {
            let t = parse_time(&t)?;
            Ok((Some(t), Some(t)))
        }
        QValue::Fuzzy(_) => Err(ApiError::bad_request(format!(
            "{key} takes a time or a range: [from~to]"
        ))),
    }
}

/// `sort=a,-b`: keys `name`, `creation_time`, `update_time`, `pull_count`, `id`.
fn sort(s: Option<&str>) -> ApiResult<Vec<(RepositorySortKey, bool)>> {
    sort_keys(
        s,
        "repositories",
        &[
            ("name", RepositorySortKey::Name),
            ("creation_time", RepositorySortKey::CreationTime),
            ("update_time", RepositorySortKey::UpdateTime),
            ("pull_count", RepositorySortKey::PullCount),
            ("id", RepositorySortKey::Id),
            ("repository_id", RepositorySortKey::Id),
        ],
    )
}

/// Filters of both listings: `q` with `name` (exact or `~fuzzy`), `project_id`,
/// `creation_time` and `update_time` (`[from~to]`), and `sort`.
fn filter(q: &[(String, String)]) -> ApiResult<RepositoryQuery> {
    let mut f = RepositoryQuery {
        sort: sort(param(q, "sort"))?,
        ..RepositoryQuery::default()
    };
    for (k, v) in parse_q(param(q, "q"))? {
        match k.as_str() {
            "name" => f.name = Some(v.text(&k)?),
            "project_id" => {
                let id = v
                    .exact(&k)?
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_request("project_id must be an integer"))?;
                f.project_id = Some(id);
            }
            "creation_time" => (f.created_from_ms, f.created_to_ms) = time_range(&k, v)?,
            "update_time" => (f.updated_from_ms, f.updated_to_ms) = time_range(&k, v)?,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}"
                )));
            }
        }
    }
    Ok(f)
}

async fn respond(state: &AppState, parts: &Parts, f: &RepositoryQuery) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let (repos, total) = state.registry.list_repositories(f, pg).await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        repos.iter().map(repository_model).collect(),
    ))
}

/// `GET /repositories`: a system administrator sees every repository; a user those of
/// public projects and of projects they are a member of (every role may list
/// repositories); anonymous callers and robots those of public projects, as in Harbor.
pub(crate) async fn list_all(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    let mut f = filter(&query(&parts.uri))?;
    f.visibility = match &ctx.principal {
        p if p.is_sysadmin() => RepositoryVisibility::All,
        Principal::User(u) => RepositoryVisibility::PublicOrMember(u.id),
        _ => RepositoryVisibility::Public,
    };
    respond(&state, &parts, &f).await
}

/// The project named `name` (never read as an id: the path names a project), hidden from
/// callers who may not read it, and the caller's grants in it.
pub(crate) async fn project(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
) -> ApiResult<(Project, harbor_auth::Grants)> {
    let mut by_name = HeaderMap::new();
    by_name.insert("x-is-resource-name", HeaderValue::from_static("true"));
    ctx.project(state, &by_name, name).await
}

/// `GET /projects/{p}/repositories`.
pub(crate) async fn list_project(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(p): Path<String>,
) -> ApiResult {
    let (project, grants) = project(&state, &ctx, &p).await?;
    ctx.check(&grants, Resource::Repository, Action::List)?;
    let mut f = filter(&query(&parts.uri))?;
    f.project_id = Some(project.id);
    respond(&state, &parts, &f).await
}

/// Decodes `%XX` escapes (the second URL-encoding of a repository name).
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The full name of repository `r` (as it arrived in the path) in `project`. A name that
/// cannot exist is answered as a missing repository.
pub(crate) fn full_name(project: &Project, r: &str) -> ApiResult<RepositoryName> {
    let r = percent_decode(r)
        .ok_or_else(|| ApiError::bad_request(format!("invalid repository name {r:?}")))?;
    let full = format!("{}/{r}", project.name);
    RepositoryName::parse(&full)
        .map_err(|_| ApiError::not_found(format!("repository {full} not found")))
}

/// `GET /projects/{p}/repositories/{r}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r)): Path<(String, String)>,
) -> ApiResult {
    let (project, grants) = project(&state, &ctx, &p).await?;
    ctx.check(&grants, Resource::Repository, Action::List)?;
    let name = full_name(&project, &r)?;
    let repo = state.registry.repository(&name).await?;
    Ok(Json(repository_model(&repo)).into_response())
}

/// Harbor's `Repository` as a request body: only `description` is used.
#[derive(Deserialize)]
pub(crate) struct RepositoryReq {
    #[serde(default)]
    description: Option<String>,
}

/// `PUT /projects/{p}/repositories/{r}`: sets the description.
pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r)): Path<(String, String)>,
    Json(req): Json<RepositoryReq>,
) -> ApiResult {
    let (project, grants) = project(&state, &ctx, &p).await?;
    ctx.check(&grants, Resource::Repository, Action::Update)?;
    let name = full_name(&project, &r)?;
    let description = req.description.unwrap_or_default();
    state
        .registry
        .describe_repository(ctx.principal.name(), &name, &description)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /projects/{p}/repositories/{r}`: removes its artifacts and tags.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r)): Path<(String, String)>,
) -> ApiResult {
    let (project, grants) = project(&state, &ctx, &p).await?;
    ctx.check(&grants, Resource::Repository, Action::Delete)?;
    let name = full_name(&project, &r)?;
    state
        .registry
        .delete_repository(ctx.principal.name(), &name)
        .await?;
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_second_encoding() {
        assert_eq!(percent_decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("a%2fb%2Fc").as_deref(), Some("a/b/c"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("bad%+1"), None);
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn sorts() {
        assert_eq!(
            sort(Some("name,-creation_time")).unwrap(),
            vec![
                (RepositorySortKey::Name, false),
                (RepositorySortKey::CreationTime, true)
            ]
        );
        assert!(sort(None).unwrap().is_empty());
        assert!(sort(Some("password")).is_err());
    }
}
