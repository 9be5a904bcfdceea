//! `/api/v2.0/search` and `/api/v2.0/statistics`: what the caller can see, found by name
//! and counted.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use harbor_api_model as m;
use harbor_auth::Principal;
use harbor_core::identity::{Match, Page, ProjectQuery};
use harbor_core::model::{RepositoryQuery, RepositoryVisibility};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{param, query};
use super::projects::details_model;
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

    let rf = RepositoryQuery {
        visibility: vis,
        name: Some(Match::Fuzzy(term)),
        ..RepositoryQuery::default()
    };
    let (repos, _) = state.registry.list_repositories(&rf, page).await?;
    // Each repository's project, looked up once per distinct project, by name (the
    // look-up authorisation caches).
    let mut public: HashMap<String, bool> = projects
        .iter()
        .map(|d| (d.project.name.clone(), d.project.public))
        .collect();
    let others: Vec<&str> = repos
        .iter()
        .map(|r| r.name.split('/').next().unwrap_or_default())
        .filter(|p| !public.contains_key(*p))
        .collect();
    public.extend(state.platform.projects.public_flags(&others).await?);
    let repository = repos
        .iter()
        .map(|r| {
            let project = r.name.split('/').next().unwrap_or_default();
            m::SearchRepository {
                project_id: r.project_id,
                project_name: project.to_owned(),
                project_public: public.get(project).copied().unwrap_or(false),
                repository_name: r.name.clone(),
                pull_count: r.pull_count,
                artifact_count: r.artifact_count,
            }
        })
        .collect();
    Ok(Json(m::Search {
        project: projects.iter().map(details_model).collect(),
        repository,
    })
    .into_response())
}

/// `GET /statistics` (signed-in callers): public projects and repositories, the private
/// ones the caller is a member of, and for administrators the totals.
pub(crate) async fn statistics(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_authenticated()?;
    let one = Page {
        page: 1,
        page_size: 1,
    };
    let repos = |visibility: RepositoryVisibility| {
        let q = RepositoryQuery {
            visibility,
            ..RepositoryQuery::default()
        };
        let registry = state.registry.clone();
        async move { registry.list_repositories(&q, one).await.map(|r| r.1) }
    };
    let (public_projects, visible_projects) =
        state.platform.projects.counts(&ctx.principal).await?;
    let public_repos = repos(RepositoryVisibility::Public).await?;
    let visible_repos = match visibility(&ctx.principal) {
        RepositoryVisibility::Public => public_repos,
        vis => repos(vis).await?,
    };
    let mut v = m::Statistic {
        public_project_count: public_projects,
        public_repo_count: public_repos,
        private_project_count: visible_projects.saturating_sub(public_projects),
        private_repo_count: visible_repos.saturating_sub(public_repos),
        ..m::Statistic::default()
    };
    if ctx.principal.is_sysadmin() {
        v.total_project_count = Some(visible_projects);
        v.total_repo_count = Some(visible_repos);
        v.total_storage_consumption = Some(state.registry.total_quota_usage().await?);
    }
    Ok(Json(v).into_response())
}
