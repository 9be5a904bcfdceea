//! `harbor gc ...`, `harbor audit purge`, `harbor system fsck|queues|schedules`: the
//! server's system jobs.

use serde_json::{Value, json};

use super::content::human;
use super::system::text;
use super::wait::{Progress, until_done};
use super::{App, Failure, Outcome, REFUSED};
use crate::cli::{GcArgs, GcCmd, GcScheduleCmd, PurgeScheduleCmd, ScheduleKind};
use crate::client::{
    Execution, FsckParameters, GcParameters, JobQueue, PurgeAuditParameters, ScheduleTask,
    SystemJob,
};
use crate::output::Column;

fn gc_parameters(a: &GcArgs) -> GcParameters {
    GcParameters {
        delete_untagged: !a.keep_untagged,
        dry_run: a.dry_run,
        workers: a.workers,
        time_window: a.time_window,
    }
}

fn bytes(n: u64) -> String {
    human(i64::try_from(n).unwrap_or(i64::MAX))
}

fn count(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

/// One line on what a run did.
fn summary(kind: SystemJob, e: &Execution) -> String {
    let progress = e.progress.clone().unwrap_or_default();
    let p = &progress;
    let dry = if p["dry_run"].as_bool() == Some(true) {
        " (dry run)"
    } else {
        ""
    };
    match kind {
        SystemJob::Gc => {
            let g = e.progress_as::<crate::client::GcProgress>();
            let mut line = format!(
                "{} blobs, {} freed{dry}",
                g.blobs_deleted,
                bytes(g.bytes_freed)
            );
            if g.blobs_kept_young > 0 {
                line.push_str(&format!(
                    "; {} blobs kept ({}): younger than the time window of {} h",
                    g.blobs_kept_young,
                    bytes(g.bytes_kept_young),
                    g.time_window_hours
                ));
            }
            line
        }
        SystemJob::PurgeAudit => format!("{} entries purged{dry}", count(p, "purged")),
        SystemJob::ScanAll => format!(
            "{} scans queued, {} artifacts skipped",
            count(p, "queued"),
            count(p, "skipped")
        ),
        SystemJob::Fsck => format!(
            "missing {}, orphans {} ({}), size mismatches {}",
            count(p, "missing_count"),
            count(p, "orphan_count"),
            bytes(count(p, "orphan_bytes")),
            count(p, "size_mismatch_count"),
        ),
    }
}

/// What the bar shows: garbage collection's share of the digest space done, with the
/// blobs deleted so far; a spinner for the other kinds.
fn progress(kind: SystemJob, e: &Execution) -> Progress {
    if kind != SystemJob::Gc || e.job_status != "Running" {
        return Progress {
            ended: e.ended(),
            total: None,
            done: 0,
            message: e.job_status.clone(),
        };
    }
    let g = e.progress_as::<crate::client::GcProgress>();
    let phase = if g.phase.is_empty() {
        "starting"
    } else {
        g.phase.as_str()
    };
    Progress {
        ended: e.ended(),
        total: (g.ranges_total > 0).then_some(g.ranges_total),
        done: g.ranges_done,
        message: format!(
            "{phase}: {}/{} blobs deleted, {} freed",
            g.blobs_deleted,
            g.blobs_candidates,
            bytes(g.bytes_freed)
        ),
    }
}

/// Prints a run: its fields, then each progress entry.
fn show(app: &App, kind: SystemJob, e: &Execution) -> Outcome {
    let mut fields: Vec<(&str, String)> = vec![
        ("id", e.id.to_string()),
        ("job", e.job_name.clone()),
        ("trigger", e.job_kind.clone()),
        ("status", e.job_status.clone()),
        ("parameters", e.job_parameters.clone()),
        ("created", e.creation_time.clone()),
        ("started", e.start_time.clone().unwrap_or_default()),
        ("ended", e.end_time.clone().unwrap_or_default()),
        ("result", summary(kind, e)),
    ];
    if let Some(err) = &e.error {
        fields.push(("error", err.clone()));
    }
    if let Some(p) = e.progress.as_ref().and_then(Value::as_object) {
        for (k, v) in p {
            let shown = match v {
                Value::Array(items) if items.is_empty() => continue,
                Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
                Value::Number(n) if k.contains("bytes") => bytes(n.as_u64().unwrap_or(0)),
                other => text(other),
            };
            fields.push((k.as_str(), shown));
        }
    }
    app.out.one(e, &fields, &e.id.to_string())?;
    Ok(())
}

/// After a run started: prints its id, or follows it to its end and prints it (failing
/// if it did not succeed).
async fn started(app: &App, kind: SystemJob, id: i64, wait: bool) -> Outcome {
    let c = &app.client;
    if !wait {
        app.out.done(
            &format!("Started {} run {id}", kind.title()),
            &json!({ "id": id }),
            &id.to_string(),
        )?;
        return Ok(());
    }
    let e = until_done(
        &app.out,
        || c.system_job_run(kind, id),
        |e| progress(kind, e),
    )
    .await?;
    show(app, kind, &e)?;
    ended_well(kind.title(), id, &e.job_status)
}

/// Failure (exit 1) unless `status` is `Success`.
pub(crate) fn ended_well(what: &str, id: i64, status: &str) -> Outcome {
    match status {
        "Success" => Ok(()),
        other => Err(Failure::new(
            REFUSED,
            format!("{what} run {id} ended {other}"),
        )),
    }
}

pub(crate) fn history(app: &App, kind: SystemJob, runs: &[Execution]) -> Outcome {
    let id = |e: &Execution| e.id.to_string();
    let status = |e: &Execution| e.job_status.clone();
    let trigger = |e: &Execution| e.job_kind.clone();
    let result = |e: &Execution| summary(kind, e);
    let created = |e: &Execution| e.creation_time.clone();
    let ended = |e: &Execution| e.end_time.clone().unwrap_or_default();
    let cols: [Column<'_, Execution>; 6] = [
        ("id", &id),
        ("status", &status),
        ("trigger", &trigger),
        ("result", &result),
        ("created", &created),
        ("ended", &ended),
    ];
    app.out.list(runs, &cols, &id)?;
    Ok(())
}

pub(crate) async fn show_schedule(app: &App, kind: SystemJob) -> Outcome {
    let s = app.client.system_job_schedule(kind).await?;
    let kind_of = text(&s["schedule"]["type"]);
    let fields = vec![
        ("type", kind_of.clone()),
        ("cron", text(&s["schedule"]["cron"])),
        ("next run", text(&s["schedule"]["next_scheduled_time"])),
        ("parameters", text(&s["job_parameters"])),
    ];
    app.out.one(&s, &fields, &kind_of)?;
    Ok(())
}

pub(crate) async fn gc(app: &App, cmd: GcCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    let kind = SystemJob::Gc;
    match cmd {
        GcCmd::Run { params, wait } => {
            let id = c.start_system_job(kind, &gc_parameters(&params)).await?;
            started(app, kind, id, wait).await?;
        }
        GcCmd::History { limit } => history(app, kind, &c.system_job_runs(kind, limit).await?)?,
        GcCmd::Show { id } => show(app, kind, &c.system_job_run(kind, id).await?)?,
        GcCmd::Log { id } => {
            let log = c.system_job_log(kind, id).await?;
            out.text(&log, &json!({ "id": id, "log": log }))?;
        }
        GcCmd::Stop { id } => {
            c.stop_system_job(kind, id).await?;
            // The server leaves a run that already ended as it is; say so.
            let run = c.system_job_run(kind, id).await?;
            let msg = if run.ended() && run.job_status != "Stopped" {
                format!(
                    "Garbage collection run {id} had already ended ({})",
                    run.job_status
                )
            } else {
                format!("Asked garbage collection run {id} to stop")
            };
            out.done(
                &msg,
                &json!({ "stopped": id, "job_status": run.job_status }),
                &id.to_string(),
            )?;
        }
        GcCmd::Schedule { action: None } => show_schedule(app, kind).await?,
        GcCmd::Schedule {
            action:
                Some(GcScheduleCmd::Set {
                    every,
                    cron,
                    params,
                }),
        } => {
            check_schedule(every, cron.as_deref())?;
            c.set_system_job_schedule(
                kind,
                every.as_harbor(),
                cron.as_deref(),
                &gc_parameters(&params),
            )
            .await?;
            show_schedule(app, kind).await?;
        }
        GcCmd::Schedule {
            action: Some(GcScheduleCmd::Remove),
        } => {
            c.set_system_job_schedule(kind, "None", None, &json!({}))
                .await?;
            out.done(
                "Removed the garbage collection schedule",
                &json!({ "schedule": { "type": "None" } }),
                "None",
            )?;
        }
    }
    Ok(())
}

/// `harbor audit purge-history`, `harbor system fsck-history`: past runs of `kind`.
pub(crate) async fn runs(app: &App, kind: SystemJob, limit: usize) -> Outcome {
    history(app, kind, &app.client.system_job_runs(kind, limit).await?)
}

/// `harbor audit purge-schedule [set|none]`.
pub(crate) async fn purge_schedule(app: &App, action: Option<PurgeScheduleCmd>) -> Outcome {
    let (c, kind) = (&app.client, SystemJob::PurgeAudit);
    match action {
        None => show_schedule(app, kind).await,
        Some(PurgeScheduleCmd::Set {
            every,
            cron,
            keep_hours,
            operations,
        }) => {
            check_schedule(every, cron.as_deref())?;
            let params = PurgeAuditParameters {
                audit_retention_hour: keep_hours,
                include_operations: operations,
                dry_run: false,
            };
            c.set_system_job_schedule(kind, every.as_harbor(), cron.as_deref(), &params)
                .await?;
            show_schedule(app, kind).await
        }
        Some(PurgeScheduleCmd::Remove) => {
            c.set_system_job_schedule(kind, "None", None, &json!({}))
                .await?;
            app.out.done(
                "Removed the audit purge schedule",
                &json!({ "schedule": { "type": "None" } }),
                "None",
            )?;
            Ok(())
        }
    }
}

/// A custom schedule needs a cron, and only it takes one.
pub(crate) fn check_schedule(every: ScheduleKind, cron: Option<&str>) -> Outcome {
    match (every, cron) {
        (ScheduleKind::Custom, None) => Err(Failure::usage("a custom schedule needs --cron")),
        (k, Some(_)) if k != ScheduleKind::Custom => {
            Err(Failure::usage("--cron is for `custom` schedules"))
        }
        _ => Ok(()),
    }
}

/// `harbor audit purge`.
pub(crate) async fn purge_audit(app: &App, params: PurgeAuditParameters, wait: bool) -> Outcome {
    let kind = SystemJob::PurgeAudit;
    let id = app.client.start_system_job(kind, &params).await?;
    started(app, kind, id, wait).await
}

/// `harbor system fsck`.
pub(crate) async fn fsck(app: &App, params: FsckParameters, wait: bool) -> Outcome {
    let kind = SystemJob::Fsck;
    let id = app.client.start_system_job(kind, &params).await?;
    started(app, kind, id, wait).await
}

/// `harbor system queues`.
pub(crate) async fn queues(app: &App) -> Outcome {
    let queues = app.client.job_queues().await?;
    let kind = |q: &JobQueue| q.job_type.clone();
    let waiting = |q: &JobQueue| q.count.to_string();
    let running = |q: &JobQueue| q.running.to_string();
    let cols: [Column<'_, JobQueue>; 3] =
        [("job", &kind), ("waiting", &waiting), ("running", &running)];
    app.out.list(&queues, &cols, &kind)?;
    Ok(())
}

/// `harbor system schedules`.
pub(crate) async fn schedules(app: &App) -> Outcome {
    let all = app.client.schedules().await?;
    let name = |s: &ScheduleTask| s.name.clone();
    let job = |s: &ScheduleTask| s.vendor_type.clone();
    let kind = |s: &ScheduleTask| s.schedule_type.clone();
    let cron = |s: &ScheduleTask| s.cron.clone();
    let next = |s: &ScheduleTask| s.next_scheduled_time.clone().unwrap_or_default();
    let cols: [Column<'_, ScheduleTask>; 5] = [
        ("name", &name),
        ("job", &job),
        ("type", &kind),
        ("cron", &cron),
        ("next run", &next),
    ];
    app.out.list(&all, &cols, &name)?;
    Ok(())
}
