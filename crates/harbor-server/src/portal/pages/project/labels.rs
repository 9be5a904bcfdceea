//! The Labels tab: the project's own labels.

use super::*;

/// `GET /projects/{p}/labels`: the project's labels (scope `p`), a create form and
/// delete buttons for the roles that may use them.
pub(super) async fn labels(
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
    let filter = term(&q.q);
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
pub(super) struct LabelForm {
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
pub(super) async fn create_label(
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
pub(super) async fn delete_label(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("/labels/{id}");
    delete_and_back(&p, &v, &path, &name, "labels", "Label deleted.").await
}
