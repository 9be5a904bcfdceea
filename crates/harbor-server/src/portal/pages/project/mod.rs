//! A project's page and its tabs: summary, repositories, members, robot accounts,
//! policies (tag immutability and retention), labels, webhooks, logs and settings.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use harbor_api_model as m;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::{
    Confirm, ListQuery, PAGE_SIZE, RobotForm, csrf_checked, load, projects, robots_path, term,
};
use crate::portal::Portal;
use crate::portal::backend::{Answer, Failure, enc};
use crate::portal::layout::{
    action_button, at, bytes, csrf, dash, empty, page, pager, quota_bar, search_box, tabs,
};
use crate::portal::perms::{self, Perms};
use crate::portal::viewer::{Viewer, redirect_with};
use harbor_core::rbac::{Action, Resource};

mod labels;
mod members;
mod policies;
mod robots;
mod settings;
mod signatures;
mod vulnerability;
mod webhooks;

use labels::*;
use members::*;
use policies::*;
use robots::*;
use settings::*;
use signatures::*;
use vulnerability::*;

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route(
            "/projects/{p}",
            get(|Path(p): Path<String>| async move {
                Redirect::to(&format!("/projects/{}/repositories", enc(&p)))
            }),
        )
        .route("/projects/{p}/summary", get(summary))
        .route("/projects/{p}/repositories", get(repositories))
        .route("/projects/{p}/members", get(members).post(add_member))
        .route("/projects/{p}/members/group", post(add_group_member))
        .route("/projects/{p}/members/{mid}/role", post(set_role))
        .route("/projects/{p}/members/{mid}/remove", post(remove_member))
        .route("/projects/{p}/robots", get(robots).post(create_robot))
        .route("/projects/{p}/robots/{id}/delete", post(delete_robot))
        .route("/projects/{p}/policies", get(policies))
        .route("/projects/{p}/immutable", post(add_rule))
        .route("/projects/{p}/immutable/{id}/delete", post(delete_rule))
        .route("/projects/{p}/retention", post(set_retention))
        .route("/projects/{p}/retention/run", post(run_retention))
        .route("/projects/{p}/labels", get(labels).post(create_label))
        .route("/projects/{p}/labels/{id}/delete", post(delete_label))
        .route("/projects/{p}/logs", get(logs))
        .route("/projects/{p}/settings", get(settings).post(save_settings))
        .route("/projects/{p}/vulnerability", post(save_vulnerability))
        .route("/projects/{p}/signatures", post(save_signatures))
        .route("/projects/{p}/signature-keys", post(add_signature_key))
        .route(
            "/projects/{p}/signature-keys/{id}/delete",
            post(delete_signature_key),
        )
        .route("/projects/{p}/delete", post(delete_project))
        .merge(webhooks::routes())
}

/// The project record, its summary (quota, counts) and what the viewer may do in it.
struct Head {
    project: m::Project,
    summary: m::ProjectSummary,
    perms: Perms,
}

impl Head {
    fn name(&self) -> &str {
        &self.project.name
    }
    fn id(&self) -> i64 {
        self.project.project_id
    }
    /// The caller's role: 1 admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest.
    fn role(&self) -> i64 {
        self.project.current_user_role_id
    }
    /// The storage quota: (used, hard) bytes, hard -1 for unlimited.
    fn quota(&self) -> (i64, i64) {
        let q = self.summary.quota.as_ref();
        let get = |l: Option<&m::ResourceList>, default| {
            l.and_then(|l| l.get("storage").copied()).unwrap_or(default)
        };
        (get(q.map(|q| &q.used), 0), get(q.map(|q| &q.hard), -1))
    }
    /// Whether the viewer may do `action` on `resource` in this project.
    fn can(&self, resource: Resource, action: Action) -> bool {
        self.perms.can(resource, action)
    }
    /// Whether the Policies tab has anything the viewer may see.
    fn sees_policies(&self) -> bool {
        self.can(Resource::ImmutableTag, Action::List)
            || self.can(Resource::TagRetention, Action::Read)
    }
}

async fn head(p: &Portal, v: &Viewer, name: &str) -> Result<Head, Failure> {
    let base = format!("/projects/{}", enc(name));
    let summary_path = format!("{base}/summary");
    let (project, summary, perms) = tokio::join!(
        p.api.get(v, &base),
        p.api.get(v, &summary_path),
        perms::load(p, v, name)
    );
    Ok(Head {
        project: project?.decode()?,
        summary: summary.and_then(|a| a.decode()).unwrap_or_default(),
        perms,
    })
}

fn role_name(id: i64) -> &'static str {
    match id {
        1 => "Project admin",
        2 => "Developer",
        3 => "Guest",
        4 => "Maintainer",
        5 => "Limited guest",
        _ => "—",
    }
}

const ROLES: [(i64, &str); 5] = [
    (1, "Project admin"),
    (4, "Maintainer"),
    (2, "Developer"),
    (3, "Guest"),
    (5, "Limited guest"),
];

/// The project title, quota bar and tabs around a tab's content.
fn frame(v: &Viewer, h: &Head, tab: &str, content: Markup) -> Response {
    let name = h.name();
    let base = format!("/projects/{}", enc(name));
    let mut items = vec![
        ("Summary", format!("{base}/summary"), tab == "summary"),
        (
            "Repositories",
            format!("{base}/repositories"),
            tab == "repositories",
        ),
    ];
    if h.can(Resource::Member, Action::List) {
        items.push(("Members", format!("{base}/members"), tab == "members"));
    }
    if h.can(Resource::Robot, Action::List) {
        items.push(("Robot accounts", format!("{base}/robots"), tab == "robots"));
    }
    if h.sees_policies() {
        items.push(("Policies", format!("{base}/policies"), tab == "policies"));
    }
    if h.can(Resource::Label, Action::List) {
        items.push(("Labels", format!("{base}/labels"), tab == "labels"));
    }
    if h.can(Resource::NotificationPolicy, Action::List) {
        items.push(("Webhooks", format!("{base}/webhooks"), tab == "webhooks"));
    }
    if h.can(Resource::Log, Action::List) {
        items.push(("Logs", format!("{base}/logs"), tab == "logs"));
    }
    if h.can(Resource::Project, Action::Update) {
        items.push((
            "Configuration",
            format!("{base}/settings"),
            tab == "settings",
        ));
    }
    let (used, hard) = h.quota();
    let body = html! {
        div.crumbs { a href="/projects" { "Projects" } " / " }
        div.actions {
            h1 #project-title { (name) }
            @if h.project.is_public() { span.badge.public { "public" } } @else { span.badge.private { "private" } }
            span.small { (role_name(h.role())) }
        }
        @if h.summary.quota.is_some() {
            div.grid {
                div.card.stat { "Repositories" b { (h.summary.repo_count) } }
                div.card.stat { "Storage" (quota_bar(used, hard)) }
            }
        }
        (tabs(&items))
        (content)
    };
    page(Some(v), name, body)
}

/// A tab the viewer's role does not include, opened by its address: the project's frame
/// with a message saying so (403), instead of a bare error page.
fn not_allowed(v: &Viewer, h: &Head, tab: &str, what: &str, needs: &str) -> Response {
    let role = match h.role() {
        0 if v.user.sysadmin => "system administrator",
        0 => "no role",
        id => role_name(id),
    };
    let content = html! {
        div.card #not-allowed role="status" {
            h2 { "Not available with your role" }
            p { "Your role in this project (" (role) ") does not include " (what) ". " (needs) }
        }
    };
    let mut resp = frame(v, h, tab, content);
    *resp.status_mut() = StatusCode::FORBIDDEN;
    resp
}

/// `GET /projects/{p}/summary`: Harbor's project summary (repositories, quota, members
/// by role for those who may list members) and the artifacts in its repositories.
async fn summary(v: Viewer, State(p): State<Portal>, Path(name): Path<String>) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    // Artifacts: summed over the repositories (the summary has no such count); the first
    // 100 repositories, marked `+` when there are more.
    let path = format!("/projects/{}/repositories?page_size=100", enc(&name));
    let artifacts = match p.api.get(&v, &path).await {
        Ok(a) => {
            let more = a.total() > a.items().len() as u64;
            a.decode::<Vec<m::Repository>>().ok().map(|repos| {
                let n: u64 = repos.iter().map(|r| r.artifact_count).sum();
                format!("{n}{}", if more { "+" } else { "" })
            })
        }
        Err(_) => None,
    };
    let s = &h.summary;
    let roles = [
        ("Project admins", s.project_admin_count),
        ("Maintainers", s.maintainer_count),
        ("Developers", s.developer_count),
        ("Guests", s.guest_count),
        ("Limited guests", s.limited_guest_count),
    ];
    let members = roles.iter().any(|(_, n)| n.is_some());
    let (used, hard) = h.quota();
    let content = html! {
        div.grid #project-summary {
            div.card.stat #summary-repositories { "Repositories" b { (s.repo_count) } }
            div.card.stat #summary-artifacts { "Artifacts" b { (artifacts.as_deref().unwrap_or("—")) } }
            @if s.quota.is_some() {
                div.card.stat #summary-quota { "Storage used" b { (bytes(used)) }
                    span.small { "of " (if hard < 0 { "unlimited".to_owned() } else { bytes(hard) }) } }
            }
        }
        @if members {
            section.card {
                h2 { "Members by role" }
                table #summary-members {
                    thead { tr { th { "Role" } th { "Members" } } }
                    tbody { @for (role, n) in &roles { tr { td { (role) } td { (n.unwrap_or(0)) } } } }
                }
            }
        }
    };
    frame(&v, &h, "summary", content)
}

/// `GET /projects/{p}/repositories`.
async fn repositories(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    let page_no = q.page();
    let path = super::list_path(
        &format!("/projects/{}/repositories?sort=name", enc(&name)),
        &q,
        "name",
    );
    let repos = load!(v, p.api.get(&v, &path).await);
    let repositories: Vec<m::Repository> = load!(v, repos.decode());
    let base = format!("/projects/{}/repositories", enc(&name));
    let content = html! {
        (search_box(&base, &q.q, "Filter repositories by name"))
        @if repositories.is_empty() {
            @if q.q.is_empty() {
                @if h.project.is_proxy_cache() {
                    (empty("Nothing cached yet. Pull through this proxy cache, for example:"))
                    pre { "docker pull <registry>/" (name) "/library/alpine:latest" }
                } @else {
                    (empty("No repositories yet. Push an image, for example:"))
                    pre { "docker push <registry>/" (name) "/<repository>:<tag>" }
                }
            } @else { (empty("No repository matches this filter.")) }
        } @else {
            div.scroll { table #repositories {
                thead { tr { th { "Name" } th { "Artifacts" } th { "Pulls" } th.hide-sm { "Updated" } } }
                tbody { @for r in &repositories {
                    tr {
                        td { a href={ "/repo?name=" (enc(&r.name)) } { (r.name) } }
                        td { (r.artifact_count) }
                        td { (r.pull_count) }
                        td.hide-sm { (at(&r.update_time)) }
                    }
                } }
            } }
            (pager(&format!("{base}?q={}&", enc(&q.q)), page_no, PAGE_SIZE, repos.total()))
        }
    };
    frame(&v, &h, "repositories", content)
}

fn path_back(name: &str, tab: &str) -> String {
    format!("/projects/{}/{tab}", enc(name))
}

/// Deletes `api_path` through the API as the viewer, then goes back to the project's
/// `tab` with `done` or the API's refusal.
async fn delete_and_back(
    p: &Portal,
    v: &Viewer,
    api_path: &str,
    name: &str,
    tab: &str,
    done: &str,
) -> Response {
    let r = p.api.send(v, Method::DELETE, api_path, None).await;
    redirect_with(&path_back(name, tab), r.map(|_| done.to_owned()))
}

/// `GET /projects/{p}/logs`.
async fn logs(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    if !h.can(Resource::Log, Action::List) {
        return not_allowed(
            &v,
            &h,
            "logs",
            "reading its audit log",
            "Project admins read it.",
        );
    }
    let page_no = q.page();
    let path = super::list_path(&format!("/projects/{}/logs", enc(&name)), &q, "username");
    let list = load!(v, p.api.get(&v, &path).await);
    let entries: Vec<m::AuditLog> = load!(v, list.decode());
    let base = path_back(&name, "logs");
    let content = html! {
        (search_box(&base, &q.q, "Filter by user"))
        (audit_table(&entries))
        (pager(&format!("{base}?q={}&", enc(&q.q)), page_no, PAGE_SIZE, list.total()))
    };
    frame(&v, &h, "logs", content)
}

/// A table of audit log entries.
pub(crate) fn audit_table(items: &[m::AuditLog]) -> Markup {
    html! {
        @if items.is_empty() { (empty("No log entries.")) } @else {
            div.scroll { table #audit {
                thead { tr { th { "Time" } th { "User" } th { "Operation" } th { "Resource" } th.hide-sm { "Type" } } }
                tbody { @for e in items { tr {
                    td { (at(&e.op_time)) }
                    td { (e.username) }
                    td { (e.operation) }
                    td { code { (e.resource) } }
                    td.hide-sm { (e.resource_type) }
                } } }
            } }
        }
    }
}
