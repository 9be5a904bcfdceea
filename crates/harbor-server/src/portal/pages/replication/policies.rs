//! Replication policies (Administration > Replications): the list with each policy's last
//! execution, the create and edit form, "Replicate now", enable/disable and deletion.
//! The API's `PUT` replaces a policy, so an edit sends the whole form and keeps what the
//! form does not show (label and resource filters, chunked copy, single active run).

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use harbor_api_model as m;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::{created_id, filters_text, invalid, side, status, trigger_text, yes_no};
use crate::portal::Portal;
use crate::portal::backend::{Failure, enc};
use crate::portal::layout::{
    action_button, at, csrf, empty, page, page_with_code, pager, search_box,
};
use crate::portal::pages::{Confirm, ListQuery, PAGE_SIZE, csrf_checked, list_path, load};
use crate::portal::viewer::{Viewer, redirect_with};

pub(super) const BASE: &str = "/admin/replication";

pub(super) fn routes() -> Router<Portal> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route("/admin/replication/new", get(new))
        .route("/admin/replication/{id}", get(edit).post(update))
        .route("/admin/replication/{id}/run", post(run))
        .route("/admin/replication/{id}/enabled", post(set_enabled))
        .route("/admin/replication/{id}/delete", post(delete))
}

/// The triggers the form offers: (value, label).
const TRIGGERS: [(&str, &str); 3] = [
    ("manual", "Manual"),
    ("scheduled", "Scheduled (cron)"),
    (
        "event_based",
        "Event-based (on push and delete; push-based policies)",
    ),
];

/// `GET /admin/replication`: the policies (filtered by name, paged) with their last
/// execution.
async fn list(v: Viewer, State(p): State<Portal>, Query(q): Query<ListQuery>) -> Response {
    let path = list_path("/replication/policies", &q, "name");
    let list = load!(v, p.api.get(&v, &path).await);
    let policies: Vec<m::ReplicationPolicy> = load!(v, list.decode());
    let last: Vec<Option<m::ReplicationExecution>> =
        futures::future::join_all(policies.iter().map(|pol| {
            let path = format!(
                "/replication/executions?policy_id={}&page=1&page_size=1",
                pol.id
            );
            let (p, v) = (&p, &v);
            async move {
                p.api
                    .get(v, &path)
                    .await
                    .and_then(|a| a.decode::<Vec<m::ReplicationExecution>>())
                    .ok()
                    .and_then(|e| e.into_iter().next())
            }
        }))
        .await;
    let body = html! {
        div.actions {
            h1 { "Replications" }
            a.button href="/admin/replication/new" #new-policy { "New replication policy" }
            a href="/admin/replication/executions" { "All executions" }
            a href="/admin/registries" { "Registries" }
        }
        p.small { "Replication copies images between this registry and the remote registries: pushed from here, or pulled from there." }
        (search_box(BASE, &q.q, "Filter policies by name"))
        @if policies.is_empty() {
            @if crate::portal::pages::term(&q.q).is_empty() {
                (empty("No replication policies yet. Add a registry, then a policy that copies to or from it."))
            } @else { (empty("No policy matches this filter.")) }
        } @else {
            div.scroll { table #policies {
                thead { tr {
                    th { "Name" } th { "Source → destination" } th { "Trigger" } th.hide-sm { "Filters" }
                    th { "Enabled" } th { "Last execution" } th { "Actions" }
                } }
                tbody { @for (pol, last) in policies.iter().zip(&last) {
                    (row(&v, pol, last.as_ref()))
                } }
            } }
            (pager(&format!("{BASE}?q={}&", enc(&q.q)), q.page(), PAGE_SIZE, list.total()))
        }
    };
    page(Some(&v), "Replications", body)
}

fn row(v: &Viewer, pol: &m::ReplicationPolicy, last: Option<&m::ReplicationExecution>) -> Markup {
    let id = pol.id;
    html! {
        tr data-policy=(pol.name) {
            td { a href={ (BASE) "/" (id) } { (pol.name) }
                @if !pol.description.is_empty() { br; span.small { (pol.description) } } }
            td.sides { (side(pol.src_registry.as_ref())) " → " (side(pol.dest_registry.as_ref()))
                @if !pol.dest_namespace.is_empty() { br; span.small { "namespace " code { (pol.dest_namespace) } } } }
            td { (trigger_text(pol.trigger.as_ref())) }
            td.hide-sm { @for f in filters_text(&pol.filters) { span.badge { (f) } } }
            td.enabled { (yes_no(pol.enabled)) }
            td.last { @match last {
                Some(e) => {
                    a href={ "/admin/replication/executions/" (e.id) } { (status(&e.status)) }
                    br; span.small { (at(&e.start_time)) }
                }
                None => { span.small { "never run" } }
            } }
            td { div.actions {
                form.inline method="post" action={ (BASE) "/" (id) "/run" } {
                    (csrf(v))
                    button type="submit" data-run=(id) { "Replicate now" }
                }
                form.inline method="post" action={ (BASE) "/" (id) "/enabled" } {
                    (csrf(v))
                    input type="hidden" name="on" value=(if pol.enabled { "false" } else { "true" });
                    button.secondary type="submit" { (if pol.enabled { "Disable" } else { "Enable" }) }
                }
                a href={ "/admin/replication/executions?policy_id=" (id) } { "Executions" }
                (action_button(v, &format!("{BASE}/{id}/delete"), "Delete",
                    &format!("Delete the replication policy {}? Its executions are deleted with it.", pol.name)))
            } }
        }
    }
}

/// The policy form's fields, as typed (re-shown with the API's message when refused).
#[derive(Deserialize, Clone, Debug)]
struct PolicyForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    /// `push` (this registry → the remote one) or `pull`.
    #[serde(default)]
    direction: String,
    /// The remote registry's id.
    #[serde(default)]
    registry: String,
    #[serde(default)]
    name_filter: String,
    #[serde(default)]
    tag_filter: String,
    /// `matches` or `excludes`.
    #[serde(default)]
    tag_decoration: String,
    #[serde(default)]
    dest_namespace: String,
    #[serde(default)]
    replace_count: String,
    #[serde(default)]
    trigger: String,
    #[serde(default)]
    cron: String,
    #[serde(rename = "override", default)]
    override_: Option<String>,
    #[serde(default)]
    deletion: Option<String>,
    #[serde(default)]
    speed: String,
    #[serde(default)]
    enabled: Option<String>,
}

impl Default for PolicyForm {
    /// A new policy: push-based, manual, overriding, enabled.
    fn default() -> Self {
        PolicyForm {
            csrf: String::new(),
            name: String::new(),
            description: String::new(),
            direction: "push".into(),
            registry: String::new(),
            name_filter: String::new(),
            tag_filter: String::new(),
            tag_decoration: "matches".into(),
            dest_namespace: String::new(),
            replace_count: "-1".into(),
            trigger: "manual".into(),
            cron: String::new(),
            override_: Some("true".into()),
            deletion: None,
            speed: String::new(),
            enabled: Some("true".into()),
        }
    }
}

fn text_filter(pol: &m::ReplicationPolicy, kind: &str) -> Option<(String, String)> {
    pol.filters.iter().find(|f| f.kind == kind).map(|f| {
        (
            f.value.as_str().unwrap_or_default().to_owned(),
            f.decoration.clone(),
        )
    })
}

impl PolicyForm {
    /// The form filled from a stored policy.
    fn of(pol: &m::ReplicationPolicy) -> Self {
        let remote = |r: &Option<m::Registry>| r.as_ref().map(|r| r.id).filter(|id| *id > 0);
        let (direction, registry) = match (remote(&pol.src_registry), remote(&pol.dest_registry)) {
            (Some(src), _) => ("pull", src),
            (None, Some(dst)) => ("push", dst),
            (None, None) => ("push", 0),
        };
        let (tag, decoration) = text_filter(pol, "tag").unwrap_or_default();
        let flag = |on: bool| on.then(|| "true".to_owned());
        PolicyForm {
            csrf: String::new(),
            name: pol.name.clone(),
            description: pol.description.clone(),
            direction: direction.into(),
            registry: if registry > 0 {
                registry.to_string()
            } else {
                String::new()
            },
            name_filter: text_filter(pol, "name").unwrap_or_default().0,
            tag_filter: tag,
            tag_decoration: if decoration == "excludes" {
                decoration
            } else {
                "matches".into()
            },
            dest_namespace: pol.dest_namespace.clone(),
            replace_count: pol.dest_namespace_replace_count.unwrap_or(-1).to_string(),
            trigger: pol
                .trigger
                .as_ref()
                .map_or("manual".into(), |t| t.kind.clone()),
            cron: pol
                .trigger
                .as_ref()
                .and_then(|t| t.trigger_settings.as_ref())
                .map(|s| s.cron.clone())
                .unwrap_or_default(),
            override_: flag(pol.r#override),
            deletion: flag(pol.deletion || pol.replicate_deletion),
            speed: match pol.speed {
                Some(s) if s > 0 => s.to_string(),
                _ => String::new(),
            },
            enabled: flag(pol.enabled),
        }
    }

    /// The policy to send: the form's fields over `stored` (an edit keeps what the form
    /// does not show). Refuses fields that are not numbers before calling the API.
    fn policy(
        &self,
        stored: Option<&m::ReplicationPolicy>,
    ) -> Result<m::ReplicationPolicy, Failure> {
        let registry: i64 = self
            .registry
            .trim()
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| invalid("Choose the remote registry."))?;
        let replace_count: i8 = match self.replace_count.trim() {
            "" => -1,
            n => n.parse().ok().filter(|n| *n >= -1).ok_or_else(|| {
                invalid(
                    "The number of path components to replace is -1, 0 or a positive whole number.",
                )
            })?,
        };
        let speed: i32 = match self.speed.trim() {
            "" => 0,
            n => n.parse().ok().filter(|n| *n >= 0).ok_or_else(|| {
                invalid("The bandwidth is a whole number of kbit/s (0 or empty for unlimited).")
            })?,
        };
        let remote = Some(m::Registry {
            id: registry,
            ..Default::default()
        });
        let (src_registry, dest_registry) = match self.direction.as_str() {
            "push" => (None, remote),
            "pull" => (remote, None),
            _ => return Err(invalid("Choose push-based or pull-based replication.")),
        };
        let trigger = self.trigger.trim();
        if !TRIGGERS.iter().any(|(t, _)| *t == trigger) {
            return Err(invalid(
                "Choose a manual, scheduled or event-based trigger.",
            ));
        }
        let mut filters = Vec::new();
        let name = self.name_filter.trim();
        if !name.is_empty() {
            filters.push(m::ReplicationFilter {
                kind: "name".into(),
                value: json!(name),
                decoration: String::new(),
            });
        }
        let tag = self.tag_filter.trim();
        if !tag.is_empty() {
            filters.push(m::ReplicationFilter {
                kind: "tag".into(),
                value: json!(tag),
                decoration: if self.tag_decoration == "excludes" {
                    "excludes".into()
                } else {
                    "matches".into()
                },
            });
        }
        if let Some(s) = stored {
            filters.extend(
                s.filters
                    .iter()
                    .filter(|f| f.kind != "name" && f.kind != "tag")
                    .cloned(),
            );
        }
        let deletion = self.deletion.is_some();
        Ok(m::ReplicationPolicy {
            id: stored.map_or(0, |s| s.id),
            name: self.name.trim().to_owned(),
            description: self.description.trim().to_owned(),
            src_registry,
            dest_registry,
            dest_namespace: self.dest_namespace.trim().to_owned(),
            dest_namespace_replace_count: Some(replace_count),
            trigger: Some(m::ReplicationTrigger {
                kind: trigger.to_owned(),
                trigger_settings: Some(m::ReplicationTriggerSettings {
                    cron: if trigger == "scheduled" {
                        self.cron.trim().to_owned()
                    } else {
                        String::new()
                    },
                }),
            }),
            filters,
            replicate_deletion: deletion,
            deletion,
            r#override: self.override_.is_some(),
            enabled: self.enabled.is_some(),
            creation_time: String::new(),
            update_time: String::new(),
            speed: Some(speed),
            copy_by_chunk: stored.and_then(|s| s.copy_by_chunk),
            single_active_replication: stored.and_then(|s| s.single_active_replication),
        })
    }
}

/// The create or edit page: the form with `f`'s values, and `error` above it.
async fn form_page(
    v: &Viewer,
    p: &Portal,
    id: Option<i64>,
    f: &PolicyForm,
    error: Option<&Failure>,
) -> Response {
    let regs = load!(*v, p.api.get(v, "/registries?page=1&page_size=100").await);
    let registries: Vec<m::Registry> = load!(*v, regs.decode());
    let (title, action) = match id {
        Some(id) => (
            format!("Replication policy {}", f.name),
            format!("{BASE}/{id}"),
        ),
        None => ("New replication policy".to_owned(), BASE.to_owned()),
    };
    let body = html! {
        div.crumbs { a href=(BASE) { "Replications" } " / " }
        h1 { (title) }
        @if let Some(e) = error { p.error #form-error role="alert" { (e.message) } }
        @if let Some(id) = id {
            p { a href={ "/admin/replication/executions?policy_id=" (id) } { "Executions of this policy" } }
        }
        @if registries.is_empty() {
            (empty("There is no registry to replicate with yet."))
            p { a href="/admin/registries" { "Add a registry first." } }
        } @else {
            section.card {
                form.stack method="post" action=(action) #policy-form {
                    (csrf(v))
                    label { "Name" input name="name" #policy-name required maxlength="255" value=(f.name) autocomplete="off"; }
                    label { "Description" input name="description" #policy-description value=(f.description); }
                    fieldset.group {
                        legend { "Replication mode" }
                        label.check { input type="radio" name="direction" value="push" #policy-push checked[f.direction != "pull"];
                            "Push-based: from this registry to the remote one" }
                        label.check { input type="radio" name="direction" value="pull" #policy-pull checked[f.direction == "pull"];
                            "Pull-based: from the remote registry to this one" }
                    }
                    label { "Remote registry"
                        select name="registry" #policy-registry required {
                            option value="" { "Choose a registry" }
                            @for r in &registries {
                                @let value = r.id.to_string();
                                option value=(value) selected[value == f.registry] { (r.name) " (" (r.url) ")" }
                            }
                        }
                    }
                    fieldset.group {
                        legend { "Filters (empty: everything)" }
                        label { "Repository name (a pattern such as library/** or team/app)"
                            input name="name_filter" #policy-name-filter value=(f.name_filter) autocomplete="off"; }
                        label { "Tag (a pattern such as v* or {1.0,latest})"
                            input name="tag_filter" #policy-tag-filter value=(f.tag_filter) autocomplete="off"; }
                        label { "Tags that"
                            select name="tag_decoration" #policy-tag-decoration {
                                option value="matches" selected[f.tag_decoration != "excludes"] { "match the pattern are copied" }
                                option value="excludes" selected[f.tag_decoration == "excludes"] { "match the pattern are left out" }
                            }
                        }
                    }
                    label { "Destination namespace (empty keeps the source's names)"
                        input name="dest_namespace" #policy-namespace value=(f.dest_namespace) autocomplete="off"; }
                    label { "Path components the namespace replaces (-1: all but the name, 0: none, it is a prefix; n: the first n)"
                        input name="replace_count" #policy-replace-count type="number" min="-1" max="100" value=(f.replace_count); }
                    label { "Trigger"
                        select name="trigger" #policy-trigger {
                            @for (t, label) in TRIGGERS { option value=(t) selected[f.trigger == t] { (label) } }
                        }
                    }
                    label { "Cron, for a scheduled trigger (seconds minutes hours day month weekday; seconds 0)"
                        input name="cron" #policy-cron value=(f.cron) placeholder="0 0 2 * * *" autocomplete="off"; }
                    label.check { input type="checkbox" name="override" value="true" #policy-override checked[f.override_.is_some()];
                        "Override: replace destination tags that point to other artifacts" }
                    label.check { input type="checkbox" name="deletion" value="true" #policy-deletion checked[f.deletion.is_some()];
                        "Replicate deletions (event-based trigger)" }
                    label { "Bandwidth per task (kbit/s; empty or 0 for unlimited)"
                        input name="speed" #policy-speed type="number" min="0" value=(f.speed); }
                    label.check { input type="checkbox" name="enabled" value="true" #policy-enabled checked[f.enabled.is_some()]; "Enabled" }
                    button type="submit" #save-policy { @if id.is_some() { "Save" } @else { "Create policy" } }
                }
            }
        }
    };
    match error {
        Some(e) => page_with_code(v, e.status, &title, body),
        None => page(Some(v), &title, body),
    }
}

/// `GET /admin/replication/new`.
async fn new(v: Viewer, State(p): State<Portal>) -> Response {
    form_page(&v, &p, None, &PolicyForm::default(), None).await
}

/// `POST /admin/replication`: creates a policy; refused, the form again with the API's
/// message and the values typed.
async fn create(v: Viewer, State(p): State<Portal>, Form(f): Form<PolicyForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = match f.policy(None).and_then(body) {
        Ok(body) => {
            p.api
                .send(&v, Method::POST, "/replication/policies", Some(body))
                .await
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => redirect_with(
            BASE,
            Ok(format!("Replication policy {} created.", f.name.trim())),
        ),
        Err(e) => form_page(&v, &p, None, &f, Some(&e)).await,
    }
}

/// A policy as the API's JSON body.
fn body(pol: m::ReplicationPolicy) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(pol)
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn stored(p: &Portal, v: &Viewer, id: i64) -> Result<m::ReplicationPolicy, Failure> {
    p.api
        .get(v, &format!("/replication/policies/{id}"))
        .await?
        .decode()
}

/// `GET /admin/replication/{id}`: the edit form.
async fn edit(v: Viewer, State(p): State<Portal>, Path(id): Path<i64>) -> Response {
    let pol = load!(v, stored(&p, &v, id).await);
    form_page(&v, &p, Some(id), &PolicyForm::of(&pol), None).await
}

/// `POST /admin/replication/{id}`: replaces the policy with the form's settings (and
/// what the form does not show, kept).
async fn update(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<PolicyForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = match stored(&p, &v, id).await {
        Ok(old) => match f.policy(Some(&old)).and_then(body) {
            Ok(body) => {
                p.api
                    .send(
                        &v,
                        Method::PUT,
                        &format!("/replication/policies/{id}"),
                        Some(body),
                    )
                    .await
            }
            Err(e) => Err(e),
        },
        Err(e) => return redirect_with(BASE, Err(e)),
    };
    match r {
        Ok(_) => redirect_with(
            BASE,
            Ok(format!("Replication policy {} saved.", f.name.trim())),
        ),
        Err(e) => form_page(&v, &p, Some(id), &f, Some(&e)).await,
    }
}

/// `POST /admin/replication/{id}/run`: starts an execution and opens it; the API's
/// message when it refuses (409 while one runs, 412 for a disabled policy).
async fn run(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(
            &v,
            Method::POST,
            "/replication/executions",
            Some(json!({ "policy_id": id })),
        )
        .await;
    match r {
        Ok(a) => match created_id(&a.headers) {
            Some(e) => redirect_with(
                &format!("/admin/replication/executions/{e}"),
                Ok("Replication started.".to_owned()),
            ),
            None => redirect_with(
                &format!("/admin/replication/executions?policy_id={id}"),
                Ok("Replication started.".to_owned()),
            ),
        },
        Err(e) => redirect_with(BASE, Err(e)),
    }
}

#[derive(Deserialize)]
struct EnabledForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    on: String,
}

/// `POST /admin/replication/{id}/enabled`: enables (`on=true`) or disables the policy.
async fn set_enabled(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<EnabledForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let on = f.on.trim() == "true";
    let r = match stored(&p, &v, id).await {
        Ok(pol) => match body(m::ReplicationPolicy { enabled: on, ..pol }) {
            Ok(b) => {
                p.api
                    .send(
                        &v,
                        Method::PUT,
                        &format!("/replication/policies/{id}"),
                        Some(b),
                    )
                    .await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let done = if on {
        "Replication policy enabled."
    } else {
        "Replication policy disabled: it no longer runs."
    };
    redirect_with(BASE, r.map(|_| done.to_owned()))
}

/// `POST /admin/replication/{id}/delete`: the API refuses (412) while it runs.
async fn delete(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(
            &v,
            Method::DELETE,
            &format!("/replication/policies/{id}"),
            None,
        )
        .await;
    redirect_with(BASE, r.map(|_| "Replication policy deleted.".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_round_trips_a_policy_and_keeps_what_it_does_not_show() {
        let stored = m::ReplicationPolicy {
            id: 4,
            name: "p".into(),
            src_registry: Some(m::Registry {
                id: 0,
                name: "Local".into(),
                ..Default::default()
            }),
            dest_registry: Some(m::Registry {
                id: 7,
                ..Default::default()
            }),
            filters: vec![
                m::ReplicationFilter {
                    kind: "tag".into(),
                    value: json!("tmp-*"),
                    decoration: "excludes".into(),
                },
                m::ReplicationFilter {
                    kind: "resource".into(),
                    value: json!("image"),
                    decoration: String::new(),
                },
            ],
            dest_namespace_replace_count: Some(1),
            speed: Some(-1),
            enabled: true,
            copy_by_chunk: Some(true),
            ..Default::default()
        };
        let f = PolicyForm::of(&stored);
        assert_eq!((f.direction.as_str(), f.registry.as_str()), ("push", "7"));
        assert_eq!(
            (f.tag_filter.as_str(), f.tag_decoration.as_str()),
            ("tmp-*", "excludes")
        );
        assert_eq!(f.speed, "", "unlimited shows as empty");
        let back = f.policy(Some(&stored)).unwrap();
        assert_eq!(back.dest_registry.as_ref().map(|r| r.id), Some(7));
        assert!(back.src_registry.is_none());
        assert_eq!(back.filters, stored.filters);
        assert_eq!(back.copy_by_chunk, Some(true));
        assert_eq!(back.dest_namespace_replace_count, Some(1));
        assert_eq!(back.speed, Some(0));

        let mut bad = PolicyForm::default();
        assert!(bad.policy(None).is_err(), "no registry chosen");
        bad.registry = "7".into();
        bad.speed = "fast".into();
        assert!(bad.policy(None).unwrap_err().message.contains("kbit/s"));
        bad.speed = String::new();
        bad.replace_count = "-2".into();
        assert!(bad.policy(None).is_err());
        bad.replace_count = "0".into();
        bad.direction = "pull".into();
        let pull = bad.policy(None).unwrap();
        assert_eq!(pull.src_registry.map(|r| r.id), Some(7));
        assert!(pull.dest_registry.is_none());
    }
}
