//! The Policies tab: tag immutability rules and the tag retention policy with its runs.

use super::*;

/// A selector for people: `v*`, or `excluding v*`.
pub(super) fn describe(s: Option<&m::ImmutableSelector>) -> String {
    match s {
        Some(s) if s.decoration.contains("xclude") => format!("excluding {}", s.pattern),
        Some(s) => s.pattern.clone(),
        None => "**".to_owned(),
    }
}

/// `GET /projects/{p}/policies`: tag immutability rules and the retention policy.
pub(super) async fn policies(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
) -> Response {
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
pub(super) struct RunCounts {
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
pub(super) struct RuleForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    repositories: String,
    #[serde(default)]
    tags: String,
}

pub(super) async fn add_rule(
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

pub(super) async fn delete_rule(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let path = format!("/projects/{}/immutabletagrules/{id}", enc(&name));
    let done = "Immutability rule deleted.";
    delete_and_back(&p, &v, &path, &name, "policies", done).await
}

#[derive(Deserialize)]
pub(super) struct RetentionForm {
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

pub(super) fn retention_id(h: &Head) -> Option<i64> {
    h.project.retention_id()
}

pub(super) async fn set_retention(
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

pub(super) async fn run_retention(
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
