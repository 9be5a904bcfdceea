//! Global search (the box in every page's header): projects and repositories whose
//! names contain the term, among those the viewer can see (`GET /search?q=`).

use axum::extract::{Query, State};
use axum::response::Response;
use harbor_api_model as m;
use maud::html;

use super::{ListQuery, load};
use crate::portal::Portal;
use crate::portal::backend::enc;
use crate::portal::layout::{empty, page, search_box};
use crate::portal::viewer::Viewer;

/// `GET /search?q=`.
pub(crate) async fn search(
    v: Viewer,
    State(p): State<Portal>,
    Query(q): Query<ListQuery>,
) -> Response {
    let term = q.q.trim();
    let found: Option<m::Search> = if term.is_empty() {
        None
    } else {
        let answer = load!(v, p.api.get(&v, &format!("/search?q={}", enc(term))).await);
        Some(load!(v, answer.decode()))
    };
    let body = html! {
        h1 { "Search" }
        (search_box("/search", term, "Search projects and repositories"))
        @match &found {
            None => { (empty("Type part of a project or repository name.")) }
            Some(f) => {
                h2 { "Projects" }
                @if f.project.is_empty() { (empty("No project matches.")) } @else {
                    div.scroll { table #search-projects {
                        thead { tr { th { "Name" } th { "Access" } th { "Repositories" } } }
                        tbody { @for pr in &f.project { tr {
                            td { a href={ "/projects/" (enc(&pr.name)) } { (pr.name) } }
                            td { @if pr.is_public() { span.badge.public { "public" } } @else { span.badge.private { "private" } } }
                            td { (pr.repo_count.unwrap_or(0)) }
                        } } }
                    } }
                }
                h2 { "Repositories" }
                @if f.repository.is_empty() { (empty("No repository matches.")) } @else {
                    div.scroll { table #search-repositories {
                        thead { tr { th { "Name" } th { "Project" } th { "Artifacts" } th { "Pulls" } } }
                        tbody { @for r in &f.repository { tr {
                            td { a href={ "/repo?name=" (enc(&r.repository_name)) } { (r.repository_name) } }
                            td { a href={ "/projects/" (enc(&r.project_name)) } { (r.project_name) } }
                            td { (r.artifact_count) }
                            td { (r.pull_count) }
                        } } }
                    } }
                }
                p.small { "At most 100 projects and 100 repositories are shown." }
            }
        }
    };
    page(Some(&v), "Search", body)
}
