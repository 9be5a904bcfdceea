//! The Robot accounts tab: the project's robots, creating and deleting them.

use super::*;

/// The robot permissions offered in the portal: (resource, action, label).
pub(super) const ROBOT_ACCESS: [(&str, &str, &str); 6] = [
    ("repository", "pull", "Pull"),
    ("repository", "push", "Push"),
    ("repository", "delete", "Delete repositories"),
    ("artifact", "delete", "Delete artifacts"),
    ("tag", "create", "Create tags"),
    ("tag", "delete", "Delete tags"),
];

pub(super) fn robots_view(
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

pub(super) async fn robot_list(
    p: &Portal,
    v: &Viewer,
    h: &Head,
    q: &ListQuery,
) -> Result<Answer, Failure> {
    let path = robots_path(format!("Level=project,ProjectID={}", h.id()), q);
    p.api.get(v, &path).await
}

/// `GET /projects/{p}/robots`.
pub(super) async fn robots(
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
pub(super) async fn create_robot(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    body: String,
) -> Response {
    let form = RobotForm::parse(&body);
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

pub(super) async fn delete_robot(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("/robots/{id}");
    delete_and_back(&p, &v, &path, &name, "robots", "Robot account deleted.").await
}
