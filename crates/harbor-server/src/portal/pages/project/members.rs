//! The Members tab: users and user groups; list, add, change a role, remove.

use super::*;

/// `GET /projects/{p}/members`.
pub(super) async fn members(
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
                thead { tr { th { "Member" } th { "Type" } th { "Role" } @if remove { th { "Actions" } } } }
                tbody { @for m in &members {
                    @let mid = m.id;
                    tr {
                        td { (m.entity_name) }
                        td.member-type { @if m.entity_type == "g" { "Group" } @else { "User" } }
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
            section.card {
                h2 { "Add a group" }
                form.row method="post" action={ (base) "/group" } #add-group {
                    (csrf(&v))
                    label { "Group (name or id)" input name="group" #group-ref required autocomplete="off"; }
                    label { "Role" select name="role_id" #group-role {
                        @for (id, label) in ROLES { option value=(id) selected[id == 2] { (label) } }
                    } }
                    button type="submit" { "Add group" }
                }
            }
        }
    };
    frame(&v, &h, "members", content)
}

#[derive(Deserialize)]
pub(super) struct MemberForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role_id: i64,
}

pub(super) async fn add_member(
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

#[derive(Deserialize)]
pub(super) struct GroupMemberForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    role_id: i64,
}

/// The id of the group `text` names: an id as is, else the one group with exactly that
/// name (found with the search every signed-in user may use).
async fn group_id(p: &Portal, v: &Viewer, text: &str) -> Result<i64, Failure> {
    if let Ok(id) = text.parse::<i64>() {
        return Ok(id);
    }
    let path = format!("/usergroups/search?groupname={}&page_size=100", enc(text));
    let found: Vec<m::UserGroupSearchItem> = p.api.get(v, &path).await?.decode()?;
    let ids: Vec<i64> = found
        .iter()
        .filter(|g| g.group_name == text)
        .map(|g| g.id)
        .collect();
    match ids.as_slice() {
        [id] => Ok(*id),
        [] => Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!("No group is named {text}."),
        )),
        _ => Err(Failure::new(
            StatusCode::CONFLICT,
            format!("Several groups are named {text}: give its id."),
        )),
    }
}

/// `POST /projects/{p}/members/group`: adds a user group with a role.
pub(super) async fn add_group_member(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<GroupMemberForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let group = f.group.trim().to_owned();
    let r = match group_id(&p, &v, &group).await {
        Ok(id) => {
            let path = format!("/projects/{}/members", enc(&name));
            let body = json!({ "role_id": f.role_id, "member_group": { "id": id } });
            p.api.send(&v, Method::POST, &path, Some(body)).await
        }
        Err(e) => Err(e),
    };
    redirect_with(
        &path_back(&name, "members"),
        r.map(|_| {
            format!(
                "The group {group} is now a {}.",
                role_name(f.role_id).to_lowercase()
            )
        }),
    )
}

pub(super) async fn set_role(
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

pub(super) async fn remove_member(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, mid)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("/projects/{}/members/{mid}", enc(&name));
    delete_and_back(&p, &v, &path, &name, "members", "Member removed.").await
}
