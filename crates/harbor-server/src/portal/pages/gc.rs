//! Garbage collection: run it now (or as a dry run), set its schedule, follow the runs
//! and read one run's progress and log. System administrators only (the API refuses
//! everyone else).

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::{job_params, status_cell};
use super::{Confirm, ListQuery, PAGE_SIZE, csrf_checked, load};
use crate::portal::Portal;
use crate::portal::backend::Failure;
use crate::portal::layout::{
    action_button, bytes, csrf, empty, page, pager, refreshing_page, text, when,
};
use crate::portal::viewer::{Viewer, redirect_with};

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/admin/gc", get(overview))
        .route("/admin/gc/run", post(run))
        .route("/admin/gc/schedule", post(set_schedule))
        .route("/admin/gc/{id}", get(detail))
        .route("/admin/gc/{id}/stop", post(stop))
}

/// Seconds between reloads of a page showing a run in progress.
const REFRESH_SECS: u32 = 3;

/// The schedule types the form offers.
const SCHEDULE_TYPES: [&str; 5] = ["None", "Hourly", "Daily", "Weekly", "Custom"];

/// Whether a run has not ended yet.
fn in_progress(run: &Value) -> bool {
    matches!(run["job_status"].as_str(), Some("Pending" | "Running"))
}

/// A JSON count (absent = 0).
fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// Bytes of a JSON count.
fn freed(v: &Value) -> String {
    bytes(i64::try_from(count(v)).unwrap_or(i64::MAX))
}

/// "yes"/"no" of a run's dry-run flag (from its parameters, else its progress).
fn dry_run(run: &Value) -> &'static str {
    let params = job_params(run);
    let flag = params["dry_run"]
        .as_bool()
        .or_else(|| run["progress"]["dry_run"].as_bool())
        .unwrap_or(false);
    if flag { "yes" } else { "no" }
}

/// `GET /admin/gc`: the run and schedule forms and the run history (reloading itself
/// while a run is pending or running).
async fn overview(v: Viewer, State(p): State<Portal>, Query(q): Query<ListQuery>) -> Response {
    let page_no = q.page();
    let list_path = format!("/system/gc?page={page_no}&page_size={PAGE_SIZE}");
    let (runs, schedule) = tokio::join!(
        p.api.get(&v, &list_path),
        p.api.get(&v, "/system/gc/schedule")
    );
    let runs = load!(v, runs);
    let schedule = schedule.map(|a| a.body).unwrap_or(Value::Null);
    let admin = v.user.sysadmin;
    let busy = runs.items().iter().any(in_progress);
    let sched = &schedule["schedule"];
    let kind = sched["type"].as_str().unwrap_or("None");
    let kind = if kind.is_empty() { "None" } else { kind };
    let cron = sched["cron"].as_str().unwrap_or_default();
    let sched_params = job_params(&schedule);
    let body = html! {
        h1 { "Garbage collection" }
        p.small { "Garbage collection deletes blobs no artifact references any more, and frees their storage." }
        @if admin {
            div.grid {
                section.card {
                    h2 { "Run now" }
                    form.stack method="post" action="/admin/gc/run" #gc-run {
                        (csrf(&v))
                        label.check { input type="checkbox" name="dry_run" #gc-dry-run value="true"; "Dry run: only report what would be deleted" }
                        label.check { input type="checkbox" name="delete_untagged" #gc-delete-untagged value="true"; "Also delete untagged artifacts" }
                        label { "Workers" input type="number" name="workers" #gc-workers min="1" max="5" value="1" required; }
                        label { "Keep blobs touched within (hours)" input type="number" name="time_window" #gc-time-window min="0" max="8760" value="2" required; }
                        @if busy {
                            button type="submit" #gc-run-button disabled { "A run is in progress" }
                        } @else {
                            button type="submit" #gc-run-button { "Run now" }
                        }
                    }
                }
                section.card {
                    h2 { "Schedule" }
                    p #gc-current-schedule {
                        @if kind == "None" { "Not scheduled." } @else {
                            (kind) @if !cron.is_empty() { " (" code { (cron) } ")" }
                            @if let Some(next) = sched["next_scheduled_time"].as_str() {
                                " · next run " (when(&Value::String(next.to_owned())))
                            }
                        }
                    }
                    form.stack method="post" action="/admin/gc/schedule" #gc-schedule {
                        (csrf(&v))
                        label { "Repeat" select name="type" #gc-schedule-type {
                            @for t in SCHEDULE_TYPES { option value=(t) selected[t == kind] { (t) } }
                        } }
                        label { "Cron (for Custom: seconds minutes hours day month weekday)"
                            input name="cron" #gc-cron value=(cron) placeholder="0 0 0 * * 6"; }
                        label.check { input type="checkbox" name="delete_untagged" value="true" checked[sched_params["delete_untagged"].as_bool().unwrap_or(false)]; "Also delete untagged artifacts" }
                        label { "Workers" input type="number" name="workers" min="1" max="5" value=(sched_params["workers"].as_u64().unwrap_or(1).clamp(1, 5)) required; }
                        button type="submit" #gc-schedule-save { "Save schedule" }
                    }
                }
            }
        }
        h2 { "History" }
        @if runs.items().is_empty() { (empty("Garbage collection has not run yet.")) } @else {
            div.scroll { table #gc-history {
                thead { tr {
                    th { "Run" } th { "Status" } th { "Dry run" } th.hide-sm { "Trigger" }
                    th { "Started" } th.hide-sm { "Updated" } th { "Blobs deleted" } th { "Freed" }
                } }
                tbody { @for r in runs.items() {
                    @let id = r["id"].as_i64().unwrap_or_default();
                    @let pr = &r["progress"];
                    tr data-run=(id) {
                        td { a href={ "/admin/gc/" (id) } { "#" (id) } }
                        (status_cell(r))
                        td { (dry_run(r)) }
                        td.hide-sm { (text(&r["job_kind"])) }
                        td { (when(&r["start_time"])) }
                        td.hide-sm { (when(&r["update_time"])) }
                        td { (count(&pr["blobs_deleted"])) }
                        td { (freed(&pr["bytes_freed"])) }
                    }
                } }
            } }
            (pager("/admin/gc?", page_no, PAGE_SIZE, runs.total()))
        }
    };
    if busy {
        refreshing_page(&v, "Garbage collection", body, REFRESH_SECS)
    } else {
        page(Some(&v), "Garbage collection", body)
    }
}

/// Reads a number field of a form, refusing what is not a number in `range`.
fn number(field: &str, value: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, Failure> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "{field} must be a whole number from {} to {}.",
                    range.start(),
                    range.end()
                ),
            )
        })
}

#[derive(Deserialize)]
struct RunForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    dry_run: Option<String>,
    #[serde(default)]
    delete_untagged: Option<String>,
    #[serde(default)]
    workers: String,
    #[serde(default)]
    time_window: String,
}

/// `POST /admin/gc/run`: starts a run now.
async fn run(v: Viewer, State(p): State<Portal>, Form(f): Form<RunForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = "/admin/gc";
    let workers = match number("Workers", &f.workers, 1..=5) {
        Ok(n) => n,
        Err(e) => return redirect_with(back, Err(e)),
    };
    let window = if f.time_window.trim().is_empty() {
        2
    } else {
        match number("The time window", &f.time_window, 0..=8760) {
            Ok(n) => n,
            Err(e) => return redirect_with(back, Err(e)),
        }
    };
    let dry = f.dry_run.is_some();
    let body = json!({
        "schedule": { "type": "Manual" },
        "parameters": {
            "delete_untagged": f.delete_untagged.is_some(),
            "dry_run": dry,
            "workers": workers,
            "time_window": window,
        },
    });
    let r = p
        .api
        .send(&v, Method::POST, "/system/gc/schedule", Some(body))
        .await;
    let done = if dry {
        "Garbage collection started. This is a dry run: nothing will be deleted."
    } else {
        "Garbage collection started."
    };
    redirect_with(back, r.map(|_| done.to_owned()))
}

#[derive(Deserialize)]
struct ScheduleForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    cron: String,
    #[serde(default)]
    delete_untagged: Option<String>,
    #[serde(default)]
    workers: String,
}

/// `POST /admin/gc/schedule`: sets (or, with type None, removes) the schedule.
async fn set_schedule(v: Viewer, State(p): State<Portal>, Form(f): Form<ScheduleForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = "/admin/gc";
    let kind = f.kind.trim();
    if !SCHEDULE_TYPES.contains(&kind) {
        return redirect_with(
            back,
            Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "Choose None, Hourly, Daily, Weekly or Custom.",
            )),
        );
    }
    let workers = if f.workers.trim().is_empty() {
        1
    } else {
        match number("Workers", &f.workers, 1..=5) {
            Ok(n) => n,
            Err(e) => return redirect_with(back, Err(e)),
        }
    };
    let mut schedule = json!({ "type": kind });
    if kind == "Custom" {
        schedule["cron"] = json!(f.cron.trim());
    }
    let body = json!({
        "schedule": schedule,
        "parameters": {
            "delete_untagged": f.delete_untagged.is_some(),
            "workers": workers,
        },
    });
    let r = p
        .api
        .send(&v, Method::PUT, "/system/gc/schedule", Some(body))
        .await;
    let done = if kind == "None" {
        "Garbage collection is no longer scheduled.".to_owned()
    } else {
        format!("Garbage collection schedule saved ({kind}).")
    };
    redirect_with(back, r.map(|_| done))
}

/// A run's parameters, as a definition list.
fn params_list(params: &Value) -> Markup {
    html! {
        dl.kv #gc-params {
            dt { "Dry run" } dd { (if params["dry_run"].as_bool().unwrap_or(false) { "yes" } else { "no" }) }
            dt { "Delete untagged artifacts" } dd { (if params["delete_untagged"].as_bool().unwrap_or(false) { "yes" } else { "no" }) }
            dt { "Workers" } dd { (text(&params["workers"])) }
            dt { "Time window (hours)" } dd { (text(&params["time_window"])) }
        }
    }
}

/// `GET /admin/gc/{id}`: one run, its progress and log (reloading itself while it runs).
async fn detail(v: Viewer, State(p): State<Portal>, Path(id): Path<i64>) -> Response {
    let run_path = format!("/system/gc/{id}");
    let log_path = format!("/system/gc/{id}/log");
    let (run, log) = tokio::join!(p.api.get(&v, &run_path), p.api.get(&v, &log_path));
    let run = load!(v, run);
    let r = &run.body;
    let log = match log {
        Ok(a) => a.text,
        Err(f) => format!("(the log could not be read: {})", f.message),
    };
    let busy = in_progress(r);
    let status = r["job_status"].as_str().unwrap_or_default();
    let pr = &r["progress"];
    let (done, total) = (count(&pr["ranges_done"]), count(&pr["ranges_total"]));
    let title = format!("Garbage collection #{id}");
    let body = html! {
        div.crumbs { a href="/admin/gc" { "Garbage collection" } " / " }
        div.actions {
            h1 { (title) }
            span #gc-status class={ "badge status-" (status) } { (text(&r["job_status"])) }
            @if busy && r["stop_requested"].as_bool().unwrap_or(false) { span.small { "stopping…" } }
        }
        @if let Some(e) = r["error"].as_str().filter(|e| !e.is_empty()) { p.error #gc-error { (e) } }
        @if busy && v.user.sysadmin && !r["stop_requested"].as_bool().unwrap_or(false) {
            div.actions #gc-stop {
                (action_button(&v, &format!("/admin/gc/{id}/stop"), "Stop", "Stop this garbage collection run?"))
            }
        }
        div.grid {
            section.card {
                h2 { "Run" }
                dl.kv #gc-run-info {
                    dt { "Trigger" } dd { (text(&r["job_kind"])) }
                    dt { "Created" } dd { (when(&r["creation_time"])) }
                    dt { "Started" } dd { (when(&r["start_time"])) }
                    dt { "Ended" } dd { (when(&r["end_time"])) }
                    dt { "Updated" } dd { (when(&r["update_time"])) }
                    dt { "Attempts" } dd { (text(&r["attempts"])) }
                }
            }
            section.card {
                h2 { "Parameters" }
                (params_list(&job_params(r)))
            }
        }
        section.card {
            h2 { "Progress" }
            @if pr.as_object().is_none_or(|m| m.is_empty()) {
                (empty(if busy { "Waiting for the run to report its progress." } else { "This run reported no progress." }))
            } @else {
                @if total > 0 {
                    label { "Digest ranges examined: " (done) " of " (total)
                        progress #gc-progress max=(total) value=(done.min(total)) { (done) " of " (total) } }
                }
                dl.kv #gc-counts {
                    dt { "Phase" } dd #gc-phase { (text(&pr["phase"])) }
                    dt { "Blobs examined" } dd { (count(&pr["blobs_total"])) }
                    dt { "Garbage blobs found" } dd { (count(&pr["blobs_candidates"])) }
                    dt { "Blobs deleted" } dd #gc-blobs-deleted { (count(&pr["blobs_deleted"])) }
                    dt { "Bytes freed" } dd #gc-bytes-freed { (freed(&pr["bytes_freed"])) }
                    dt { "Untagged artifacts deleted" } dd { (count(&pr["artifacts_deleted"])) }
                    dt { "Blobs that could not be deleted" } dd { (count(&pr["blobs_failed"])) }
                }
            }
        }
        h2 { "Log" }
        pre #gc-log { @if log.trim().is_empty() { "(The log is empty.)" } @else { (log) } }
    };
    if busy {
        refreshing_page(&v, &title, body, REFRESH_SECS)
    } else {
        page(Some(&v), &title, body)
    }
}

/// `POST /admin/gc/{id}/stop`: asks a pending or running run to stop.
async fn stop(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(&v, Method::PUT, &format!("/system/gc/{id}"), None)
        .await;
    redirect_with(
        &format!("/admin/gc/{id}"),
        r.map(|_| "Stop requested: the run ends after its current step.".to_owned()),
    )
}
