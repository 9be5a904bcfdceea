//! The projects list (search, paging, quota bars) and project creation.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::Response;
use futures::future::join_all;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::{ListQuery, PAGE_SIZE, csrf_checked, load};
use crate::portal::Portal;
use crate::portal::backend::enc;
use crate::portal::layout::{at, csrf, empty, page, pager, quota_bar, search_box};
use crate::portal::viewer::{Viewer, redirect_with};

/// `GET /projects?q=&page=`.
pub(crate) async fn list(
    v: Viewer,
    State(p): State<Portal>,
    Query(q): Query<ListQuery>,
) -> Response {
    let page_no = q.page();
    let mut path = format!("/projects?page={page_no}&page_size={PAGE_SIZE}&with_detail=true");
    if !q.q.is_empty() {
        path.push_str(&format!("&name={}", enc(&q.q)));
    }
    let answer = load!(v, p.api.get(&v, &path).await);
    let projects: Vec<harbor_api_model::Project> = load!(v, answer.decode());
    // Quota bars: read straight from the registry for the projects the API just listed
    // (so the caller may see them), one indexed lookup each instead of a full summary.
    let quotas = join_all(projects.iter().map(|pr| {
        let registry = &p.state.registry;
        let id = pr.project_id;
        async move { registry.project_quota(id).await.ok() }
    }))
    .await;
    // Registry endpoints a system administrator may make a proxy cache of.
    let registries: Vec<harbor_api_model::Registry> = if v.user.sysadmin {
        match p.api.get(&v, "/registries?page_size=100").await {
            Ok(a) => a.decode().unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let base = format!("/projects?q={}&", enc(&q.q));
    let body = html! {
        h1 { "Projects" }
        div.actions {
            (search_box("/projects", &q.q, "Filter projects by name"))
        }
        @if projects.is_empty() {
            @if q.q.is_empty() { (empty("No projects yet. Create one below.")) }
            @else { (empty("No project matches this filter.")) }
        } @else {
            div.scroll { table #projects {
                thead { tr { th { "Name" } th { "Access" } th { "Repositories" } th { "Quota" } th.hide-sm { "Created" } } }
                tbody {
                    @for (pr, quota) in projects.iter().zip(&quotas) {
                        tr {
                            td {
                                a href={ "/projects/" (enc(&pr.name)) } { (pr.name) }
                                @if pr.is_proxy_cache() { " " span.badge.proxy { "proxy cache" } }
                            }
                            td { @if pr.is_public() { span.badge.public { "public" } } @else { span.badge.private { "private" } } }
                            td.repos { (pr.repo_count.unwrap_or(0)) }
                            td { @if let Some(q) = quota { (quota_bar(q.used, q.hard)) } }
                            td.hide-sm { (at(&pr.creation_time)) }
                        }
                    }
                }
            } }
            (pager(&base, page_no, PAGE_SIZE, answer.total()))
        }
        section.card {
            h2 { "New project" }
            form.row method="post" action="/projects" #new-project {
                (csrf(&v))
                label { "Name" input name="name" #project-name required pattern="[a-z0-9]+(?:[._-][a-z0-9]+)*" minlength="1" maxlength="255" title="lower-case letters, digits, and . _ - between them"; }
                label.check { input type="checkbox" name="public" value="true"; "Public (anyone may pull)" }
                @if v.user.sysadmin {
                    label { "Storage quota (GiB, empty = default)" input name="quota_gib" inputmode="decimal" size="8"; }
                    label {
                        "Proxy cache of"
                        select name="registry_id" #proxy-registry {
                            option value="" { "(none: a regular project)" }
                            @for r in &registries {
                                option value=(r.id) { (r.name) " (" (r.url) ")" }
                            }
                        }
                    }
                }
                button type="submit" { "Create project" }
            }
        }
    };
    page(Some(&v), "Projects", body)
}

#[derive(Deserialize)]
pub(crate) struct NewProject {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    public: Option<String>,
    #[serde(default)]
    quota_gib: String,
    #[serde(default)]
    registry_id: String,
}

/// Parses a quota field in GiB: empty is "the default", -1 is unlimited.
pub(crate) fn gib(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let n: f64 = s
        .parse()
        .map_err(|_| format!("the quota {s:?} is not a number of GiB"))?;
    if n == -1.0 {
        return Ok(Some(-1));
    }
    if !(0.0..1e9).contains(&n) {
        return Err("the quota must be -1 (unlimited) or a size in GiB".to_owned());
    }
    // Rounded, not truncated: `0.05` is 53687091.2 bytes, and the settings page shows
    // the shortest decimal that reads back as the stored byte count.
    Ok(Some((n * 1024.0 * 1024.0 * 1024.0).round() as i64))
}

/// `POST /projects`.
pub(crate) async fn create(
    v: Viewer,
    State(p): State<Portal>,
    Form(f): Form<NewProject>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let name = f.name.trim().to_owned();
    let mut body = json!({
        "project_name": name,
        "metadata": { "public": if f.public.is_some() { "true" } else { "false" } },
    });
    match gib(&f.quota_gib) {
        Ok(Some(limit)) => body["storage_limit"] = json!(limit),
        Ok(None) => {}
        Err(e) => {
            return redirect_with(
                "/projects",
                Err(crate::portal::backend::Failure::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    e,
                )),
            );
        }
    }
    if let Ok(id) = f.registry_id.trim().parse::<i64>() {
        body["registry_id"] = json!(id);
    }
    match p.api.send(&v, Method::POST, "/projects", Some(body)).await {
        Ok(_) => redirect_with(
            &format!("/projects/{}", enc(&name)),
            Ok(format!("Project {name} created.")),
        ),
        Err(e) => redirect_with("/projects", Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::gib;

    #[test]
    fn quotas_are_read_in_gib() {
        assert_eq!(gib(""), Ok(None));
        assert_eq!(gib("-1"), Ok(Some(-1)));
        assert_eq!(gib("1"), Ok(Some(1 << 30)));
        assert_eq!(gib("0.5"), Ok(Some(1 << 29)));
        assert!(gib("lots").is_err());
        assert!(gib("-2").is_err());
        assert!(gib("NaN").is_err());
        assert!(gib("1e12").is_err());
    }
}
