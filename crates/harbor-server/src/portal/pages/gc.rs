//! Garbage collection: run it now (or as a dry run), set its schedule, follow the runs
//! and read one run's progress and log. System administrators only (the API refuses
//! everyone else).

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

use super::admin::status_cell;
use super::{Confirm, ListQuery, PAGE_SIZE, csrf_checked, load};
use crate::portal::Portal;
use crate::portal::backend::Failure;
use crate::portal::layout::{
    action_button, at, bytes, csrf, dash, empty, page, pager, refreshing_page,
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

/// Bytes freed.
fn freed(n: u64) -> String {
    bytes(i64::try_from(n).unwrap_or(i64::MAX))
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// "yes"/"no" of a run's dry-run flag (from its parameters, else its progress).
fn dry_run(run: &m::ExecHistory) -> &'static str {
    yes_no(run.params_as::<m::GcParameters>().dry_run || run.progress_as::<m::GcProgress>().dry_run)
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
    let history: Vec<m::ExecHistory> = load!(v, runs.decode());
    let schedule: m::ExecHistory = schedule.and_then(|a| a.decode()).unwrap_or_default();
    let admin = v.user.sysadmin;
    let busy = history.iter().any(m::ExecHistory::in_progress);
    let sched = schedule.schedule.clone().unwrap_or_default();
    let kind = if sched.kind.is_empty() {
        "None"
    } else {
        sched.kind.as_str()
    };
    let cron = sched.cron.as_deref().unwrap_or_default();
    let sched_params: m::GcParameters = schedule.params_as();
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
                            @if let Some(next) = &sched.next_scheduled_time {
                                " · next run " (at(next))
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
                        label.check { input type="checkbox" name="delete_untagged" value="true" checked[sched_params.delete_untagged]; "Also delete untagged artifacts" }
                        label { "Workers" input type="number" name="workers" min="1" max="5" value=(sched_params.workers.clamp(1, 5)) required; }
                        button type="submit" #gc-schedule-save { "Save schedule" }
                    }
                }
            }
        }
        h2 { "History" }
        @if history.is_empty() { (empty("Garbage collection has not run yet.")) } @else {
            div.scroll { table #gc-history {
                thead { tr {
                    th { "Run" } th { "Status" } th { "Dry run" } th.hide-sm { "Trigger" }
                    th { "Started" } th.hide-sm { "Updated" } th { "Blobs deleted" } th { "Freed" }
                } }
                tbody { @for r in &history {
                    @let id = r.id;
                    @let pr: m::GcProgress = r.progress_as();
                    tr data-run=(id) {
                        td { a href={ "/admin/gc/" (id) } { "#" (id) } }
                        (status_cell(r))
                        td { (dry_run(r)) }
                        td.hide-sm { (dash(&r.job_kind)) }
                        td { (at(r.start_time.as_deref().unwrap_or_default())) }
                        td.hide-sm { (at(&r.update_time)) }
                        td { (pr.blobs_deleted) }
                        td { (freed(pr.bytes_freed)) }
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
fn params_list(params: &m::GcParameters) -> Markup {
    html! {
        dl.kv #gc-params {
            dt { "Dry run" } dd { (yes_no(params.dry_run)) }
            dt { "Delete untagged artifacts" } dd { (yes_no(params.delete_untagged)) }
            dt { "Workers" } dd { (params.workers) }
            dt { "Time window (hours)" } dd { (params.time_window) }
        }
    }
}

/// How far a run got: a bar of the digest ranges examined while it runs; a full bar and
/// "Done" once it succeeded (whatever its last report said); no bar, and where it
/// stopped, for a run that was stopped or failed. The bar spans the card (`portal.css`):
/// at the element's own 10em width a full bar read as a quarter-full one.
fn progress_bar(status: &str, dry_run: bool, done: u64, total: u64) -> Markup {
    let done = done.min(total);
    let ranges = |n: u64| if n == 1 { "range" } else { "ranges" };
    html! {
        @match status {
            "Success" => {
                p #gc-progress-text {
                    "Done: " @if total > 0 { "all " (total) " digest " (ranges(total)) " examined" } @else { "finished" }
                    @if dry_run { " (dry run: nothing was deleted)" } "."
                }
                progress #gc-progress max="1" value="1" aria-labelledby="gc-progress-text" { "done" }
            }
            "Stopped" | "Error" => {
                p #gc-progress-text {
                    @if status == "Stopped" { "Stopped" } @else { "Failed" }
                    @if total > 0 { " after examining " (done) " of " (total) " digest " (ranges(total)) }
                    @else { " before examining any digest range" }
                    @if dry_run { " (dry run: nothing was deleted)" } "."
                }
            }
            _ => @if total > 0 {
                p #gc-progress-text { "Digest ranges examined: " (done) " of " (total) "." }
                progress #gc-progress max=(total) value=(done) aria-labelledby="gc-progress-text" { (done) " of " (total) }
            },
        }
    }
}

/// `GET /admin/gc/{id}`: one run, its progress and log (reloading itself while it runs).
async fn detail(v: Viewer, State(p): State<Portal>, Path(id): Path<i64>) -> Response {
    let run_path = format!("/system/gc/{id}");
    let log_path = format!("/system/gc/{id}/log");
    let (run, log) = tokio::join!(p.api.get(&v, &run_path), p.api.get(&v, &log_path));
    let run = load!(v, run);
    let r: m::ExecHistory = load!(v, run.decode());
    let log = match log {
        Ok(a) => a.text,
        Err(f) => format!("(the log could not be read: {})", f.message),
    };
    let busy = r.in_progress();
    let status = r.job_status.as_str();
    let reported = r
        .progress
        .as_ref()
        .and_then(|p| p.as_object())
        .is_some_and(|p| !p.is_empty());
    let pr: m::GcProgress = r.progress_as();
    let (done, total) = (pr.ranges_done, pr.ranges_total);
    let stopping = r.stop_requested.unwrap_or(false);
    let title = format!("Garbage collection #{id}");
    let body = html! {
        div.crumbs { a href="/admin/gc" { "Garbage collection" } " / " }
        div.actions {
            h1 { (title) }
            span #gc-status class={ "badge status-" (status) } { (dash(status)) }
            @if busy && stopping { span.small { "stopping…" } }
        }
        @if let Some(e) = r.error.as_deref().filter(|e| !e.is_empty()) { p.error #gc-error { (e) } }
        @if busy && v.user.sysadmin && !stopping {
            div.actions #gc-stop {
                (action_button(&v, &format!("/admin/gc/{id}/stop"), "Stop", "Stop this garbage collection run?"))
            }
        }
        div.grid {
            section.card {
                h2 { "Run" }
                dl.kv #gc-run-info {
                    dt { "Trigger" } dd { (dash(&r.job_kind)) }
                    dt { "Created" } dd { (at(&r.creation_time)) }
                    dt { "Started" } dd { (at(r.start_time.as_deref().unwrap_or_default())) }
                    dt { "Ended" } dd { (at(r.end_time.as_deref().unwrap_or_default())) }
                    dt { "Updated" } dd { (at(&r.update_time)) }
                    dt { "Attempts" } dd { (r.attempts.map_or_else(|| "—".to_owned(), |n| n.to_string())) }
                }
            }
            section.card {
                h2 { "Parameters" }
                (params_list(&r.params_as()))
            }
        }
        section.card {
            h2 { "Progress" }
            @if !reported {
                (empty(if busy { "Waiting for the run to report its progress." } else { "This run reported no progress." }))
            } @else {
                (progress_bar(status, pr.dry_run || r.params_as::<m::GcParameters>().dry_run, done, total))
                dl.kv #gc-counts {
                    dt { "Phase" } dd #gc-phase { (dash(&pr.phase)) }
                    dt { "Blobs examined" } dd { (pr.blobs_total) }
                    dt { "Garbage blobs found" } dd { (pr.blobs_candidates) }
                    dt { "Blobs deleted" } dd #gc-blobs-deleted { (pr.blobs_deleted) }
                    dt { "Bytes freed" } dd #gc-bytes-freed { (freed(pr.bytes_freed)) }
                    dt { "Untagged artifacts deleted" } dd { (pr.artifacts_deleted) }
                    dt { "Blobs that could not be deleted" } dd { (pr.blobs_failed) }
                    dt { "Blobs kept: younger than the time window" }
                    dd #gc-kept-young { (pr.blobs_kept_young) " (" (freed(pr.bytes_kept_young)) ")" }
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

#[cfg(test)]
mod tests {
    use super::progress_bar;

    #[test]
    fn an_ended_run_shows_done_or_where_it_stopped() {
        let ok = progress_bar("Success", false, 512, 512).into_string();
        assert!(ok.contains("Done: all 512 digest ranges examined."), "{ok}");
        assert!(ok.contains("max=\"1\" value=\"1\""), "{ok}");
        // A success is full even if its last report fell short.
        let short = progress_bar("Success", true, 128, 512).into_string();
        assert!(
            short.contains("value=\"1\"") && short.contains("dry run"),
            "{short}"
        );
        let stopped = progress_bar("Stopped", false, 128, 512).into_string();
        assert!(
            stopped.contains("Stopped after examining 128 of 512"),
            "{stopped}"
        );
        assert!(!stopped.contains("<progress"), "{stopped}");
        let early = progress_bar("Stopped", false, 0, 0).into_string();
        assert!(early.contains("before examining any"), "{early}");
        let failed = progress_bar("Error", false, 3, 512).into_string();
        assert!(
            failed.contains("Failed after examining 3 of 512"),
            "{failed}"
        );
        let running = progress_bar("Running", false, 128, 512).into_string();
        assert!(running.contains("max=\"512\" value=\"128\""), "{running}");
        assert!(
            progress_bar("Running", false, 0, 0)
                .into_string()
                .is_empty()
        );
    }
}
