//! A project's page and its tabs: summary, repositories, members, robot accounts,
//! policies (tag immutability and retention), labels, logs and settings.

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

use super::{Confirm, ListQuery, PAGE_SIZE, csrf_checked, load};
use crate::portal::Portal;
use crate::portal::backend::{Answer, Failure, enc};
use crate::portal::layout::{
    action_button, at, bytes, csrf, dash, empty, page, pager, quota_bar, search_box, tabs,
};
use crate::portal::perms::{self, Perms};
use crate::portal::viewer::{Viewer, redirect_with};
use harbor_core::rbac::{Action, Resource};

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
        .route("/projects/{p}/delete", post(delete_project))
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
                (empty("No repositories yet. Push an image, for example:"))
                pre { "docker push <registry>/" (name) "/<repository>:<tag>" }
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

/// `GET /projects/{p}/members`.
async fn members(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    if !h.can(Resource::Member, Action::List) {
        return not_allowed(
            &v,
            &h,
            "members",
            "seeing its members",
            "Guests and higher roles see them.",
        );
    }
    let page_no = q.page();
    let mut path = format!(
        "/projects/{}/members?page={page_no}&page_size={PAGE_SIZE}",
        enc(&name)
    );
    if !q.q.is_empty() {
        path.push_str(&format!("&entityname={}", enc(&q.q)));
    }
    let list = load!(v, p.api.get(&v, &path).await);
    let members: Vec<m::ProjectMemberEntity> = load!(v, list.decode());
    let base = format!("/projects/{}/members", enc(&name));
    let change = h.can(Resource::Member, Action::Update);
    let remove = h.can(Resource::Member, Action::Delete);
    let content = html! {
        (search_box(&base, &q.q, "Filter members by name"))
        @if members.is_empty() { (empty("No members match.")) } @else {
            div.scroll { table #members {
                thead { tr { th { "Member" } th { "Role" } @if remove { th { "Actions" } } } }
                tbody { @for m in &members {
                    @let mid = m.id;
                    tr {
                        td { (m.entity_name) }
                        td { @if change {
                            form.row method="post" action={ (base) "/" (mid) "/role" } {
                                (csrf(&v))
                                label.sr for={ "role-" (mid) } { "Role" }
                                select id={ "role-" (mid) } name="role_id" {
                                    @for (id, label) in ROLES {
                                        option value=(id) selected[m.role_id == id] { (label) }
                                    }
                                }
                                button.secondary type="submit" { "Change role" }
                            }
                        } @else { (role_name(m.role_id)) } }
                        @if remove { td { (action_button(&v, &format!("{base}/{mid}/remove"), "Remove", "Remove this member from the project?")) } }
                    }
                } }
            } }
            (pager(&format!("{base}?q={}&", enc(&q.q)), page_no, PAGE_SIZE, list.total()))
        }
        @if h.can(Resource::Member, Action::Create) {
            section.card {
                h2 { "Add a member" }
                form.row method="post" action=(base) #add-member {
                    (csrf(&v))
                    label { "Username" input name="username" #member-name required autocomplete="off"; }
                    label { "Role" select name="role_id" #member-role {
                        @for (id, label) in ROLES { option value=(id) selected[id == 2] { (label) } }
                    } }
                    button type="submit" { "Add member" }
                }
            }
        }
    };
    frame(&v, &h, "members", content)
}

#[derive(Deserialize)]
struct MemberForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role_id: i64,
}

async fn add_member(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<MemberForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("/projects/{}/members", enc(&name));
    let body = json!({ "role_id": f.role_id, "member_user": { "username": f.username.trim() } });
    let r = p.api.send(&v, Method::POST, &path, Some(body)).await;
    redirect_with(
        &path_back(&name, "members"),
        r.map(|_| {
            format!(
                "{} is now a {}.",
                f.username.trim(),
                role_name(f.role_id).to_lowercase()
            )
        }),
    )
}

async fn set_role(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, mid)): Path<(String, i64)>,
    Form(f): Form<MemberForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("/projects/{}/members/{mid}", enc(&name));
    let r = p
        .api
        .send(
            &v,
            Method::PUT,
            &path,
            Some(json!({ "role_id": f.role_id })),
        )
        .await;
    redirect_with(
        &path_back(&name, "members"),
        r.map(|_| "Role changed.".to_owned()),
    )
}

async fn remove_member(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, mid)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("/projects/{}/members/{mid}", enc(&name));
    let r = p.api.send(&v, Method::DELETE, &path, None).await;
    redirect_with(
        &path_back(&name, "members"),
        r.map(|_| "Member removed.".to_owned()),
    )
}

fn path_back(name: &str, tab: &str) -> String {
    format!("/projects/{}/{tab}", enc(name))
}

/// The robot permissions offered in the portal: (resource, action, label).
const ROBOT_ACCESS: [(&str, &str, &str); 6] = [
    ("repository", "pull", "Pull"),
    ("repository", "push", "Push"),
    ("repository", "delete", "Delete repositories"),
    ("artifact", "delete", "Delete artifacts"),
    ("tag", "create", "Create tags"),
    ("tag", "delete", "Delete tags"),
];

fn robots_view(
    v: &Viewer,
    h: &Head,
    q: &ListQuery,
    list: &Answer,
    created: Option<&m::RobotCreated>,
) -> Response {
    let robots: Vec<m::Robot> = load!(*v, list.decode());
    let base = format!("/projects/{}/robots", enc(h.name()));
    let delete = h.can(Resource::Robot, Action::Delete);
    let content = html! {
        (search_box(&base, &q.q, "Filter robot accounts by name"))
        @if let Some(c) = created {
            div.secret role="status" #robot-secret-box {
                p { "Robot account " strong #robot-name { (c.name) } " created. Copy its secret now: it is shown only once." }
                (crate::portal::layout::copyable("robot-secret", &c.secret))
            }
        }
        @if robots.is_empty() { (empty("No robot accounts in this project.")) } @else {
            div.scroll { table #robots {
                thead { tr { th { "Name" } th { "Permissions" } th { "Status" } th.hide-sm { "Expires" } @if delete { th { "Actions" } } } }
                tbody { @for r in &robots {
                    @let id = r.id;
                    tr {
                        td { code { (r.name) } br; span.small { (r.description) } }
                        td { @for perm in &r.permissions {
                            @for a in &perm.access {
                                span.badge { (a.resource) ":" (a.action) }
                            }
                        } }
                        td { @if r.disable { "disabled" } @else { "enabled" } }
                        td.hide-sm { (crate::portal::layout::expiry(r.expires_at, harbor_core::model::now_ms() / 1000)) }
                        @if delete { td { (action_button(v, &format!("{base}/{id}/delete"), "Delete", "Delete this robot account? Clients using it lose access.")) } }
                    }
                } }
            } }
        }
        (pager(&format!("{base}?q={}&", enc(&q.q)), q.page(), PAGE_SIZE, list.total()))
        @if h.can(Resource::Robot, Action::Create) { section.card {
            h2 { "New robot account" }
            form.stack method="post" action=(base) #new-robot {
                (csrf(v))
                label { "Name" input name="name" #robot-name-input required pattern="[a-z0-9]+(?:[._-][a-z0-9]+)*"; }
                label { "Description" input name="description"; }
                label { "Expires after (days, -1 = never)" input name="duration" type="number" value="-1" min="-1"; }
                fieldset {
                    legend { "Permissions" }
                    @for (res, act, label) in ROBOT_ACCESS {
                        label.check { input type="checkbox" name="access" value={ (res) ":" (act) } checked[act == "pull" && res == "repository"]; (label) }
                    }
                }
                button type="submit" #create-robot { "Create robot account" }
            }
        } }
    };
    frame(v, h, "robots", content)
}

async fn robot_list(p: &Portal, v: &Viewer, h: &Head, q: &ListQuery) -> Result<Answer, Failure> {
    let path = super::robots_path(format!("Level=project,ProjectID={}", h.id()), q);
    p.api.get(v, &path).await
}

/// `GET /projects/{p}/robots`.
async fn robots(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    if !h.can(Resource::Robot, Action::List) {
        return not_allowed(
            &v,
            &h,
            "robots",
            "seeing its robot accounts",
            "Guests and higher roles see them; project admins create them.",
        );
    }
    let list = load!(v, robot_list(&p, &v, &h, &q).await);
    robots_view(&v, &h, &q, &list, None)
}

/// `POST /projects/{p}/robots`: creates it and shows the secret on the answer page
/// itself (never in a redirect, a cookie or a log).
async fn create_robot(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    body: String,
) -> Response {
    let form = super::RobotForm::parse(&body);
    csrf_checked!(v, &form.csrf);
    let body = form.body("project", "project", &name);
    let created: m::RobotCreated = match p.api.send(&v, Method::POST, "/robots", Some(body)).await {
        Ok(a) => load!(v, a.decode()),
        Err(e) => return redirect_with(&path_back(&name, "robots"), Err(e)),
    };
    let h = load!(v, head(&p, &v, &name).await);
    let q = ListQuery::default();
    let list = load!(v, robot_list(&p, &v, &h, &q).await);
    robots_view(&v, &h, &q, &list, Some(&created))
}

async fn delete_robot(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(&v, Method::DELETE, &format!("/robots/{id}"), None)
        .await;
    redirect_with(
        &path_back(&name, "robots"),
        r.map(|_| "Robot account deleted.".to_owned()),
    )
}

/// A selector for people: `v*`, or `excluding v*`.
fn describe(s: Option<&m::ImmutableSelector>) -> String {
    match s {
        Some(s) if s.decoration.contains("xclude") => format!("excluding {}", s.pattern),
        Some(s) => s.pattern.clone(),
        None => "**".to_owned(),
    }
}

/// `GET /projects/{p}/policies`: tag immutability rules and the retention policy.
async fn policies(v: Viewer, State(p): State<Portal>, Path(name): Path<String>) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    if !h.sees_policies() {
        return not_allowed(
            &v,
            &h,
            "policies",
            "its tag policies",
            "Developers see tag retention; maintainers and project admins also tag \
             immutability.",
        );
    }
    let immutability = h.can(Resource::ImmutableTag, Action::List);
    let retention = h.can(Resource::TagRetention, Action::Read);
    let rules: Vec<m::ImmutableRule> = if immutability {
        let rules = load!(
            v,
            p.api
                .get(
                    &v,
                    &format!("/projects/{}/immutabletagrules?page_size=100", enc(&name))
                )
                .await
        );
        load!(v, rules.decode())
    } else {
        Vec::new()
    };
    let retention_id = h.project.retention_id().filter(|_| retention);
    let (policy, runs) = match retention_id {
        Some(id) => {
            let (pol_path, runs_path) = (
                format!("/retentions/{id}"),
                format!("/retentions/{id}/executions?page_size=10"),
            );
            let (pol, runs) = tokio::join!(p.api.get(&v, &pol_path), p.api.get(&v, &runs_path));
            (
                pol.and_then(|a| a.decode::<m::RetentionPolicy>()).ok(),
                runs.and_then(|a| a.decode::<Vec<m::RetentionExecution>>())
                    .ok(),
            )
        }
        None => (None, None),
    };
    // What each shown run examined, kept and deleted: the sums of its tasks (one per
    // repository), read concurrently.
    let counts: Vec<Option<RunCounts>> = match (&runs, retention_id) {
        (Some(runs), Some(id)) => {
            futures::future::join_all(runs.iter().map(|e| {
                let path = format!("/retentions/{id}/executions/{}/tasks?page_size=100", e.id);
                let (p, v) = (&p, &v);
                async move {
                    let tasks = p.api.get(v, &path).await.ok()?;
                    let more = tasks.total() > tasks.items().len() as u64;
                    let tasks: Vec<m::RetentionExecutionTask> = tasks.decode().ok()?;
                    Some(RunCounts::of(&tasks, more))
                }
            }))
            .await
        }
        _ => Vec::new(),
    };
    let base = format!("/projects/{}", enc(&name));
    let add_rule = h.can(Resource::ImmutableTag, Action::Create);
    let delete_rule = h.can(Resource::ImmutableTag, Action::Delete);
    let save_policy = h.can(
        Resource::TagRetention,
        if retention_id.is_some() {
            Action::Update
        } else {
            Action::Create
        },
    );
    let run_policy = h.can(Resource::TagRetention, Action::Operate);
    let rule = policy.as_ref().and_then(m::RetentionPolicy::first_rule);
    let content = html! {
        @if immutability {
        h2 { "Tag immutability" }
        p.small { "Tags matching an enabled rule cannot be overwritten or deleted." }
        @if rules.is_empty() { (empty("No immutability rules.")) } @else {
            div.scroll { table #immutable-rules {
                thead { tr { th { "Repositories" } th { "Tags" } th { "State" } @if delete_rule { th { "Actions" } } } }
                tbody { @for r in &rules {
                    @let id = r.id;
                    tr {
                        td { (describe(r.scope_selectors.get("repository").and_then(|s| s.first()))) }
                        td { (describe(r.tag_selectors.first())) }
                        td { @if r.disabled { "disabled" } @else { "enabled" } }
                        @if delete_rule { td { (action_button(&v, &format!("{base}/immutable/{id}/delete"), "Delete", "Delete this immutability rule?")) } }
                    }
                } }
            } }
        }
        @if add_rule {
            form.row method="post" action={ (base) "/immutable" } #add-immutable {
                (csrf(&v))
                label { "Repositories" input name="repositories" value="**" required; }
                label { "Tags" input name="tags" placeholder="v*" required; }
                button type="submit" { "Add rule" }
            }
        }
        }
        @if retention {
        h2 { "Tag retention" }
        @match rule {
            Some(r) => {
                p #retention-rule { "Keep the " strong { (r.count().map_or_else(|| "—".to_owned(), |n| n.to_string())) } " most recently pushed artifacts with tags matching "
                    code { (r.tags()) } " in repositories matching " code { (r.repositories()) } "; delete the rest."
                    @if let Some(c) = policy.as_ref().and_then(m::RetentionPolicy::cron) {
                        " Runs on schedule " code { (c) } "."
                    }
                }
                @if run_policy {
                    div.actions {
                        form.inline method="post" action={ (base) "/retention/run" } { (csrf(&v)) input type="hidden" name="dry_run" value="true"; button.secondary type="submit" #retention-dry-run { "Dry run" } }
                        form.inline method="post" action={ (base) "/retention/run" } data-confirm="Delete the artifacts this policy does not retain?" { (csrf(&v)) button type="submit" #retention-run { "Run now" } }
                    }
                }
                @if let Some(runs) = &runs {
                    @if !runs.is_empty() {
                        div.scroll { table #retention-runs {
                            thead { tr { th { "Run" } th { "Status" } th { "Dry run" } th { "Examined" } th { "Retained" } th { "Deleted" } th { "Started" } th { "Trigger" } } }
                            tbody { @for (i, e) in runs.iter().enumerate() { tr data-run=(e.id) {
                                td { (e.id) }
                                td class={ "status-" (e.status) } { (dash(&e.status)) }
                                td { (e.dry_run) }
                                @match counts.get(i).copied().flatten().filter(|c| c.repositories > 0) {
                                    Some(c) => {
                                        td.examined { (c.total) (c.more) }
                                        td.retained { (c.retained) (c.more) }
                                        td.deleted { (c.deleted) (c.more) @if e.dry_run { " " span.small { "(would be)" } } }
                                    }
                                    None => { td.examined { "—" } td.retained { "—" } td.deleted { "—" } }
                                }
                                td { (at(e.start_time.as_deref().unwrap_or_default())) }
                                td { (dash(&e.trigger)) }
                            } } }
                        } }
                    }
                }
            }
            _ => { (empty("No retention policy: every artifact is kept.")) }
        }
        @if save_policy {
            form.row method="post" action={ (base) "/retention" } #set-retention {
                (csrf(&v))
                label { "Keep the latest" input name="keep" type="number" min="0" max="1000" value=(rule.and_then(m::RetentionRule::count).unwrap_or(10)) required; }
                label { "Tags" input name="tags" value="**" required; }
                label { "Repositories" input name="repositories" value="**" required; }
                label { "Schedule (cron, empty = manual)" input name="cron" placeholder="0 0 0 * * *"; }
                button type="submit" { "Save retention policy" }
            }
        }
        }
    };
    frame(&v, &h, "policies", content)
}

/// A retention run's artifacts examined, retained and deleted (a dry run: that would be),
/// summed over its tasks; `more` is `+` when only the first page of tasks was read.
#[derive(Clone, Copy)]
struct RunCounts {
    repositories: usize,
    total: u64,
    retained: u64,
    deleted: u64,
    more: &'static str,
}

impl RunCounts {
    fn of(tasks: &[m::RetentionExecutionTask], more: bool) -> Self {
        RunCounts {
            repositories: tasks.len(),
            total: tasks.iter().map(|t| t.total).sum(),
            retained: tasks.iter().map(|t| t.retained).sum(),
            deleted: tasks.iter().map(|t| t.deleted).sum(),
            more: if more { "+" } else { "" },
        }
    }
}

#[derive(Deserialize)]
struct RuleForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    repositories: String,
    #[serde(default)]
    tags: String,
}

async fn add_rule(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<RuleForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let body = json!({
        "action": "immutable", "template": "immutable_template", "disabled": false,
        "tag_selectors": [{ "kind": "doublestar", "decoration": "matches", "pattern": f.tags.trim() }],
        "scope_selectors": { "repository": [{ "kind": "doublestar", "decoration": "repoMatches", "pattern": f.repositories.trim() }] },
    });
    let path = format!("/projects/{}/immutabletagrules", enc(&name));
    let r = p.api.send(&v, Method::POST, &path, Some(body)).await;
    redirect_with(
        &path_back(&name, "policies"),
        r.map(|_| "Immutability rule added.".to_owned()),
    )
}

async fn delete_rule(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("/projects/{}/immutabletagrules/{id}", enc(&name));
    let r = p.api.send(&v, Method::DELETE, &path, None).await;
    redirect_with(
        &path_back(&name, "policies"),
        r.map(|_| "Immutability rule deleted.".to_owned()),
    )
}

#[derive(Deserialize)]
struct RetentionForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    keep: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    repositories: String,
    #[serde(default)]
    cron: String,
    #[serde(default)]
    dry_run: Option<String>,
}

fn retention_id(h: &Head) -> Option<i64> {
    h.project.retention_id()
}

async fn set_retention(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<RetentionForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = path_back(&name, "policies");
    let Ok(keep) = f.keep.trim().parse::<u32>() else {
        return redirect_with(
            &back,
            Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "Keep must be a whole number.",
            )),
        );
    };
    let h = match head(&p, &v, &name).await {
        Ok(h) => h,
        Err(e) => return redirect_with(&back, Err(e)),
    };
    let mut policy =
        m::RetentionPolicy::keep_latest(keep, f.tags.trim(), f.repositories.trim(), f.cron.trim());
    policy.scope = Some(m::RetentionPolicyScope {
        level: "project".into(),
        reference: h.id(),
    });
    let r = match retention_id(&h) {
        Some(id) => {
            policy.id = id;
            p.api
                .send(
                    &v,
                    Method::PUT,
                    &format!("/retentions/{id}"),
                    Some(json!(policy)),
                )
                .await
        }
        None => {
            p.api
                .send(&v, Method::POST, "/retentions", Some(json!(policy)))
                .await
        }
    };
    redirect_with(&back, r.map(|_| "Retention policy saved.".to_owned()))
}

async fn run_retention(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<RetentionForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = path_back(&name, "policies");
    let h = match head(&p, &v, &name).await {
        Ok(h) => h,
        Err(e) => return redirect_with(&back, Err(e)),
    };
    let Some(id) = retention_id(&h) else {
        return redirect_with(
            &back,
            Err(Failure::new(
                StatusCode::NOT_FOUND,
                "This project has no retention policy.",
            )),
        );
    };
    let dry = f.dry_run.is_some();
    let r = p
        .api
        .send(
            &v,
            Method::POST,
            &format!("/retentions/{id}/executions"),
            Some(json!({ "dry_run": dry })),
        )
        .await;
    let what = if dry {
        "Retention dry run started."
    } else {
        "Retention run started."
    };
    redirect_with(&back, r.map(|_| what.to_owned()))
}

/// `GET /projects/{p}/labels`: the project's labels (scope `p`), a create form and
/// delete buttons for the roles that may use them.
async fn labels(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    if !h.can(Resource::Label, Action::List) {
        return not_allowed(
            &v,
            &h,
            "labels",
            "seeing its labels",
            "Guests and higher roles see them; maintainers and project admins manage them.",
        );
    }
    let page_no = q.page();
    let mut path = format!(
        "/labels?scope=p&project_id={}&page={page_no}&page_size={PAGE_SIZE}",
        h.id()
    );
    let filter = super::term(&q.q);
    if !filter.is_empty() {
        path.push_str(&format!("&name={}", enc(&filter)));
    }
    let list = load!(v, p.api.get(&v, &path).await);
    let labels: Vec<m::Label> = load!(v, list.decode());
    let base = path_back(&name, "labels");
    let delete = h.can(Resource::Label, Action::Delete);
    let content = html! {
        p.small { "Project labels can be attached to this project's artifacts; global labels are managed by administrators." }
        (search_box(&base, &q.q, "Filter labels by name"))
        @if labels.is_empty() {
            @if filter.is_empty() { (empty("No project labels yet.")) } @else { (empty("No label matches this filter.")) }
        } @else {
            div.scroll { table #project-labels {
                thead { tr { th { "Name" } th { "Color" } th { "Description" } th.hide-sm { "Created" } @if delete { th { "Actions" } } } }
                tbody { @for l in &labels {
                    tr data-label=(l.name) {
                        td { span.badge.label data-color=[crate::portal::layout::label_color(&l.color)] { (l.name) } }
                        td { code { (dash(&l.color)) } }
                        td { (dash(&l.description)) }
                        td.hide-sm { (at(&l.creation_time)) }
                        @if delete { td { (action_button(&v, &format!("{base}/{}/delete", l.id), "Delete",
                            &format!("Delete the label {}? It is removed from every artifact.", l.name))) } }
                    }
                } }
            } }
            (pager(&format!("{base}?q={}&", enc(&q.q)), page_no, PAGE_SIZE, list.total()))
        }
        @if h.can(Resource::Label, Action::Create) {
            section.card {
                h2 { "New project label" }
                form.stack method="post" action=(base) #new-project-label {
                    (csrf(&v))
                    label { "Name" input name="name" #label-name required maxlength="128" autocomplete="off"; }
                    label { "Color" input name="color" #label-color type="color" value="#0065ab"; }
                    label { "Description" input name="description" #label-description; }
                    button type="submit" #create-label { "Create label" }
                }
            }
        }
    };
    frame(&v, &h, "labels", content)
}

#[derive(Deserialize)]
struct LabelForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: String,
    #[serde(default)]
    description: String,
}

/// `POST /projects/{p}/labels`: creates a project label.
async fn create_label(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<LabelForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = path_back(&name, "labels");
    let h = match head(&p, &v, &name).await {
        Ok(h) => h,
        Err(e) => return redirect_with(&back, Err(e)),
    };
    let label = f.name.trim().to_owned();
    let body = json!({
        "name": label,
        "color": f.color.trim(),
        "description": f.description.trim(),
        "scope": "p",
        "project_id": h.id(),
    });
    let r = p.api.send(&v, Method::POST, "/labels", Some(body)).await;
    redirect_with(&back, r.map(|_| format!("Label {label} created.")))
}

/// `POST /projects/{p}/labels/{id}/delete`: deletes a project label (the API checks it
/// belongs to a project where the viewer may delete labels).
async fn delete_label(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(&v, Method::DELETE, &format!("/labels/{id}"), None)
        .await;
    redirect_with(
        &path_back(&name, "labels"),
        r.map(|_| "Label deleted.".to_owned()),
    )
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

/// A quota in GiB as the shortest decimal that reads back as the same number of bytes
/// (`0.05`, not `0.049999999813735485`), `-1` for unlimited.
fn gib_text(hard: i64) -> String {
    if hard < 0 {
        return "-1".to_owned();
    }
    let gib = hard as f64 / 1073741824.0;
    (0..=10)
        .map(|digits| format!("{gib:.digits$}"))
        .map(|t| {
            if t.contains('.') {
                t.trim_end_matches('0').trim_end_matches('.').to_owned()
            } else {
                t
            }
        })
        .find(|t| super::projects::gib(t) == Ok(Some(hard)))
        .unwrap_or_else(|| format!("{gib}"))
}

/// `GET /projects/{p}/settings`: the form for those who may change the project, a
/// read-only view for everyone else.
async fn settings(v: Viewer, State(p): State<Portal>, Path(name): Path<String>) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    let base = format!("/projects/{}", enc(&name));
    let public = h.project.is_public();
    let (used, hard) = h.quota();
    // Harbor's other metadata keys the project has (set through the API or the CLI).
    let other: Vec<(String, String)> = h
        .project
        .metadata
        .other
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let edit =
        h.can(Resource::Project, Action::Update) && h.can(Resource::Metadata, Action::Update);
    let content = html! {
        section.card {
            h2 { "Access" }
            @if edit {
                form.stack method="post" action={ (base) "/settings" } #project-settings {
                    (csrf(&v))
                    label.check { input type="checkbox" name="public" value="true" checked[public]; "Public: anyone, signed in or not, may pull" }
                    @if v.user.sysadmin {
                        label { "Storage quota (GiB, -1 = unlimited)"
                            input name="quota_gib" inputmode="decimal" value=(gib_text(hard)); }
                        p.small #quota-used { "Currently used: " (bytes(used)) " (" (gib_text(used)) " GiB). A limit below it is asked about first." }
                    }
                    button type="submit" { "Save" }
                }
            } @else {
                dl.kv #project-settings-view {
                    dt { "Access" } dd { @if public { "Public: anyone, signed in or not, may pull" } @else { "Private: members only" } }
                    dt { "Storage quota" } dd { (bytes(hard)) }
                    dt { "Storage used" } dd #quota-used { (bytes(used)) }
                }
                p.small #read-only-settings { "Read only: changing the configuration needs the project admin role." }
            }
        }
        section.card #project-metadata {
            h2 { "Metadata" }
            @if other.is_empty() {
                p.small { "No other metadata keys are set." }
            } @else {
                table {
                    thead { tr { th { "key" } th { "value" } } }
                    tbody { @for (k, val) in &other { tr { td { code { (k) } } td { (val) } } } }
                }
            }
            p.small { "Set with " code { "harbor project meta-set" } " or the API. Vulnerability scanning, signature policies and proxy-cache keys can only be off until those features exist: turning one on is refused, never ignored." }
        }
        @if h.can(Resource::Project, Action::Delete) {
            section.card #delete-project {
                h2 { "Delete the project" }
                p.small { "Only a project without repositories can be deleted." }
                (action_button(&v, &format!("{base}/delete"), "Delete project", "Delete this project? This cannot be undone."))
            }
        }
    };
    frame(&v, &h, "settings", content)
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    public: Option<String>,
    #[serde(default)]
    quota_gib: Option<String>,
    /// Set by the confirmation step: the limit may be below the current usage.
    #[serde(default)]
    confirm_below: Option<String>,
}

/// The confirmation step of a quota limit below the project's current usage: what it
/// means, and the same form again with `confirm_below`.
fn below_usage(v: &Viewer, h: &Head, f: &SettingsForm, limit: i64, used: i64) -> Response {
    let base = format!("/projects/{}", enc(h.name()));
    let content = html! {
        section.card #quota-confirm role="alert" {
            h2 { "The new limit is below the current usage" }
            p { "The project uses " strong { (bytes(used)) } "; the new limit is " strong { (bytes(limit)) } ". "
                "Once it is set, every push to the project is refused until enough artifacts are deleted to bring its usage below the limit." }
            form.row method="post" action={ (base) "/settings" } #quota-confirm-form {
                (csrf(v))
                @if f.public.is_some() { input type="hidden" name="public" value="true"; }
                input type="hidden" name="quota_gib" value=(f.quota_gib.as_deref().unwrap_or_default());
                input type="hidden" name="confirm_below" value="yes";
                button.danger type="submit" #quota-confirm-yes { "Set the limit anyway" }
                a.button.secondary href={ (base) "/settings" } #quota-confirm-cancel { "Cancel" }
            }
        }
    };
    frame(v, h, "settings", content)
}

async fn save_settings(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<SettingsForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = path_back(&name, "settings");
    // The quota is checked before anything changes: a typo or a limit below the usage
    // (until confirmed) saves nothing.
    let limit = match f.quota_gib.as_deref().map(super::projects::gib) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(l))) => Some(l),
        Some(Err(e)) => return redirect_with(&back, Err(Failure::new(StatusCode::BAD_REQUEST, e))),
    };
    let h = match limit {
        Some(_) => match head(&p, &v, &name).await {
            Ok(h) => Some(h),
            Err(e) => return redirect_with(&back, Err(e)),
        },
        None => None,
    };
    if let (Some(limit), Some(h)) = (limit, &h) {
        let (used, _) = h.quota();
        if limit >= 0 && used > limit && f.confirm_below.is_none() {
            return below_usage(&v, h, &f, limit, used);
        }
    }
    let body =
        json!({ "metadata": { "public": if f.public.is_some() { "true" } else { "false" } } });
    if let Err(e) = p
        .api
        .send(
            &v,
            Method::PUT,
            &format!("/projects/{}", enc(&name)),
            Some(body),
        )
        .await
    {
        return redirect_with(&back, Err(e));
    }
    if let (Some(limit), Some(h)) = (limit, h) {
        let quotas = match p
            .api
            .get(
                &v,
                &format!("/quotas?reference=project&reference_id={}", h.id()),
            )
            .await
        {
            Ok(a) => a,
            Err(e) => return redirect_with(&back, Err(e)),
        };
        let Some(qid) = quotas.items().first().and_then(|q| q["id"].as_i64()) else {
            return redirect_with(
                &back,
                Err(Failure::new(
                    StatusCode::NOT_FOUND,
                    "This project has no quota record.",
                )),
            );
        };
        let r = p
            .api
            .send(
                &v,
                Method::PUT,
                &format!("/quotas/{qid}"),
                Some(json!({ "hard": { "storage": limit } })),
            )
            .await;
        return redirect_with(&back, r.map(|_| "Saved.".to_owned()));
    }
    redirect_with(&back, Ok("Saved.".to_owned()))
}

async fn delete_project(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    match p
        .api
        .send(
            &v,
            Method::DELETE,
            &format!("/projects/{}", enc(&name)),
            None,
        )
        .await
    {
        Ok(_) => redirect_with("/projects", Ok(format!("Project {name} deleted."))),
        Err(e) => redirect_with(&path_back(&name, "settings"), Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::gib_text;
    use crate::portal::pages::projects::gib;

    #[test]
    fn quotas_show_as_the_gib_typed() {
        assert_eq!(gib_text(-1), "-1");
        assert_eq!(gib_text(0), "0");
        assert_eq!(gib_text(1 << 30), "1");
        assert_eq!(gib_text(10 << 30), "10");
        assert_eq!(gib_text(1 << 29), "0.5");
        for typed in ["0.05", "0.1", "2.75", "0.001", "123.456"] {
            let Ok(Some(bytes)) = gib(typed) else {
                panic!("{typed} is a quota")
            };
            assert_eq!(gib_text(bytes), typed);
        }
        // Any byte count reads back as itself.
        for bytes in [1, 1023, 53_687_091, 1_234_567_890_123] {
            assert_eq!(gib(&gib_text(bytes)), Ok(Some(bytes)), "{bytes}");
        }
    }
}
