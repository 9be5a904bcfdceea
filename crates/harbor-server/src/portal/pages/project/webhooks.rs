//! The Webhooks tab: a project's webhook policies with their targets (never an auth
//! header: the API answers `*****` and the pages say only that one is stored), enabled
//! state and event types; the create and edit form, enable/disable, test (the results as
//! the flash message) and delete; the last trigger per event type; a policy's page with
//! its executions (status, event type, time, attempts), and each execution's log.
//! Project admins manage policies; maintainers read them (`notification-policy`).

use super::*;

pub(super) fn routes() -> Router<Portal> {
    Router::new()
        .route("/projects/{p}/webhooks", get(webhooks).post(create_webhook))
        .route("/projects/{p}/webhooks/new", get(new_webhook))
        .route(
            "/projects/{p}/webhooks/{id}",
            get(webhook).post(update_webhook),
        )
        .route("/projects/{p}/webhooks/{id}/edit", get(edit_webhook))
        .route("/projects/{p}/webhooks/{id}/enabled", post(set_enabled))
        .route("/projects/{p}/webhooks/{id}/test", post(test_webhook))
        .route("/projects/{p}/webhooks/{id}/delete", post(delete_webhook))
        .route(
            "/projects/{p}/webhooks/{id}/executions/{eid}",
            get(execution),
        )
}

/// The API's webhook paths of project `name`.
fn api_base(name: &str) -> String {
    format!("/projects/{}/webhook", enc(name))
}

/// The portal's webhook pages of project `name`.
fn base(name: &str) -> String {
    path_back(name, "webhooks")
}

/// The policy tab's 403 for roles without `notification-policy` read.
fn refused(v: &Viewer, h: &Head) -> Response {
    not_allowed(
        v,
        h,
        "webhooks",
        "its webhooks",
        "Maintainers see them; project admins manage them.",
    )
}

/// A status (`Success`, `Error`, `Pending`...), classed `status-<status>`.
fn status(s: &str) -> Markup {
    html! { span class={ "status-" (s) } { (dash(s)) } }
}

/// A string attribute of an execution or task (`event_type`, `address`, `payload`).
fn attr(attrs: &std::collections::BTreeMap<String, serde_json::Value>, key: &str) -> String {
    attrs
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// `GET /projects/{p}/webhooks`: the policies, the last trigger per event type, and a
/// link to the create form for those who may create.
pub(super) async fn webhooks(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    if !h.can(Resource::NotificationPolicy, Action::List) {
        return refused(&v, &h);
    }
    let api = api_base(&name);
    let (list_path, triggers_path) = (
        format!("{api}/policies?page=1&page_size=100"),
        format!("{api}/lasttrigger"),
    );
    let (list, triggers) = tokio::join!(p.api.get(&v, &list_path), p.api.get(&v, &triggers_path));
    let list = load!(v, list);
    let policies: Vec<m::WebhookPolicy> = load!(v, list.decode());
    let triggers: Vec<m::WebhookLastTrigger> = load!(v, triggers.and_then(|a| a.decode()));
    let base = base(&name);
    let (update, delete) = (
        h.can(Resource::NotificationPolicy, Action::Update),
        h.can(Resource::NotificationPolicy, Action::Delete),
    );
    let test = h.can(Resource::NotificationPolicy, Action::Create);
    let content = html! {
        div.actions {
            p.small { "Webhooks post this project's events (pushes, pulls, deletions, scans, quota and replication events) to HTTP receivers or Slack." }
            @if h.can(Resource::NotificationPolicy, Action::Create) {
                a.button href={ (base) "/new" } #new-webhook { "New webhook" }
            }
        }
        @if policies.is_empty() {
            (empty("No webhooks yet."))
        } @else {
            div.scroll { table #webhooks {
                thead { tr {
                    th { "Name" } th { "Targets" } th { "Event types" } th { "Enabled" }
                    th.hide-sm { "Created by" }
                    @if update || delete || test { th { "Actions" } }
                } }
                tbody { @for pol in &policies {
                    (row(&v, &base, pol, update, delete, test))
                } }
            } }
            @if list.total() > policies.len() as u64 {
                p.small { "The first " (policies.len()) " of " (list.total()) " policies." }
            }
        }
        section.card {
            h2 { "Last triggers" }
            @if triggers.is_empty() { (empty("No policy sends anything yet.")) } @else {
                div.scroll { table #webhook-triggers {
                    thead { tr { th { "Policy" } th { "Event type" } th { "Enabled" } th { "Last sent" } } }
                    tbody { @for t in &triggers {
                        tr data-policy=(t.policy_name) data-event=(t.event_type) {
                            td { (t.policy_name) }
                            td { code { (t.event_type) } }
                            td { (yes_no(t.enabled)) }
                            td.last { (t.last_trigger_time.as_deref().map_or("never".to_owned(), at)) }
                        }
                    } }
                } }
            }
        }
    };
    frame(&v, &h, "webhooks", content)
}

fn row(
    v: &Viewer,
    base: &str,
    pol: &m::WebhookPolicy,
    update: bool,
    delete: bool,
    test: bool,
) -> Markup {
    let id = pol.id;
    html! {
        tr data-policy=(pol.name) {
            td { a href={ (base) "/" (id) } { (pol.name) }
                @if !pol.description.is_empty() { br; span.small { (pol.description) } } }
            td.targets { @for t in &pol.targets {
                div {
                    span.badge { (t.kind) } " " code { (t.address) }
                    @if let Some(f) = &t.payload_format { " " span.small { (f) } }
                    @if t.auth_header.is_some() { " " span.small { "(auth header stored)" } }
                    @if t.skip_cert_verify { " " span.small { "(certificate not verified)" } }
                }
            } }
            td { @for e in &pol.event_types { div { code { (e) } } } }
            td.enabled { (yes_no(pol.enabled)) }
            td.hide-sm { (dash(&pol.creator)) }
            @if update || delete || test { td { div.actions {
                @if test {
                    form.inline method="post" action={ (base) "/" (id) "/test" } {
                        (csrf(v))
                        button.secondary type="submit" data-test=(id) { "Test" }
                    }
                }
                @if update {
                    a href={ (base) "/" (id) "/edit" } { "Edit" }
                    form.inline method="post" action={ (base) "/" (id) "/enabled" } {
                        (csrf(v))
                        input type="hidden" name="on" value=(if pol.enabled { "false" } else { "true" });
                        button.secondary type="submit" data-toggle=(id) { (if pol.enabled { "Disable" } else { "Enable" }) }
                    }
                }
                @if delete {
                    (action_button(v, &format!("{base}/{id}/delete"), "Delete",
                        &format!("Delete the webhook {}? Its executions are deleted with it.", pol.name)))
                }
            } } }
        }
    }
}

/// The form's fields, as typed (shown again with the API's message when refused).
/// `event_types` repeats, so the form is read from the raw body.
#[derive(Clone, Debug, Default)]
struct HookForm {
    csrf: String,
    name: String,
    description: String,
    address: String,
    kind: String,
    format: String,
    auth_header: String,
    remove_auth: bool,
    skip_cert_verify: bool,
    events: Vec<String>,
    enabled: bool,
}

impl HookForm {
    /// A new policy: HTTP, Default payload, pushes, enabled.
    fn new() -> Self {
        HookForm {
            kind: "http".into(),
            format: "Default".into(),
            events: vec!["PUSH_ARTIFACT".into()],
            enabled: true,
            ..HookForm::default()
        }
    }

    fn parse(body: &str) -> Self {
        let mut f = HookForm::default();
        for (k, val) in form_urlencoded::parse(body.as_bytes()) {
            match k.as_ref() {
                "_csrf" => f.csrf = val.into_owned(),
                "name" => f.name = val.trim().to_owned(),
                "description" => f.description = val.trim().to_owned(),
                "address" => f.address = val.trim().to_owned(),
                "type" => f.kind = val.into_owned(),
                "payload_format" => f.format = val.into_owned(),
                "auth_header" => f.auth_header = val.trim().to_owned(),
                "remove_auth" => f.remove_auth = true,
                "skip_cert_verify" => f.skip_cert_verify = true,
                "event_types" => f.events.push(val.into_owned()),
                "enabled" => f.enabled = true,
                _ => {}
            }
        }
        f
    }

    /// The form filled from a stored policy (its first target; the header left empty).
    fn of(pol: &m::WebhookPolicy) -> Self {
        let t = pol.targets.first().cloned().unwrap_or_default();
        HookForm {
            csrf: String::new(),
            name: pol.name.clone(),
            description: pol.description.clone(),
            address: t.address,
            kind: t.kind,
            format: t.payload_format.unwrap_or_else(|| "Default".into()),
            auth_header: String::new(),
            remove_auth: false,
            skip_cert_verify: t.skip_cert_verify,
            events: pol.event_types.clone(),
            enabled: pol.enabled,
        }
    }

    /// The policy to send: the form's target first, then the stored policy's other
    /// targets (their masked headers keep the stored ones). An empty header field keeps
    /// the stored header (the API's `*****`), unless removal is ticked (an empty one).
    fn policy(&self, stored: Option<&m::WebhookPolicy>) -> m::WebhookPolicy {
        let auth_header = if !self.auth_header.is_empty() {
            Some(self.auth_header.clone())
        } else if self.remove_auth && stored.is_some() {
            Some(String::new())
        } else {
            None
        };
        let slack = self.kind == "slack";
        let mut targets = vec![m::WebhookTargetObject {
            kind: self.kind.clone(),
            address: self.address.clone(),
            auth_header,
            skip_cert_verify: self.skip_cert_verify,
            payload_format: (!slack).then(|| self.format.clone()),
        }];
        if let Some(s) = stored {
            targets.extend(s.targets.iter().skip(1).cloned());
        }
        m::WebhookPolicy {
            name: self.name.clone(),
            description: self.description.clone(),
            targets,
            event_types: self.events.clone(),
            enabled: self.enabled,
            ..m::WebhookPolicy::default()
        }
    }
}

/// The API's JSON body of a policy.
fn body(pol: &m::WebhookPolicy) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(pol)
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// The create or edit form with `f`'s values and `error` above it; `stored` is the
/// policy being edited.
async fn form_page(
    v: &Viewer,
    p: &Portal,
    h: &Head,
    stored: Option<&m::WebhookPolicy>,
    f: &HookForm,
    error: Option<&Failure>,
) -> Response {
    let name = h.name();
    let supported: m::SupportedWebhookEventTypes = load!(
        *v,
        p.api
            .get(v, &format!("{}/events", api_base(name)))
            .await
            .and_then(|a| a.decode())
    );
    let base = base(name);
    let (title, action) = match stored {
        Some(s) => (
            format!("Edit webhook {}", s.name),
            format!("{base}/{}", s.id),
        ),
        None => ("New webhook".to_owned(), base.clone()),
    };
    let header_stored = stored
        .and_then(|s| s.targets.first())
        .is_some_and(|t| t.auth_header.is_some());
    let formats: Vec<String> = supported
        .payload_formats
        .iter()
        .find(|pf| pf.notify_type == "http")
        .map_or_else(|| vec!["Default".to_owned()], |pf| pf.formats.clone());
    let content = html! {
        div.crumbs { a href=(base) { "Webhooks" } " / " }
        h2 { (title) }
        @if let Some(e) = error { p.error #form-error role="alert" { (e.message) } }
        section.card {
            form.stack method="post" action=(action) #webhook-form {
                (csrf(v))
                label { "Name" input name="name" #webhook-name required maxlength="255" value=(f.name) autocomplete="off"; }
                label { "Description" input name="description" #webhook-description value=(f.description); }
                label { "Notify type"
                    select name="type" #webhook-type {
                        @for t in &supported.notify_type { option value=(t) selected[f.kind == *t] { (t) } }
                    }
                }
                label { "Payload format (HTTP only)"
                    select name="payload_format" #webhook-format {
                        @for fmt in &formats { option value=(fmt) selected[f.format == *fmt] { (fmt) } }
                    }
                }
                label { "Endpoint URL"
                    input name="address" #webhook-address type="url" required value=(f.address)
                        placeholder="https://ci.example.com/hook" autocomplete="off"; }
                label { @if header_stored { "Auth header (one is stored: leave empty to keep it for the same endpoint)" } @else { "Auth header (sent as Authorization; optional)" }
                    input name="auth_header" #webhook-auth type="password" autocomplete="new-password"; }
                @if header_stored {
                    label.check { input type="checkbox" name="remove_auth" value="true" #webhook-remove-auth; "Remove the stored auth header" }
                }
                label.check { input type="checkbox" name="skip_cert_verify" value="true" #webhook-skip-verify checked[f.skip_cert_verify];
                    "Skip verifying the receiver's certificate" }
                fieldset.group #webhook-events {
                    legend { "Event types" }
                    @for e in &supported.event_type {
                        label.check { input type="checkbox" name="event_types" value=(e) checked[f.events.contains(e)]; code { (e) } }
                    }
                }
                label.check { input type="checkbox" name="enabled" value="true" #webhook-enabled checked[f.enabled]; "Enabled" }
                button type="submit" #save-webhook { @if stored.is_some() { "Save" } @else { "Create webhook" } }
            }
        }
    };
    let mut resp = frame(v, h, "webhooks", content);
    if let Some(e) = error {
        *resp.status_mut() = e.status;
    }
    resp
}

/// `GET /projects/{p}/webhooks/new`.
pub(super) async fn new_webhook(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    if !h.can(Resource::NotificationPolicy, Action::Create) {
        return not_allowed(
            &v,
            &h,
            "webhooks",
            "creating webhooks",
            "Project admins create them.",
        );
    }
    form_page(&v, &p, &h, None, &HookForm::new(), None).await
}

/// `POST /projects/{p}/webhooks`: creates a policy, or shows the form again with the
/// API's refusal.
pub(super) async fn create_webhook(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    raw: String,
) -> Response {
    let f = HookForm::parse(&raw);
    csrf_checked!(v, &f.csrf);
    let path = format!("{}/policies", api_base(&name));
    let r = match body(&f.policy(None)) {
        Ok(b) => p.api.send(&v, Method::POST, &path, Some(b)).await,
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => redirect_with(&base(&name), Ok(format!("Webhook {} created.", f.name))),
        Err(e) => {
            let h = load!(v, head(&p, &v, &name).await);
            form_page(&v, &p, &h, None, &f, Some(&e)).await
        }
    }
}

async fn stored(p: &Portal, v: &Viewer, name: &str, id: i64) -> Result<m::WebhookPolicy, Failure> {
    p.api
        .get(v, &format!("{}/policies/{id}", api_base(name)))
        .await?
        .decode()
}

/// `GET /projects/{p}/webhooks/{id}/edit`.
pub(super) async fn edit_webhook(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
) -> Response {
    let (h, pol) = tokio::join!(head(&p, &v, &name), stored(&p, &v, &name, id));
    let h = load!(v, h);
    if !h.can(Resource::NotificationPolicy, Action::Update) {
        return not_allowed(
            &v,
            &h,
            "webhooks",
            "changing webhooks",
            "Project admins change them.",
        );
    }
    let pol = load!(v, pol);
    form_page(&v, &p, &h, Some(&pol), &HookForm::of(&pol), None).await
}

/// `POST /projects/{p}/webhooks/{id}`: replaces the policy with the form's settings.
pub(super) async fn update_webhook(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    raw: String,
) -> Response {
    let f = HookForm::parse(&raw);
    csrf_checked!(v, &f.csrf);
    let pol = match stored(&p, &v, &name, id).await {
        Ok(pol) => pol,
        Err(e) => return redirect_with(&base(&name), Err(e)),
    };
    let path = format!("{}/policies/{id}", api_base(&name));
    let r = match body(&f.policy(Some(&pol))) {
        Ok(b) => p.api.send(&v, Method::PUT, &path, Some(b)).await,
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => redirect_with(&base(&name), Ok(format!("Webhook {} saved.", f.name))),
        Err(e) => {
            let h = load!(v, head(&p, &v, &name).await);
            form_page(&v, &p, &h, Some(&pol), &f, Some(&e)).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct EnabledForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    on: String,
}

/// `POST /projects/{p}/webhooks/{id}/enabled`: the stored policy sent back with
/// `enabled` changed (its masked headers keep the stored ones).
pub(super) async fn set_enabled(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<EnabledForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let on = f.on == "true";
    let r = async {
        let mut pol = stored(&p, &v, &name, id).await?;
        pol.enabled = on;
        let path = format!("{}/policies/{id}", api_base(&name));
        p.api
            .send(&v, Method::PUT, &path, Some(body(&pol)?))
            .await?;
        Ok(format!(
            "Webhook {} {}.",
            pol.name,
            if on { "enabled" } else { "disabled" }
        ))
    }
    .await;
    redirect_with(&base(&name), r)
}

/// `POST /projects/{p}/webhooks/{id}/test`: sends a test event to each target; the
/// results come back as the flash message.
pub(super) async fn test_webhook(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("{}/policies/{id}/test", api_base(&name));
    let r = p.api.send(&v, Method::POST, &path, None).await;
    let results: Result<Vec<m::WebhookTestResult>, Failure> = r.and_then(|a| a.decode());
    let message = results.and_then(|results| {
        let text = results
            .iter()
            .map(|r| {
                let word = if r.success { "OK" } else { "failed" };
                format!("{}: {word} ({})", r.address, r.message)
            })
            .collect::<Vec<_>>()
            .join("; ");
        if results.iter().all(|r| r.success) {
            Ok(format!("Test event sent. {text}"))
        } else {
            Err(Failure::new(
                StatusCode::BAD_GATEWAY,
                format!("Test event failed. {text}"),
            ))
        }
    });
    redirect_with(&base(&name), message)
}

/// `POST /projects/{p}/webhooks/{id}/delete`.
pub(super) async fn delete_webhook(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("{}/policies/{id}", api_base(&name));
    delete_and_back(&p, &v, &path, &name, "webhooks", "Webhook deleted.").await
}

/// `?status=&page=` of a policy's page.
#[derive(Deserialize, Default)]
pub(super) struct ExecQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: Option<u64>,
}

const STATUSES: [&str; 5] = ["Pending", "Running", "Success", "Error", "Stopped"];

/// `GET /projects/{p}/webhooks/{id}`: the policy and its executions (newest first,
/// filtered by status), each with its attempts and a link to its log.
pub(super) async fn webhook(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Query(q): Query<ExecQuery>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    if !h.can(Resource::NotificationPolicy, Action::Read) {
        return refused(&v, &h);
    }
    let page_no = q.page.unwrap_or(1).max(1);
    let status_filter = STATUSES
        .iter()
        .find(|s| **s == q.status)
        .copied()
        .unwrap_or("");
    let api = format!("{}/policies/{id}", api_base(&name));
    let mut exec_path = format!("{api}/executions?page={page_no}&page_size={PAGE_SIZE}");
    if !status_filter.is_empty() {
        exec_path.push_str(&format!("&status={status_filter}"));
    }
    let (pol, list) = tokio::join!(p.api.get(&v, &api), p.api.get(&v, &exec_path));
    let pol: m::WebhookPolicy = load!(v, pol.and_then(|a| a.decode()));
    let list = load!(v, list);
    let executions: Vec<m::Execution> = load!(v, list.decode());
    // Each execution has one task, whose run count is its attempts.
    let attempts: Vec<Option<i32>> = futures::future::join_all(executions.iter().map(|e| {
        let path = format!("{api}/executions/{}/tasks", e.id);
        let (p, v) = (&p, &v);
        async move {
            p.api
                .get(v, &path)
                .await
                .and_then(|a| a.decode::<Vec<m::Task>>())
                .ok()
                .and_then(|t| t.first().map(|t| t.run_count))
        }
    }))
    .await;
    let base = base(&name);
    let here = format!("{base}/{id}");
    let content = html! {
        div.crumbs { a href=(base) { "Webhooks" } " / " }
        div.actions {
            h2 #webhook-title { (pol.name) }
            @if pol.enabled { span.badge { "enabled" } } @else { span.badge { "disabled" } }
            @if h.can(Resource::NotificationPolicy, Action::Update) { a href={ (here) "/edit" } #edit-webhook { "Edit" } }
        }
        @if !pol.description.is_empty() { p { (pol.description) } }
        div.scroll { table #webhook-details {
            tbody {
                @for t in &pol.targets {
                    tr { th { "Target" } td { span.badge { (t.kind) } " " code { (t.address) }
                        @if let Some(f) = &t.payload_format { " " span.small { (f) } }
                        @if t.auth_header.is_some() { " " span.small { "(auth header stored)" } }
                        @if t.skip_cert_verify { " " span.small { "(certificate not verified)" } } } }
                }
                tr { th { "Event types" } td { @for e in &pol.event_types { code { (e) } " " } } }
                tr { th { "Created" } td { (dash(&pol.creator)) " · " (pol.creation_time.as_deref().map_or("—".to_owned(), at)) } }
            }
        } }
        section.card {
            h2 { "Executions" }
            form.search method="get" action=(here) {
                label { "Status "
                    select name="status" #execution-status {
                        option value="" selected[status_filter.is_empty()] { "All" }
                        @for s in STATUSES { option value=(s) selected[status_filter == s] { (s) } }
                    }
                }
                button type="submit" { "Filter" }
            }
            @if executions.is_empty() {
                (empty(if status_filter.is_empty() { "Nothing sent yet: executions appear when an event of the policy's types happens." } else { "No execution has this status." }))
            } @else {
                div.scroll { table #executions {
                    thead { tr { th { "Id" } th { "Status" } th { "Event type" } th { "Started" } th.hide-sm { "Ended" } th { "Attempts" } th.hide-sm { "Message" } } }
                    tbody { @for (e, n) in executions.iter().zip(&attempts) {
                        tr data-execution=(e.id) {
                            td { a href={ (here) "/executions/" (e.id) } { (e.id) } }
                            td { (status(&e.status)) }
                            td { code { (attr(&e.extra_attrs, "event_type")) } }
                            td { (at(&e.start_time)) }
                            td.hide-sm { (e.end_time.as_deref().map_or("—".to_owned(), at)) }
                            td.attempts { (n.map_or("—".to_owned(), |n| n.to_string())) }
                            td.hide-sm { (dash(&e.status_message)) }
                        }
                    } }
                } }
                (pager(&format!("{here}?status={status_filter}&"), page_no, PAGE_SIZE, list.total()))
            }
        }
    };
    frame(&v, &h, "webhooks", content)
}

/// `GET /projects/{p}/webhooks/{id}/executions/{eid}`: an execution's task, its log (one
/// line per attempt) and the payload sent.
pub(super) async fn execution(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id, eid)): Path<(String, i64, i64)>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    if !h.can(Resource::NotificationPolicy, Action::Read) {
        return refused(&v, &h);
    }
    let api = format!("{}/policies/{id}/executions/{eid}", api_base(&name));
    let tasks: Vec<m::Task> = load!(
        v,
        p.api
            .get(&v, &format!("{api}/tasks"))
            .await
            .and_then(|a| a.decode())
    );
    let logs = futures::future::join_all(tasks.iter().map(|t| {
        let path = format!("{api}/tasks/{}/log", t.id);
        let (p, v) = (&p, &v);
        async move { p.api.get(v, &path).await.map(|a| a.text) }
    }))
    .await;
    let base = base(&name);
    let content = html! {
        div.crumbs { a href=(base) { "Webhooks" } " / " a href={ (base) "/" (id) } { "Policy" } " / " }
        h2 { "Execution " (eid) }
        @for (t, log) in tasks.iter().zip(&logs) {
            section.card {
                div.scroll { table #execution-task {
                    tbody {
                        tr { th { "Status" } td { (status(&t.status)) } }
                        tr { th { "Receiver" } td { code { (attr(&t.extra_attrs, "address")) } } }
                        tr { th { "Attempts" } td #execution-attempts { (t.run_count) } }
                        tr { th { "Queued" } td { (at(&t.creation_time)) } }
                        tr { th { "Ended" } td { (t.end_time.as_deref().map_or("—".to_owned(), at)) } }
                        tr { th { "Message" } td { (dash(&t.status_message)) } }
                    }
                } }
                h3 { "Log" }
                @match log {
                    Ok(text) => { pre #execution-log { @if text.trim().is_empty() { "(The log is empty.)" } @else { (text) } } }
                    Err(e) => { p.error { (e.message) } }
                }
            }
        }
    };
    frame(&v, &h, "webhooks", content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_keeps_removes_or_replaces_the_header() {
        let stored = m::WebhookPolicy {
            targets: vec![
                m::WebhookTargetObject {
                    kind: "http".into(),
                    address: "https://a.example/".into(),
                    auth_header: Some("*****".into()),
                    ..Default::default()
                },
                m::WebhookTargetObject {
                    kind: "slack".into(),
                    address: "https://b.example/".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let mut f = HookForm::parse(
            "_csrf=t&name=n&address=https%3A%2F%2Fa.example%2F&type=http&payload_format=CloudEvents\
             &event_types=PUSH_ARTIFACT&event_types=PULL_ARTIFACT&enabled=true",
        );
        assert_eq!(f.events, ["PUSH_ARTIFACT", "PULL_ARTIFACT"]);
        assert!(f.enabled && !f.skip_cert_verify);
        let kept = f.policy(Some(&stored));
        assert_eq!(kept.targets[0].auth_header, None, "none keeps it");
        assert_eq!(
            kept.targets[0].payload_format.as_deref(),
            Some("CloudEvents")
        );
        assert_eq!(kept.targets[1], stored.targets[1], "other targets stay");
        f.remove_auth = true;
        assert_eq!(
            f.policy(Some(&stored)).targets[0].auth_header.as_deref(),
            Some("")
        );
        f.auth_header = "Bearer x".into();
        assert_eq!(
            f.policy(Some(&stored)).targets[0].auth_header.as_deref(),
            Some("Bearer x")
        );
        f.kind = "slack".into();
        assert_eq!(f.policy(None).targets[0].payload_format, None);
    }
}
