//! `/api/v2.0/search` and `/api/v2.0/statistics`: what the caller can see, found by name
//! and counted.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use harbor_auth::Principal;
use harbor_core::identity::{Match, Page, ProjectQuery};
use harbor_core::model::{RepositoryQuery, RepositoryVisibility};
use serde_json::{Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{param, query};
use super::projects::details_json;
use crate::AppState;

/// Most projects and most repositories one search returns (Harbor's search has no paging).
const SEARCH_LIMIT: u64 = 100;

/// What the caller may see: everything, public projects plus its own, or public only.
fn visibility(principal: &Principal) -> RepositoryVisibility {
    match principal {
        p if p.is_sysadmin() => RepositoryVisibility::All,
        Principal::User(u) => RepositoryVisibility::PublicOrMember(u.id),
        _ => RepositoryVisibility::Public,
    }
}

fn project_filter(visibility: RepositoryVisibility) -> ProjectQuery {
    let mut f = ProjectQuery::default();
    match visibility {
        RepositoryVisibility::All => {}
        RepositoryVisibility::PublicOrMember(user) => f.visible_to = Some(user),
        RepositoryVisibility::Public => f.public = Some(true),
    }
    f
}

/// `GET /search?q=`: projects and repositories whose names contain `q` (case-insensitive)
/// among those the caller can see; anonymous callers and robots see public ones.
pub(crate) async fn search(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    let q = query(&parts.uri);
    let term = param(&q, "q").unwrap_or_default().trim().to_owned();
    if term.is_empty() {
        return Err(ApiError::bad_request("q is required"));
    }
    let vis = visibility(&ctx.principal);
    let page = Page {
        page: 1,
        page_size: SEARCH_LIMIT,
    };
    let pf = ProjectQuery {
        name: Some(Match::Fuzzy(term.clone())),
        ..ProjectQuery::default()
    };
    let (projects, _) = state
        .platform
        .projects
        .list(&ctx.principal, pf, page)
        .await?;
    let store = state.accounts.store();
    let rf = RepositoryQuery {
        visibility: vis,
        name: Some(Match::Fuzzy(term)),
        ..RepositoryQuery::default()
    };
    let (repos, _) = state.registry.list_repositories(&rf, page).await?;
    // Each repository's project, looked up once per distinct project, by name (the
    // look-up authorisation caches).
    let mut public: HashMap<i64, bool> = projects
        .iter()
        .map(|d| (d.project.id, d.project.public))
        .collect();
    for r in &repos {
        if public.contains_key(&r.project_id) {
            continue;
        }
        let name = r.name.split('/').next().unwrap_or_default();
        if let Some(p) = store.project_by_name(name).await? {
            public.insert(p.id, p.public);
        }
    }
    let repository: Vec<Value> = repos
        .iter()
        .map(|r| {
            json!({
                "project_id": r.project_id,
                "project_name": r.name.split('/').next().unwrap_or_default(),
                "project_public": public.get(&r.project_id).copied().unwrap_or(false),
                "repository_name": r.name,
                "pull_count": r.pull_count,
                "artifact_count": r.artifact_count,
            })
        })
        .collect();
    let project: Vec<Value> = projects.iter().map(details_json).collect();
    Ok(Json(json!({ "project": project, "repository": repository })).into_response())
}

/// `GET /statistics` (signed-in callers): public projects and repositories, the private
/// ones the caller is a member of, and for administrators the totals.
pub(crate) async fn statistics(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_authenticated()?;
    let store = state.accounts.store();
    let one = Page {
        page: 1,
        page_size: 1,
    };
    let projects = |f: ProjectQuery| async move { store.projects(&f, one).await.map(|r| r.1) };
    let repos = |visibility: RepositoryVisibility| {
        let q = RepositoryQuery {
            visibility,
            ..RepositoryQuery::default()
        };
        let registry = state.registry.clone();
        async move { registry.list_repositories(&q, one).await.map(|r| r.1) }
    };
    let public_projects = projects(ProjectQuery {
        public: Some(true),
        ..ProjectQuery::default()
    })
    .await?;
    let public_repos = repos(RepositoryVisibility::Public).await?;
    let vis = visibility(&ctx.principal);
    let (visible_projects, visible_repos) = match vis {
        RepositoryVisibility::Public => (public_projects, public_repos),
        vis => (projects(project_filter(vis)).await?, repos(vis).await?),
    };
    let mut v = json!({
        "public_project_count": public_projects,
        "public_repo_count": public_repos,
        "private_project_count": visible_projects.saturating_sub(public_projects),
        "private_repo_count": visible_repos.saturating_sub(public_repos),
    });
    if ctx.principal.is_sysadmin() {
        v["total_project_count"] = json!(visible_projects);
        v["total_repo_count"] = json!(visible_repos);
        v["total_storage_consumption"] = json!(state.registry.total_quota_usage().await?);
    }
    Ok(Json(v).into_response())
}
