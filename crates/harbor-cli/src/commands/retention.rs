//! `harbor retention ...`: a project's tag retention policy and its runs.

use std::io::Read as _;
use std::path::Path;

use serde_json::{Value, json};

use super::jobs::ended_well;
use super::wait::{Progress, until_done};
use super::{App, Failure, NOT_FOUND, Outcome};
use crate::cli::RetentionCmd;
use harbor_api_model::{RetentionPolicy, RetentionPolicyScope};

use crate::client::{Project, RetentionExecution, RetentionTask};
use crate::output::{Column, Output};

/// The policy id of `project`, or a not-found failure naming the fix.
fn required(project: &Project) -> Result<i64, Failure> {
    project.retention_id().ok_or_else(|| {
        Failure::new(
            NOT_FOUND,
            format!(
                "project {} has no retention policy (harbor retention set)",
                project.name
            ),
        )
    })
}

/// Reads a policy file (`-`: standard input): Harbor's `RetentionPolicy` as JSON.
fn read_policy(path: &Path) -> Result<RetentionPolicy, Failure> {
    let mut raw = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut raw).map(drop)
    } else {
        std::fs::read_to_string(path).map(|s| raw = s)
    };
    read.map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&raw).map_err(|e| {
        Failure::usage(format!(
            "{}: not a retention policy (Harbor's RetentionPolicy JSON): {e}",
            path.display()
        ))
    })
}

fn tasks_table(tasks: &[RetentionTask]) -> Result<String, String> {
    let repo = |t: &RetentionTask| t.repository.clone();
    let status = |t: &RetentionTask| t.status.clone();
    let retained = |t: &RetentionTask| t.retained.to_string();
    let deleted = |t: &RetentionTask| t.deleted.to_string();
    let cols: [Column<'_, RetentionTask>; 4] = [
        ("repository", &repo),
        ("status", &status),
        ("retained", &retained),
        ("deleted", &deleted),
    ];
    Output::default().render_list(tasks, &cols, &repo)
}

fn runs_table(app: &App, runs: &[RetentionExecution]) -> Outcome {
    let id = |e: &RetentionExecution| e.id.to_string();
    let status = |e: &RetentionExecution| e.status.clone();
    let trigger = |e: &RetentionExecution| e.trigger.clone();
    let dry = |e: &RetentionExecution| e.dry_run.to_string();
    let started = |e: &RetentionExecution| e.start_time.clone().unwrap_or_default();
    let ended = |e: &RetentionExecution| e.end_time.clone().unwrap_or_default();
    let cols: [Column<'_, RetentionExecution>; 6] = [
        ("id", &id),
        ("status", &status),
        ("trigger", &trigger),
        ("dry run", &dry),
        ("started", &started),
        ("ended", &ended),
    ];
    app.out.list(runs, &cols, &id)?;
    Ok(())
}

pub(crate) async fn retention(app: &App, cmd: RetentionCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        RetentionCmd::Show { project } => match c.retention_id(&project).await? {
            None => out.done(
                &format!("Project {project} has no retention policy"),
                &Value::Null,
                "",
            )?,
            Some(id) => {
                let policy = c.retention_policy(id).await?;
                let pretty = serde_json::to_string_pretty(&policy).map_err(|e| e.to_string())?;
                out.done(&pretty, &policy, &id.to_string())?;
            }
        },
        RetentionCmd::Set {
            project,
            file,
            keep_latest,
            tags,
            repos,
            cron,
        } => {
            let mut policy = match (file, keep_latest) {
                (Some(path), _) => read_policy(&path)?,
                (None, Some(keep)) => RetentionPolicy::keep_latest(
                    keep,
                    tags.as_deref().unwrap_or("**"),
                    repos.as_deref().unwrap_or("**"),
                    cron.as_deref().unwrap_or(""),
                ),
                (None, None) => return Err(Failure::usage("give --file or --keep-latest")),
            };
            let p = c.project(&project).await?;
            policy.scope = Some(RetentionPolicyScope {
                level: "project".into(),
                reference: p.project_id,
            });
            let (id, verb) = match p.retention_id() {
                Some(id) => {
                    policy.id = id;
                    c.update_retention_policy(id, &policy).await?;
                    (id, "Replaced")
                }
                None => (c.create_retention_policy(&policy).await?, "Created"),
            };
            out.done(
                &format!("{verb} retention policy {id} of {project}"),
                &json!({ "id": id, "project": project }),
                &id.to_string(),
            )?;
        }
        RetentionCmd::Run {
            project,
            dry_run,
            wait,
        } => {
            let id = required(&c.project(&project).await?)?;
            let eid = c.start_retention_run(id, dry_run).await?;
            if !wait {
                out.done(
                    &format!("Started retention run {eid} of {project}"),
                    &json!({ "id": eid, "policy_id": id }),
                    &eid.to_string(),
                )?;
                return Ok(());
            }
            let run = until_done(
                out,
                || c.retention_run(id, eid),
                |e: &RetentionExecution| Progress {
                    ended: e.ended(),
                    total: None,
                    done: 0,
                    message: e.status.clone(),
                },
            )
            .await?;
            let tasks = c.retention_tasks(id, eid).await?;
            let dry = if run.dry_run { " (dry run)" } else { "" };
            let table = tasks_table(&tasks)?;
            out.done(
                &format!(
                    "Retention run {eid} of {project}: {}{dry}\n{}",
                    run.status,
                    table.trim_end()
                ),
                &json!({ "execution": run, "tasks": tasks }),
                &eid.to_string(),
            )?;
            ended_well("retention", eid, &run.status)?;
        }
        RetentionCmd::History { project, limit } => {
            let id = required(&c.project(&project).await?)?;
            runs_table(app, &c.retention_runs(id, limit).await?)?;
        }
        RetentionCmd::Delete { project } => {
            let id = required(&c.project(&project).await?)?;
            c.delete_retention_policy(id).await?;
            out.done(
                &format!("Deleted retention policy {id} of {project}"),
                &json!({ "deleted": id }),
                &id.to_string(),
            )?;
        }
    }
    Ok(())
}
