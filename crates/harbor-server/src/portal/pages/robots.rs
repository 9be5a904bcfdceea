//! System robot accounts (administrators): the list, creation with system-level
//! permissions (the secret shown once, on the answer page itself) and deletion. Project
//! robots live on their project's "Robot accounts" tab.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use harbor_api_model as m;
use maud::html;

use super::{Confirm, ListQuery, PAGE_SIZE, csrf_checked, load};
use crate::portal::Portal;
use crate::portal::backend::enc;
use crate::portal::layout::{action_button, csrf, empty, page, pager, search_box};
use crate::portal::viewer::{Viewer, redirect_with};

const BASE: &str = "/admin/robots";

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route("/admin/robots/{id}/delete", post(delete))
}

/// The list and the creation form; `created` is shown once, above the list.
async fn view(
    v: &Viewer,
    p: &Portal,
    q: &ListQuery,
    created: Option<&m::RobotCreated>,
) -> Response {
    let path = super::robots_path("Level=system".to_owned(), q);
    let list = load!(*v, p.api.get(v, &path).await);
    let robots: Vec<m::Robot> = load!(*v, list.decode());
    let body = html! {
        h1 { "System robot accounts" }
        (search_box(BASE, &q.q, "Filter robot accounts by name"))
        @if let Some(c) = created {
            div.secret role="status" #robot-secret-box {
                p { "Robot account " strong #robot-name { (c.name) } " created. Copy its secret now: it is shown only once." }
                (crate::portal::layout::copyable("robot-secret", &c.secret))
            }
        }
        @if robots.is_empty() { (empty("No system robot accounts.")) } @else {
            div.scroll { table #system-robots {
                thead { tr { th { "Name" } th { "Permissions" } th { "Status" } th.hide-sm { "Expires" } th { "Actions" } } }
                tbody { @for r in &robots {
                    tr {
                        td { code { (r.name) } br; span.small { (r.description) } }
                        td { @for perm in &r.permissions {
                            @for a in &perm.access {
                                span.badge { @if perm.kind == "project" { (perm.namespace) "/" } (a.resource) ":" (a.action) }
                            }
                        } }
                        td { @if r.disable { "disabled" } @else { "enabled" } }
                        td.hide-sm { (crate::portal::layout::expiry(r.expires_at, harbor_core::model::now_ms() / 1000)) }
                        td { (action_button(v, &format!("{BASE}/{}/delete", r.id), "Delete", "Delete this robot account? Clients using it lose access.")) }
                    }
                } }
            } }
        }
        (pager(&format!("{BASE}?q={}&", enc(&q.q)), q.page(), PAGE_SIZE, list.total()))
        section.card {
            h2 { "New system robot account" }
            form.stack method="post" action=(BASE) #new-system-robot {
                (csrf(v))
                label { "Name" input name="name" #robot-name-input required pattern="[a-z0-9]+(?:[._-][a-z0-9]+)*"; }
                label { "Description" input name="description"; }
                label { "Expires after (days, -1 = never)" input name="duration" type="number" value="-1" min="-1"; }
                fieldset {
                    legend { "System permissions" }
                    @for (res, act) in harbor_auth::robot::SYSTEM_ACCESS {
                        label.check { input type="checkbox" name="access" value={ (res) ":" (act) }; (res) ":" (act) }
                    }
                }
                button type="submit" #create-robot { "Create robot account" }
            }
        }
    };
    page(Some(v), "System robot accounts", body)
}

/// `GET /admin/robots`.
async fn list(v: Viewer, State(p): State<Portal>, Query(q): Query<ListQuery>) -> Response {
    view(&v, &p, &q, None).await
}

/// `POST /admin/robots`: creates it and shows the secret on the answer page itself
/// (never in a redirect, a cookie or a log).
async fn create(v: Viewer, State(p): State<Portal>, body: String) -> Response {
    let form = super::RobotForm::parse(&body);
    csrf_checked!(v, &form.csrf);
    let body = form.body("system", "system", "/");
    let created: m::RobotCreated = match p.api.send(&v, Method::POST, "/robots", Some(body)).await {
        Ok(a) => load!(v, a.decode()),
        Err(e) => return redirect_with(BASE, Err(e)),
    };
    view(&v, &p, &ListQuery::default(), Some(&created)).await
}

/// `POST /admin/robots/{id}/delete`.
async fn delete(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(&v, Method::DELETE, &format!("/robots/{id}"), None)
        .await;
    redirect_with(BASE, r.map(|_| "Robot account deleted.".to_owned()))
}
