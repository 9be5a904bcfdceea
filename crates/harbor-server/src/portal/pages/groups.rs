//! Administration > Groups: the user groups (list, filter, create, rename, delete). The
//! API refuses non-administrators; the page also hides its forms from them. Groups
//! become project members on a project's Members tab.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use harbor_api_model as m;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::{Confirm, ListQuery, PAGE_SIZE, csrf_checked, load, term};
use crate::portal::Portal;
use crate::portal::backend::enc;
use crate::portal::layout::{action_button, csrf, empty, page, pager, search_box};
use crate::portal::viewer::{Viewer, redirect_with};

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/admin/groups", get(groups).post(create_group))
        .route("/admin/groups/{id}/rename", post(rename_group))
        .route("/admin/groups/{id}/delete", post(delete_group))
}

/// Harbor's group types, as the forms offer them.
pub(crate) const GROUP_TYPES: [(i64, &str); 3] = [(1, "LDAP"), (2, "HTTP"), (3, "OIDC")];

/// The label of a group type.
pub(crate) fn type_name(t: i64) -> &'static str {
    GROUP_TYPES
        .iter()
        .find(|(id, _)| *id == t)
        .map_or("?", |(_, n)| n)
}

/// `GET /admin/groups`: the groups (filtered by name, paged) and a create form.
async fn groups(v: Viewer, State(p): State<Portal>, Query(q): Query<ListQuery>) -> Response {
    let page_no = q.page();
    let mut path = format!("/usergroups?page={page_no}&page_size={PAGE_SIZE}");
    let t = term(&q.q);
    if !t.is_empty() {
        path.push_str(&format!("&group_name={}", enc(&t)));
    }
    let list = load!(v, p.api.get(&v, &path).await);
    let groups: Vec<m::UserGroup> = load!(v, list.decode());
    let body = html! {
        h1 { "Groups" }
        p.small { "Users belong to groups through LDAP, OIDC or an authentication proxy when they sign in. \
                   A group added to a project gives all its users its role there." }
        (search_box("/admin/groups", &q.q, "Filter groups by name"))
        @if groups.is_empty() {
            @if t.is_empty() { (empty("No groups.")) } @else { (empty("No group matches this filter.")) }
        } @else {
            div.scroll { table #groups {
                thead { tr { th { "Name" } th { "Type" } th.hide-sm { "LDAP DN" } th { "Actions" } } }
                tbody { @for g in &groups {
                    @let id = g.id.unwrap_or_default();
                    @let name = g.group_name.clone().unwrap_or_default();
                    tr data-group=(name) {
                        td { (name) }
                        td { (type_name(g.group_type.unwrap_or_default())) }
                        td.hide-sm { (g.ldap_group_dn.clone().unwrap_or_default()) }
                        td { div.actions {
                            form.inline method="post" action={ "/admin/groups/" (id) "/rename" } {
                                (csrf(&v))
                                label { span.sr { "New name for " (name) }
                                    input name="name" id={ "rename-" (id) } required autocomplete="off" placeholder="New name"; }
                                button.secondary type="submit" { "Rename" }
                            }
                            (action_button(&v, &format!("/admin/groups/{id}/delete"), "Delete",
                                &format!("Delete the group {name}? Its project memberships go with it.")))
                        } }
                    }
                } }
            } }
            (pager(&format!("/admin/groups?q={}&", enc(&q.q)), page_no, PAGE_SIZE, list.total()))
        }
        section.card {
            h2 { "New group" }
            form.stack method="post" action="/admin/groups" #new-group {
                (csrf(&v))
                label { "Name" input name="name" #group-name required autocomplete="off"; }
                label { "Type" select name="group_type" #group-type {
                    @for (id, label) in GROUP_TYPES { option value=(id) selected[id == 2] { (label) } }
                } }
                label { "LDAP DN (LDAP groups only)" input name="ldap_group_dn" #group-dn autocomplete="off"; }
                button type="submit" #create-group { "Create group" }
            }
        }
    };
    page(Some(&v), "Groups", body)
}

#[derive(Deserialize)]
struct GroupForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    group_type: i64,
    #[serde(default)]
    ldap_group_dn: String,
}

/// `POST /admin/groups`: creates a group.
async fn create_group(v: Viewer, State(p): State<Portal>, Form(f): Form<GroupForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let name = f.name.trim().to_owned();
    let mut body = json!({ "group_name": name, "group_type": f.group_type });
    if !f.ldap_group_dn.trim().is_empty() {
        body["ldap_group_dn"] = json!(f.ldap_group_dn.trim());
    }
    let r = p
        .api
        .send(&v, Method::POST, "/usergroups", Some(body))
        .await;
    redirect_with("/admin/groups", r.map(|_| format!("Group {name} created.")))
}

/// `POST /admin/groups/{id}/rename`.
async fn rename_group(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<GroupForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let name = f.name.trim().to_owned();
    let r = p
        .api
        .send(
            &v,
            Method::PUT,
            &format!("/usergroups/{id}"),
            Some(json!({ "group_name": name })),
        )
        .await;
    redirect_with(
        "/admin/groups",
        r.map(|_| format!("Group renamed to {name}.")),
    )
}

/// `POST /admin/groups/{id}/delete` (after the confirmation step).
async fn delete_group(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(&v, Method::DELETE, &format!("/usergroups/{id}"), None)
        .await;
    redirect_with("/admin/groups", r.map(|_| "Group deleted.".to_owned()))
}
