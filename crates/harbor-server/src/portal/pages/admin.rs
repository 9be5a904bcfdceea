//! System administration pages: users, global labels, project quotas, the audit log (and its purge),
//! the system settings (read-only mode), and the system status page every signed-in
//! user may see. The API refuses non-administrators; the pages also hide their forms.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use harbor_api_model as m;
use harbor_core::identity::AUDIT_OPERATIONS;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Confirm, ListQuery, PAGE_SIZE, csrf_checked, load};
use crate::portal::Portal;
use crate::portal::backend::{Failure, enc};
use crate::portal::layout::{
    action_button, at, bytes, csrf, dash, empty, page, pager, quota_bar, search_box, text,
};
use crate::portal::viewer::{Viewer, redirect_with};

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/{id}/admin", post(set_admin))
        .route("/admin/users/{id}/password", post(reset_password))
        .route("/admin/users/{id}/delete", post(delete_user))
        .route("/admin/labels", get(labels).post(create_label))
        .route("/admin/labels/{id}/delete", post(delete_label))
        .route("/admin/quotas", get(quotas))
        .route("/admin/audit", get(audit))
        .route("/admin/audit/purge", post(purge_audit))
        .route("/admin/settings", get(settings).post(save_settings))
        .route("/system", get(system))
}

/// A refusal the portal itself makes (before calling the API).
fn refused(message: &str) -> Failure {
    Failure::new(StatusCode::FORBIDDEN, message)
}

/// "yes"/"no" of a JSON boolean (absent = no).
fn yes_no(v: bool) -> &'static str {
    if v { "yes" } else { "no" }
}

/// A run's status cell, classed `status-<Status>` for the stylesheet and tests.
pub(super) fn status_cell(run: &m::ExecHistory) -> Markup {
    let status = run.job_status.as_str();
    html! { td class={ "status-" (status) } { (dash(status)) } }
}

// ---------------------------------------------------------------------------------------
// Users

/// `GET /admin/users`: the accounts (filtered by username, paged) and a create form.
async fn users(v: Viewer, State(p): State<Portal>, Query(q): Query<ListQuery>) -> Response {
    let page_no = q.page();
    let path = super::list_path("/users", &q, "username");
    let list = load!(v, p.api.get(&v, &path).await);
    let users: Vec<harbor_api_model::UserResp> = load!(v, list.decode());
    let admin = v.user.sysadmin;
    let body = html! {
        h1 { "Users" }
        (search_box("/admin/users", &q.q, "Filter users by name"))
        @if users.is_empty() {
            @if super::term(&q.q).is_empty() { (empty("No users.")) } @else { (empty("No user matches this filter.")) }
        } @else {
            div.scroll { table #users {
                thead { tr {
                    th { "Username" } th { "Email" } th { "Administrator" } th.hide-sm { "Created" }
                    @if admin { th { "Actions" } }
                } }
                tbody { @for u in &users {
                    @let id = u.user_id;
                    @let name = u.username.as_str();
                    @let is_admin = u.sysadmin_flag;
                    @let me = id == v.user.id;
                    tr data-user=(name) {
                        td { (name) @if me { " " span.badge { "you" } } }
                        td { (u.email) }
                        td.admin-flag { (yes_no(is_admin)) }
                        td.hide-sm { (at(&u.creation_time)) }
                        @if admin { td { div.actions {
                            @if !me {
                                form.inline method="post" action={ "/admin/users/" (id) "/admin" } {
                                    (csrf(&v))
                                    input type="hidden" name="on" value=(if is_admin { "false" } else { "true" });
                                    @if is_admin {
                                        button.secondary type="submit" { "Revoke admin" }
                                    } @else {
                                        button.secondary type="submit" { "Make admin" }
                                    }
                                }
                                form.inline method="post" action={ "/admin/users/" (id) "/password" } {
                                    (csrf(&v))
                                    label { span.sr { "New password for " (name) }
                                        input type="password" name="password" id={ "password-" (id) } required autocomplete="new-password" placeholder="New password"; }
                                    button.secondary type="submit" { "Reset password" }
                                }
                                (action_button(&v, &format!("/admin/users/{id}/delete"), "Delete",
                                    &format!("Delete the user {name}? This cannot be undone.")))
                            } @else {
                                span.small { "Your own account." }
                            }
                        } } }
                    }
                } }
            } }
            (pager(&format!("/admin/users?q={}&", enc(&q.q)), page_no, PAGE_SIZE, list.total()))
        }
        @if admin {
            section.card {
                h2 { "New user" }
                form.stack method="post" action="/admin/users" #new-user {
                    (csrf(&v))
                    label { "Username" input name="username" #user-name required autocomplete="off"; }
                    label { "Email" input name="email" #user-email type="email" autocomplete="off"; }
                    label { "Full name" input name="realname" #user-realname autocomplete="off"; }
                    label { "Password (8+ characters with upper and lower case letters and a digit)"
                        input name="password" #user-password type="password" required autocomplete="new-password"; }
                    label { "Comment" input name="comment" #user-comment; }
                    button type="submit" #create-user { "Create user" }
                }
            }
        }
    };
    page(Some(&v), "Users", body)
}

#[derive(Deserialize)]
struct NewUserForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    realname: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    comment: String,
}

/// `POST /admin/users`: creates an account.
async fn create_user(v: Viewer, State(p): State<Portal>, Form(f): Form<NewUserForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let name = f.username.trim().to_owned();
    let body = json!({
        "username": name,
        "email": f.email.trim(),
        "realname": f.realname.trim(),
        "password": f.password,
        "comment": f.comment.trim(),
    });
    let r = p.api.send(&v, Method::POST, "/users", Some(body)).await;
    redirect_with("/admin/users", r.map(|_| format!("User {name} created.")))
}

#[derive(Deserialize)]
struct AdminForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    on: String,
}

/// `POST /admin/users/{id}/admin`: grants (`on=true`) or revokes administrator rights.
async fn set_admin(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<AdminForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let on = f.on.trim() == "true";
    if id == v.user.id && !on {
        return redirect_with(
            "/admin/users",
            Err(refused("You cannot revoke your own administrator rights.")),
        );
    }
    let r = p
        .api
        .send(
            &v,
            Method::PUT,
            &format!("/users/{id}/sysadmin"),
            Some(json!({ "sysadmin_flag": on })),
        )
        .await;
    let done = if on {
        "Administrator rights granted."
    } else {
        "Administrator rights revoked."
    };
    redirect_with("/admin/users", r.map(|_| done.to_owned()))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

/// `POST /admin/users/{id}/password`: sets another user's password.
async fn reset_password(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    if id == v.user.id {
        return redirect_with(
            "/admin/users",
            Err(refused(
                "Change your own password on your profile (it needs the old one).",
            )),
        );
    }
    let r = p
        .api
        .send(
            &v,
            Method::PUT,
            &format!("/users/{id}/password"),
            Some(json!({ "new_password": f.password })),
        )
        .await;
    redirect_with("/admin/users", r.map(|_| "Password reset.".to_owned()))
}

/// `POST /admin/users/{id}/delete`: deletes an account (never one's own).
async fn delete_user(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    if id == v.user.id {
        return redirect_with(
            "/admin/users",
            Err(refused("You cannot delete your own account.")),
        );
    }
    let r = p
        .api
        .send(&v, Method::DELETE, &format!("/users/{id}"), None)
        .await;
    redirect_with("/admin/users", r.map(|_| "User deleted.".to_owned()))
}

// ---------------------------------------------------------------------------------------
// Labels

/// `GET /admin/labels`: the global labels (filtered by name, paged) and a create form.
async fn labels(v: Viewer, State(p): State<Portal>, Query(q): Query<ListQuery>) -> Response {
    let page_no = q.page();
    let mut path = format!("/labels?scope=g&page={page_no}&page_size={PAGE_SIZE}");
    let filter = super::term(&q.q);
    if !filter.is_empty() {
        path.push_str(&format!("&name={}", enc(&filter)));
    }
    let list = load!(v, p.api.get(&v, &path).await);
    let labels: Vec<m::Label> = load!(v, list.decode());
    let admin = v.user.sysadmin;
    let body = html! {
        h1 { "Global labels" }
        p.small { "Global labels can be attached to artifacts of every project." }
        (search_box("/admin/labels", &q.q, "Filter labels by name"))
        @if labels.is_empty() {
            @if filter.is_empty() { (empty("No global labels yet.")) } @else { (empty("No label matches this filter.")) }
        } @else {
            div.scroll { table #labels {
                thead { tr { th { "Name" } th { "Color" } th { "Description" } th.hide-sm { "Created" } @if admin { th { "Actions" } } } }
                tbody { @for l in &labels {
                    @let id = l.id;
                    @let name = l.name.as_str();
                    tr data-label=(name) {
                        td { span.badge.label data-color=[crate::portal::layout::label_color(&l.color)] { (name) } }
                        td { code { (dash(&l.color)) } }
                        td { (dash(&l.description)) }
                        td.hide-sm { (at(&l.creation_time)) }
                        @if admin { td { (action_button(&v, &format!("/admin/labels/{id}/delete"), "Delete",
                            &format!("Delete the label {name}? It is removed from every artifact."))) } }
                    }
                } }
            } }
            (pager(&format!("/admin/labels?q={}&", enc(&q.q)), page_no, PAGE_SIZE, list.total()))
        }
        @if admin {
            section.card {
                h2 { "New global label" }
                form.stack method="post" action="/admin/labels" #new-label {
                    (csrf(&v))
                    label { "Name" input name="name" #label-name required maxlength="128" autocomplete="off"; }
                    label { "Color" input name="color" #label-color type="color" value="#0065ab"; }
                    label { "Description" input name="description" #label-description; }
                    button type="submit" #create-label { "Create label" }
                }
            }
        }
    };
    page(Some(&v), "Labels", body)
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

/// `POST /admin/labels`: creates a global label.
async fn create_label(v: Viewer, State(p): State<Portal>, Form(f): Form<LabelForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let name = f.name.trim().to_owned();
    let body = json!({
        "name": name,
        "color": f.color.trim(),
        "description": f.description.trim(),
        "scope": "g",
    });
    let r = p.api.send(&v, Method::POST, "/labels", Some(body)).await;
    redirect_with("/admin/labels", r.map(|_| format!("Label {name} created.")))
}

/// `POST /admin/labels/{id}/delete`: deletes a global label.
async fn delete_label(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(&v, Method::DELETE, &format!("/labels/{id}"), None)
        .await;
    redirect_with("/admin/labels", r.map(|_| "Label deleted.".to_owned()))
}

// ---------------------------------------------------------------------------------------
// Quotas

/// `?sort=&page=` of the quota table.
#[derive(Deserialize, Default)]
struct QuotaQuery {
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: Option<u64>,
}

/// The orders the quota table offers (Harbor's `sort` values); the first is the default.
const QUOTA_SORTS: [&str; 4] = [
    "-used.storage",
    "used.storage",
    "-hard.storage",
    "hard.storage",
];

/// A sortable column heading: a link to sort by `key`, the other way round when the
/// table is already sorted by it.
fn sort_heading(label: &str, key: &str, current: &str) -> Markup {
    let (href, arrow) = if current == format!("-{key}") {
        (key.to_owned(), " ▼")
    } else if current == key {
        (format!("-{key}"), " ▲")
    } else {
        (format!("-{key}"), "")
    };
    html! {
        th aria-sort=(match arrow { " ▼" => "descending", " ▲" => "ascending", _ => "none" }) {
            a.sort href={ "/admin/quotas?sort=" (enc(&href)) } data-sort=(key) { (label) (arrow) }
        }
    }
}

/// `GET /admin/quotas`: every project's storage quota, sorted by usage (largest first)
/// or limit, paged.
async fn quotas(v: Viewer, State(p): State<Portal>, Query(q): Query<QuotaQuery>) -> Response {
    let sort = QUOTA_SORTS
        .into_iter()
        .find(|s| *s == q.sort)
        .unwrap_or(QUOTA_SORTS[0]);
    let page_no = q.page.unwrap_or(1).max(1);
    let path = format!(
        "/quotas?reference=project&sort={}&page={page_no}&page_size={PAGE_SIZE}",
        enc(sort)
    );
    let list = load!(v, p.api.get(&v, &path).await);
    let quotas: Vec<m::Quota> = load!(v, list.decode());
    let storage = |l: &m::ResourceList, default| l.get("storage").copied().unwrap_or(default);
    let body = html! {
        h1 { "Project quotas" }
        p.small { "Storage each project uses against its limit. A project at its limit refuses pushes until artifacts are deleted." }
        @if quotas.is_empty() { (empty("No projects.")) } @else {
            div.scroll { table #quotas data-sort=(sort) {
                thead { tr {
                    th { "Project" }
                    th.hide-sm { "Owner" }
                    (sort_heading("Used", "used.storage", sort))
                    (sort_heading("Limit", "hard.storage", sort))
                    th { "Usage" }
                    th.hide-sm { "Updated" }
                } }
                tbody { @for quota in &quotas {
                    @let (used, hard) = (storage(&quota.used, 0), storage(&quota.hard, -1));
                    tr data-project=(quota.reference.name) {
                        td { a href={ "/projects/" (enc(&quota.reference.name)) "/settings" } { (quota.reference.name) } }
                        td.hide-sm { (dash(&quota.reference.owner_name)) }
                        td.used { (bytes(used)) }
                        td.hard { (bytes(hard)) }
                        td { (quota_bar(used, hard)) }
                        td.hide-sm { (at(&quota.update_time)) }
                    }
                } }
            } }
            (pager(&format!("/admin/quotas?sort={}&", enc(sort)), page_no, PAGE_SIZE, list.total()))
        }
    };
    page(Some(&v), "Project quotas", body)
}

// ---------------------------------------------------------------------------------------
// Audit log

/// `?q=&operation=&page=` of the audit log page.
#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    page: Option<u64>,
}

/// `GET /admin/audit`: every audit entry (filtered by user and operation, paged), the
/// purge form and the purge history.
async fn audit(v: Viewer, State(p): State<Portal>, Query(q): Query<AuditQuery>) -> Response {
    let page_no = q.page.unwrap_or(1).max(1);
    let user = super::term(&q.q);
    let op = super::term(&q.operation);
    let mut filters = Vec::new();
    if !user.is_empty() {
        filters.push(format!("username=~{user}"));
    }
    if !op.is_empty() {
        filters.push(format!("operation={op}"));
    }
    let mut path = format!("/audit-logs?page={page_no}&page_size={PAGE_SIZE}");
    if !filters.is_empty() {
        path.push_str(&format!("&q={}", enc(&filters.join(","))));
    }
    let list = load!(v, p.api.get(&v, &path).await);
    let entries: Vec<harbor_api_model::AuditLog> = load!(v, list.decode());
    let admin = v.user.sysadmin;
    let purges = if admin {
        p.api
            .get(&v, "/system/purgeaudit?page_size=10")
            .await
            .and_then(|a| a.decode::<Vec<m::ExecHistory>>())
            .ok()
    } else {
        None
    };
    let base = format!(
        "/admin/audit?q={}&operation={}&",
        enc(&q.q),
        enc(&q.operation)
    );
    let body = html! {
        h1 { "Audit log" }
        form.search method="get" action="/admin/audit" role="search" #audit-filter {
            label { span.sr { "Filter by user" }
                input #q type="search" name="q" value=(q.q) placeholder="Filter by user"; }
            label { span.sr { "Operation" }
                select #audit-operation name="operation" {
                    option value="" selected[op.is_empty()] { "Any operation" }
                    @for o in AUDIT_OPERATIONS { option value=(o) selected[op == o] { (o) } }
                }
            }
            button type="submit" { "Search" }
        }
        (super::project::audit_table(&entries))
        @if !list.items().is_empty() {
            (pager(&base, page_no, PAGE_SIZE, list.total()))
        }
        @if admin {
            section.card {
                h2 { "Purge old entries" }
                form.stack method="post" action="/admin/audit/purge" #audit-purge data-confirm="Purge the audit log entries older than the given age?" {
                    (csrf(&v))
                    label { "Keep entries newer than (hours)"
                        input name="keep_hours" #purge-hours type="number" min="0" max="87600" value="720" required; }
                    fieldset {
                        legend { "Operations to purge" }
                        @for o in AUDIT_OPERATIONS {
                            label.check { input type="checkbox" name="operation" value=(o) checked[o != "update"]; (o) }
                        }
                    }
                    label.check { input type="checkbox" name="dry_run" #purge-dry-run value="true"; "Dry run: only count what would be purged" }
                    button type="submit" #purge-run { "Purge now" }
                }
            }
            h2 { "Purge history" }
            @match &purges {
                Some(runs) if !runs.is_empty() => {
                    div.scroll { table #purge-history {
                        thead { tr { th { "Run" } th { "Status" } th { "Dry run" } th { "Kept (hours)" } th { "Operations" } th { "Purged" } th { "Started" } th.hide-sm { "Trigger" } } }
                        tbody { @for r in runs {
                            @let params: m::PurgeAuditParameters = r.params_as();
                            tr {
                                td { (r.id) }
                                (status_cell(r))
                                td { (if params.dry_run { "yes" } else { "no" }) }
                                td { (params.audit_retention_hour) }
                                td { (dash(&params.include_operations)) }
                                td { (r.progress_as::<m::PurgeAuditProgress>().purged) }
                                td { (at(r.start_time.as_deref().unwrap_or_default())) }
                                td.hide-sm { (dash(&r.job_kind)) }
                            }
                        } }
                    } }
                }
                _ => { (empty("The audit log has not been purged yet.")) }
            }
        }
    };
    page(Some(&v), "Audit log", body)
}

/// `POST /admin/audit/purge`: starts an audit log purge now. Read from the raw body: the
/// operation checkboxes repeat their name.
async fn purge_audit(v: Viewer, State(p): State<Portal>, body: String) -> Response {
    let (mut sent, mut hours, mut ops, mut dry_run) =
        (String::new(), String::new(), Vec::new(), false);
    for (k, val) in form_urlencoded::parse(body.as_bytes()) {
        match k.as_ref() {
            "_csrf" => sent = val.into_owned(),
            "keep_hours" => hours = val.trim().to_owned(),
            "operation" => ops.push(val.trim().to_owned()),
            "dry_run" => dry_run = true,
            _ => {}
        }
    }
    csrf_checked!(v, &sent);
    let back = "/admin/audit";
    let Ok(hours) = hours.parse::<i64>() else {
        return redirect_with(
            back,
            Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "The age to keep must be a whole number of hours.",
            )),
        );
    };
    if ops.is_empty() {
        return redirect_with(
            back,
            Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "Choose at least one operation to purge.",
            )),
        );
    }
    let body = json!({
        "schedule": { "type": "Manual" },
        "parameters": {
            "audit_retention_hour": hours,
            "include_operations": ops.join(","),
            "dry_run": dry_run,
        },
    });
    let r = p
        .api
        .send(&v, Method::POST, "/system/purgeaudit/schedule", Some(body))
        .await;
    let done = if dry_run {
        "Audit log purge (dry run) started."
    } else {
        "Audit log purge started."
    };
    redirect_with(back, r.map(|_| done.to_owned()))
}

// ---------------------------------------------------------------------------------------
// Settings

/// `GET /admin/settings`: read-only mode and the system CVE allowlist (changeable) and
/// the other settings (shown).
async fn settings(v: Viewer, State(p): State<Portal>) -> Response {
    let (conf, allowlist) = tokio::join!(
        p.api.get(&v, "/configurations"),
        p.api.get(&v, "/system/CVEAllowlist")
    );
    let conf = load!(v, conf);
    let allowlist: m::CveAllowlist = load!(v, load!(v, allowlist).decode());
    let conf: m::ConfigurationsResponse = load!(v, conf.decode());
    let read_only = conf
        .get("read_only")
        .and_then(|i| i.value.as_bool())
        .unwrap_or(false);
    let others: Vec<(&String, &m::ConfigItem)> =
        conf.iter().filter(|(k, _)| *k != "read_only").collect();
    let body = html! {
        h1 { "Settings" }
        section.card {
            h2 { "Read-only mode" }
            p { "Read-only mode is " strong #read-only-state { (if read_only { "on" } else { "off" }) } "." }
            p.small { "While it is on, the registry refuses pushes and every other change (deletions, garbage collection, new users, …); pulls keep working." }
            @if v.user.sysadmin {
                form.stack method="post" action="/admin/settings" #read-only-form {
                    (csrf(&v))
                    label.check { input type="checkbox" name="read_only" #read-only value="true" checked[read_only]; "Read-only" }
                    button type="submit" #save-settings { "Save" }
                }
            }
        }
        (super::allowlists::system_card(&v, &allowlist))
        section.card {
            h2 { "Other settings" }
            p.small { "These come from the server's configuration file and environment." }
            @if others.is_empty() { (empty("No other settings.")) } @else {
                dl.kv #settings {
                    @for (name, item) in &others {
                        dt { (name.replace('_', " ")) }
                        dd data-setting=(name) { (text(&item.value)) }
                    }
                }
            }
        }
    };
    page(Some(&v), "Settings", body)
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    read_only: Option<String>,
}

/// `POST /admin/settings`: turns read-only mode on (checkbox ticked) or off.
async fn save_settings(
    v: Viewer,
    State(p): State<Portal>,
    Form(f): Form<SettingsForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let on = f.read_only.is_some_and(|s| s != "false");
    let r = p
        .api
        .send(
            &v,
            Method::PUT,
            "/configurations",
            Some(json!({ "read_only": on })),
        )
        .await;
    let done = if on {
        "Read-only mode is on."
    } else {
        "Read-only mode is off."
    };
    redirect_with("/admin/settings", r.map(|_| done.to_owned()))
}

// ---------------------------------------------------------------------------------------
// System

/// `GET /system`: version and facts, component health, and (administrators) job queues.
async fn system(v: Viewer, State(p): State<Portal>) -> Response {
    let (info, health) = tokio::join!(p.api.get(&v, "/systeminfo"), p.api.get(&v, "/health"));
    let info = load!(v, info);
    let (overall, components, health_error) = match health.and_then(|h| h.decode()) {
        Ok(m::OverallHealthStatus { status, components }) => (status, components, None),
        Err(f) => ("unhealthy".to_owned(), Vec::new(), Some(f.message)),
    };
    let queues = if v.user.sysadmin {
        Some(
            p.api
                .get(&v, "/jobservice/queues")
                .await
                .and_then(|a| a.decode::<Vec<m::JobQueue>>()),
        )
    } else {
        None
    };
    let facts: Vec<(&String, &Value)> = info
        .body
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    let body = html! {
        h1 { "System" }
        section.card {
            h2 { "About" }
            dl.kv #system-info {
                dt { "Health" }
                dd #health-state class={ "status-" (overall) } { (overall) }
                @for (name, value) in &facts {
                    dt { (name.replace('_', " ")) }
                    dd data-info=(name) { (text(value)) }
                }
            }
        }
        section.card {
            h2 { "Components" }
            @if let Some(e) = &health_error { p.error { (e) } }
            @if components.is_empty() { (empty("No component reported its health.")) } @else {
                div.scroll { table #health {
                    thead { tr { th { "Component" } th { "Status" } } }
                    tbody { @for c in &components {
                        tr {
                            td { (dash(&c.name)) }
                            td class={ "status-" (c.status) } { (dash(&c.status)) }
                        }
                    } }
                } }
            }
        }
        @if let Some(queues) = &queues {
            section.card {
                h2 { "Job queues" }
                @match queues {
                    Ok(q) if !q.is_empty() => {
                        div.scroll { table #job-queues {
                            thead { tr { th { "Job type" } th { "Queued" } th { "Running" } th { "Paused" } } }
                            tbody { @for j in q { tr {
                                td { code { (j.job_type) } }
                                td { (j.count) }
                                td { (j.running) }
                                td { (yes_no(j.paused)) }
                            } } }
                        } }
                    }
                    Ok(_) => { (empty("No job queues.")) }
                    Err(f) => { p.error { (f.message) } }
                }
            }
        }
    };
    page(Some(&v), "System", body)
}
