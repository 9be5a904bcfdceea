//! `harbor replication ...`: policies, executions, tasks and their logs.

use harbor_api_model::{
    Registry, ReplicationExecution, ReplicationFilter, ReplicationPolicy, ReplicationTask,
    ReplicationTrigger, ReplicationTriggerSettings,
};
use serde_json::json;

use super::wait::{Progress, until_done};
use super::{App, Failure, Outcome, REFUSED};
use crate::cli::{ReplicationCmd, ReplicationPolicyCmd};
use crate::client::Client;
use crate::output::{Column, time};

/// The policy an argument names: an id, else a name.
async fn resolve(c: &Client, arg: &str) -> Result<ReplicationPolicy, Failure> {
    if let Ok(id) = arg.parse::<i64>() {
        return Ok(c.replication_policy(id).await?);
    }
    c.replication_policies()
        .await?
        .into_iter()
        .find(|p| p.name == arg)
        .ok_or_else(|| Failure::usage(format!("no replication policy named {arg:?}")))
}

/// The registry an argument names: an id, else a name.
pub(super) async fn registry_id(c: &Client, arg: &str) -> Result<i64, Failure> {
    if let Ok(id) = arg.parse::<i64>() {
        return Ok(id);
    }
    c.registry_by_name(arg)
        .await?
        .map(|r| r.id)
        .ok_or_else(|| Failure::usage(format!("no registry named {arg:?}")))
}

fn side(r: &Option<Registry>) -> String {
    match r {
        Some(r) if r.id > 0 => r.name.clone(),
        _ => "(this registry)".into(),
    }
}

fn trigger_text(p: &ReplicationPolicy) -> String {
    match &p.trigger {
        Some(t) if t.kind == "scheduled" => format!(
            "scheduled {}",
            t.trigger_settings.as_ref().map_or("", |s| s.cron.as_str())
        ),
        Some(t) => t.kind.clone(),
        None => "manual".into(),
    }
}

fn filters_text(p: &ReplicationPolicy) -> String {
    p.filters
        .iter()
        .map(|f| {
            let v = match &f.value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if f.decoration == "excludes" {
                format!("{} not {v}", f.kind)
            } else {
                format!("{} {v}", f.kind)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn trigger(spec: &str) -> ReplicationTrigger {
    match spec {
        "manual" | "event_based" => ReplicationTrigger {
            kind: spec.into(),
            trigger_settings: None,
        },
        cron => ReplicationTrigger {
            kind: "scheduled".into(),
            trigger_settings: Some(ReplicationTriggerSettings { cron: cron.into() }),
        },
    }
}

fn execution_row(e: &ReplicationExecution) -> [(&'static str, String); 8] {
    [
        ("id", e.id.to_string()),
        ("policy", e.policy_id.to_string()),
        ("status", e.status.clone()),
        ("trigger", e.trigger.clone()),
        ("started", time(Some(&e.start_time))),
        ("ended", time(e.end_time.as_deref())),
        (
            "tasks",
            format!(
                "{} ({} ok, {} failed, {} running, {} stopped)",
                e.total, e.succeed, e.failed, e.in_progress, e.stopped
            ),
        ),
        ("status text", e.status_text.clone()),
    ]
}

async fn policy_cmd(app: &App, cmd: ReplicationPolicyCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        ReplicationPolicyCmd::List => {
            let items = c.replication_policies().await?;
            let id = |p: &ReplicationPolicy| p.id.to_string();
            let name = |p: &ReplicationPolicy| p.name.clone();
            let from = |p: &ReplicationPolicy| side(&p.src_registry);
            let to = |p: &ReplicationPolicy| side(&p.dest_registry);
            let enabled = |p: &ReplicationPolicy| p.enabled.to_string();
            let cols: [Column<'_, ReplicationPolicy>; 7] = [
                ("id", &id),
                ("name", &name),
                ("from", &from),
                ("to", &to),
                ("trigger", &trigger_text),
                ("filters", &filters_text),
                ("enabled", &enabled),
            ];
            out.list(&items, &cols, &id)?;
        }
        ReplicationPolicyCmd::Show { policy } => {
            let p = resolve(c, &policy).await?;
            let fields = [
                ("id", p.id.to_string()),
                ("name", p.name.clone()),
                ("from", side(&p.src_registry)),
                ("to", side(&p.dest_registry)),
                ("destination namespace", p.dest_namespace.clone()),
                (
                    "replace count",
                    p.dest_namespace_replace_count.unwrap_or(-1).to_string(),
                ),
                ("filters", filters_text(&p)),
                ("trigger", trigger_text(&p)),
                ("override", p.r#override.to_string()),
                ("deletion", p.deletion.to_string()),
                ("speed (kbit/s)", p.speed.unwrap_or(0).to_string()),
                ("enabled", p.enabled.to_string()),
                ("description", p.description.clone()),
            ];
            out.one(&p, &fields, &p.id.to_string())?;
        }
        ReplicationPolicyCmd::Create {
            name,
            from,
            to,
            name_filter,
            tag_filter,
            exclude_tags,
            dest_namespace,
            replace_count,
            trigger: spec,
            deletion,
            no_override,
            speed,
            disabled,
            description,
        } => {
            let remote = |id| {
                Some(Registry {
                    id,
                    ..Registry::default()
                })
            };
            let (src_registry, dest_registry) = match (from, to) {
                (Some(f), None) => (remote(registry_id(c, &f).await?), None),
                (None, Some(t)) => (None, remote(registry_id(c, &t).await?)),
                _ => return Err(Failure::usage("give --from or --to")),
            };
            let mut filters = Vec::new();
            if let Some(n) = name_filter {
                filters.push(ReplicationFilter {
                    kind: "name".into(),
                    value: n.into(),
                    decoration: String::new(),
                });
            }
            if let Some(t) = tag_filter {
                filters.push(ReplicationFilter {
                    kind: "tag".into(),
                    value: t.into(),
                    decoration: if exclude_tags { "excludes" } else { "matches" }.into(),
                });
            }
            let id = c
                .create_replication_policy(&ReplicationPolicy {
                    name: name.clone(),
                    description,
                    src_registry,
                    dest_registry,
                    dest_namespace,
                    dest_namespace_replace_count: Some(replace_count),
                    trigger: Some(trigger(&spec)),
                    filters,
                    deletion,
                    r#override: !no_override,
                    enabled: !disabled,
                    speed: Some(speed),
                    ..ReplicationPolicy::default()
                })
                .await?;
            out.done(
                &format!("Created replication policy {name} (id {id}); run it with: harbor replication run {id}"),
                &json!({ "id": id, "name": name }),
                &id.to_string(),
            )?;
        }
        ReplicationPolicyCmd::Enable { policy, on } => {
            let mut p = resolve(c, &policy).await?;
            p.enabled = on;
            c.update_replication_policy(p.id, &p).await?;
            let what = if on { "Enabled" } else { "Disabled" };
            out.done(
                &format!("{what} replication policy {}", p.name),
                &json!({ "id": p.id, "enabled": on }),
                &p.id.to_string(),
            )?;
        }
        ReplicationPolicyCmd::Delete { policy } => {
            let p = resolve(c, &policy).await?;
            c.delete_replication_policy(p.id).await?;
            out.done(
                &format!("Deleted replication policy {}", p.name),
                &json!({ "deleted": p.id }),
                &p.id.to_string(),
            )?;
        }
    }
    Ok(())
}

pub(crate) async fn replication(app: &App, cmd: ReplicationCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        ReplicationCmd::Policy(p) => return policy_cmd(app, p).await,
        ReplicationCmd::Run { policy, wait } => {
            let p = resolve(c, &policy).await?;
            let id = c.start_replication(p.id).await?;
            if !wait {
                out.done(
                    &format!(
                        "Started execution {id} of {}; follow it with: harbor replication tasks {id}",
                        p.name
                    ),
                    &json!({ "id": id, "policy_id": p.id }),
                    &id.to_string(),
                )?;
                return Ok(());
            }
            let e = until_done(
                out,
                || c.replication_execution(id),
                |e| Progress {
                    ended: e.status != "InProgress",
                    total: (e.total > 0).then_some(e.total as u64),
                    done: (e.succeed + e.failed + e.stopped) as u64,
                    message: format!(
                        "{}: {} of {} task(s) done, {} failed",
                        e.status,
                        e.succeed + e.failed + e.stopped,
                        e.total,
                        e.failed
                    ),
                },
            )
            .await?;
            out.one(&e, &execution_row(&e), &e.id.to_string())?;
            if e.status != "Succeed" {
                return Err(Failure::new(
                    REFUSED,
                    format!(
                        "execution {id} ended {}: {}; see harbor replication logs {id}",
                        e.status, e.status_text
                    ),
                ));
            }
        }
        ReplicationCmd::Executions { policy } => {
            let policy_id = match policy {
                Some(p) => Some(resolve(c, &p).await?.id),
                None => None,
            };
            let items = c.replication_executions(policy_id, 100).await?;
            let id = |e: &ReplicationExecution| e.id.to_string();
            let pid = |e: &ReplicationExecution| e.policy_id.to_string();
            let status = |e: &ReplicationExecution| e.status.clone();
            let trig = |e: &ReplicationExecution| e.trigger.clone();
            let started = |e: &ReplicationExecution| time(Some(&e.start_time));
            let tasks = |e: &ReplicationExecution| format!("{}/{}", e.succeed, e.total);
            let cols: [Column<'_, ReplicationExecution>; 6] = [
                ("id", &id),
                ("policy", &pid),
                ("status", &status),
                ("trigger", &trig),
                ("started", &started),
                ("succeeded", &tasks),
            ];
            out.list(&items, &cols, &id)?;
        }
        ReplicationCmd::Tasks { execution } => {
            let items = c.replication_tasks(execution).await?;
            let id = |t: &ReplicationTask| t.id.to_string();
            let status = |t: &ReplicationTask| t.status.clone();
            let op = |t: &ReplicationTask| t.operation.clone();
            let src = |t: &ReplicationTask| t.src_resource.clone();
            let dst = |t: &ReplicationTask| t.dst_resource.clone();
            let cols: [Column<'_, ReplicationTask>; 5] = [
                ("id", &id),
                ("status", &status),
                ("operation", &op),
                ("source", &src),
                ("destination", &dst),
            ];
            out.list(&items, &cols, &id)?;
        }
        ReplicationCmd::Logs { execution, task } => {
            let ids = match task {
                Some(t) => vec![t],
                None => c
                    .replication_tasks(execution)
                    .await?
                    .iter()
                    .map(|t| t.id)
                    .collect(),
            };
            let mut text = String::new();
            for t in &ids {
                if ids.len() > 1 {
                    text.push_str(&format!("== task {t}\n"));
                }
                text.push_str(&c.replication_log(execution, *t).await?);
            }
            out.text(&text, &json!({ "execution": execution, "log": text }))?;
        }
        ReplicationCmd::Stop { execution } => {
            c.stop_replication(execution).await?;
            out.done(
                &format!("Stopping execution {execution}"),
                &json!({ "stopped": execution }),
                &execution.to_string(),
            )?;
        }
    }
    Ok(())
}
