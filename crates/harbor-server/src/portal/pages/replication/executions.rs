//! Replication executions: every policy's (or one policy's) executions with their task
//! counts and a Stop button while they run, one execution's tasks, and a task's log as
//! preformatted text. Pages showing a run in progress reload themselves.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use harbor_api_model as m;
use maud::{Markup, html};
use serde::Deserialize;

use super::policies::BASE as POLICIES;
use super::status;
use crate::portal::Portal;
use crate::portal::layout::{action_button, at, dash, empty, page, pager, refreshing_page};
use crate::portal::pages::{Confirm, PAGE_SIZE, csrf_checked, load};
use crate::portal::viewer::{Viewer, redirect_with};

const BASE: &str = "/admin/replication/executions";

/// Seconds between reloads of a page showing an execution in progress.
const REFRESH_SECS: u32 = 3;

pub(super) fn routes() -> Router<Portal> {
    Router::new()
        .route(BASE, get(list))
        .route("/admin/replication/executions/{id}", get(detail))
        .route("/admin/replication/executions/{id}/stop", post(stop))
        .route(
            "/admin/replication/executions/{id}/tasks/{task}/log",
            get(task_log),
        )
}

fn in_progress(e: &m::ReplicationExecution) -> bool {
    e.status == "InProgress"
}

fn stop_button(v: &Viewer, id: i64) -> Markup {
    action_button(
        v,
        &format!("{BASE}/{id}/stop"),
        "Stop",
        "Stop this replication? Tasks not yet done are stopped.",
    )
}

/// `?policy_id=&page=` of the executions list.
#[derive(Deserialize, Default)]
struct ExecutionsQuery {
    #[serde(default)]
    policy_id: Option<i64>,
    #[serde(default)]
    page: Option<u64>,
}

/// `GET /admin/replication/executions[?policy_id=]`: the executions, newest first.
async fn list(v: Viewer, State(p): State<Portal>, Query(q): Query<ExecutionsQuery>) -> Response {
    let page_no = q.page.unwrap_or(1).max(1);
    let filter = q
        .policy_id
        .map_or_else(String::new, |id| format!("&policy_id={id}"));
    let path = format!("/replication/executions?page={page_no}&page_size={PAGE_SIZE}{filter}");
    let (list, policies) = tokio::join!(
        p.api.get(&v, &path),
        p.api.get(&v, "/replication/policies?page=1&page_size=100")
    );
    let list = load!(v, list);
    let executions: Vec<m::ReplicationExecution> = load!(v, list.decode());
    let policies: Vec<m::ReplicationPolicy> = policies.and_then(|a| a.decode()).unwrap_or_default();
    let name_of = |id: i64| {
        policies
            .iter()
            .find(|pol| pol.id == id)
            .map_or_else(|| format!("#{id}"), |pol| pol.name.clone())
    };
    let title = match q.policy_id {
        Some(id) => format!("Executions of {}", name_of(id)),
        None => "Replication executions".to_owned(),
    };
    let busy = executions.iter().any(in_progress);
    let body = html! {
        div.crumbs { a href=(POLICIES) { "Replications" } " / " }
        h1 { (title) }
        @if q.policy_id.is_some() { p { a href=(BASE) { "All executions" } } }
        @if executions.is_empty() { (empty("No executions yet: use Replicate now on a policy.")) } @else {
            div.scroll { table #executions {
                thead { tr {
                    th { "Execution" } th { "Policy" } th { "Status" } th.hide-sm { "Trigger" }
                    th { "Started" } th.hide-sm { "Ended" } th { "Tasks" } th { "Succeeded" } th { "Failed" }
                    th.hide-sm { "In progress" } th.hide-sm { "Stopped" } th.hide-sm { "Status text" } th { "Actions" }
                } }
                tbody { @for e in &executions {
                    tr data-execution=(e.id) {
                        td { a href={ (BASE) "/" (e.id) } { "#" (e.id) } }
                        td { a href={ (POLICIES) "/" (e.policy_id) } { (name_of(e.policy_id)) } }
                        td.status { (status(&e.status)) }
                        td.hide-sm { (dash(&e.trigger)) }
                        td { (at(&e.start_time)) }
                        td.hide-sm { (at(e.end_time.as_deref().unwrap_or_default())) }
                        td { (e.total) }
                        td { (e.succeed) }
                        td { (e.failed) }
                        td.hide-sm { (e.in_progress) }
                        td.hide-sm { (e.stopped) }
                        td.hide-sm { (dash(&e.status_text)) }
                        td { @if in_progress(e) { (stop_button(&v, e.id)) } }
                    }
                } }
            } }
            (pager(&format!("{BASE}?{}", q.policy_id.map_or_else(String::new, |id| format!("policy_id={id}&"))),
                page_no, PAGE_SIZE, list.total()))
        }
    };
    if busy {
        refreshing_page(&v, &title, body, REFRESH_SECS)
    } else {
        page(Some(&v), &title, body)
    }
}

/// `?page=` of an execution's tasks.
#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    page: Option<u64>,
}

/// `GET /admin/replication/executions/{id}`: one execution and its tasks.
async fn detail(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Response {
    let page_no = q.page.unwrap_or(1).max(1);
    let tasks_path =
        format!("/replication/executions/{id}/tasks?page={page_no}&page_size={PAGE_SIZE}");
    let exec_path = format!("/replication/executions/{id}");
    let (e, tasks) = tokio::join!(p.api.get(&v, &exec_path), p.api.get(&v, &tasks_path));
    let e = load!(v, e);
    let e: m::ReplicationExecution = load!(v, e.decode());
    let tasks = load!(v, tasks);
    let list: Vec<m::ReplicationTask> = load!(v, tasks.decode());
    let policy = p
        .api
        .get(&v, &format!("/replication/policies/{}", e.policy_id))
        .await
        .and_then(|a| a.decode::<m::ReplicationPolicy>())
        .map_or_else(|_| format!("#{}", e.policy_id), |pol| pol.name);
    let busy = in_progress(&e);
    let title = format!("Replication execution #{id}");
    let body = html! {
        div.crumbs {
            a href=(POLICIES) { "Replications" } " / "
            a href={ (BASE) "?policy_id=" (e.policy_id) } { "Executions of " (policy) } " / "
        }
        div.actions {
            h1 { (title) }
            span #execution-status { (status(&e.status)) }
            @if busy { (stop_button(&v, id)) }
        }
        section.card {
            dl.kv #execution-info {
                dt { "Policy" } dd { a href={ (POLICIES) "/" (e.policy_id) } { (policy) } }
                dt { "Trigger" } dd { (dash(&e.trigger)) }
                dt { "Started" } dd { (at(&e.start_time)) }
                dt { "Ended" } dd { (at(e.end_time.as_deref().unwrap_or_default())) }
                dt { "Tasks" } dd #execution-counts {
                    (e.total) " in total: " (e.succeed) " succeeded, " (e.failed) " failed, "
                    (e.in_progress) " in progress, " (e.stopped) " stopped"
                }
                dt { "Status text" } dd #execution-status-text { (dash(&e.status_text)) }
            }
        }
        h2 { "Tasks" }
        @if list.is_empty() {
            (empty(if busy { "Planning: the tasks appear once the policy's sources are listed." } else { "This execution had nothing to copy." }))
        } @else {
            div.scroll { table #tasks {
                thead { tr {
                    th { "Task" } th { "Status" } th { "Operation" } th.hide-sm { "Resource type" }
                    th { "Source" } th { "Destination" } th.hide-sm { "Started" } th.hide-sm { "Ended" } th { "Log" }
                } }
                tbody { @for t in &list {
                    tr data-task=(t.id) {
                        td { (t.id) }
                        td.status { (status(&t.status)) }
                        td { (dash(&t.operation)) }
                        td.hide-sm { (dash(&t.resource_type)) }
                        td { code { (t.src_resource) } }
                        td { code { (t.dst_resource) } }
                        td.hide-sm { (at(t.start_time.as_deref().unwrap_or_default())) }
                        td.hide-sm { (at(t.end_time.as_deref().unwrap_or_default())) }
                        td { a href={ (BASE) "/" (id) "/tasks/" (t.id) "/log" } { "Log" } }
                    }
                } }
            } }
            (pager(&format!("{BASE}/{id}?"), page_no, PAGE_SIZE, tasks.total()))
        }
    };
    if busy {
        refreshing_page(&v, &title, body, REFRESH_SECS)
    } else {
        page(Some(&v), &title, body)
    }
}

/// `GET /admin/replication/executions/{id}/tasks/{task}/log`: the log as text (escaped).
async fn task_log(
    v: Viewer,
    State(p): State<Portal>,
    Path((id, task)): Path<(i64, i64)>,
) -> Response {
    let log = load!(
        v,
        p.api
            .get(
                &v,
                &format!("/replication/executions/{id}/tasks/{task}/log")
            )
            .await
    );
    let title = format!("Log of task {task}");
    let body = html! {
        div.crumbs {
            a href=(POLICIES) { "Replications" } " / "
            a href={ (BASE) "/" (id) } { "Execution #" (id) } " / "
        }
        h1 { (title) }
        pre #task-log { @if log.text.trim().is_empty() { "(The log is empty.)" } @else { (log.text) } }
    };
    page(Some(&v), &title, body)
}

/// `POST /admin/replication/executions/{id}/stop`.
async fn stop(
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
            Method::PUT,
            &format!("/replication/executions/{id}"),
            None,
        )
        .await;
    redirect_with(
        &format!("{BASE}/{id}"),
        r.map(|_| "Stop requested: the execution's remaining tasks are stopped.".to_owned()),
    )
}
