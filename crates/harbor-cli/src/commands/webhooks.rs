//! `harbor webhook ...`: a project's webhook policies, tests, executions, logs, last
//! triggers and the supported event types.

use harbor_api_model::{
    Execution, Task, WebhookLastTrigger, WebhookPolicy, WebhookTargetObject, WebhookTestResult,
};
use serde::Serialize;

use super::{App, Failure, Outcome, REFUSED, stdin_lines};
use crate::cli::WebhookCmd;
use crate::output::{Column, time};

/// A policy's targets for people: `type address` each, comma-separated.
fn targets_text(p: &WebhookPolicy) -> String {
    p.targets
        .iter()
        .map(|t| {
            let mut s = format!("{} {}", t.kind, t.address);
            if let Some(f) = t.payload_format.as_deref().filter(|f| *f != "Default") {
                s.push_str(&format!(" ({f})"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// A string attribute of an execution or task (`event_type`, `address`).
fn attr(attrs: &std::collections::BTreeMap<String, serde_json::Value>, key: &str) -> String {
    attrs
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The auth header an option or standard input gives, if either does.
fn auth_header(flag: Option<String>, stdin: bool) -> Result<Option<String>, Failure> {
    if stdin {
        return Ok(Some(stdin_lines(1)?.remove(0)));
    }
    Ok(flag)
}

/// The payload format to send for a target of `kind`: none for Slack (the API refuses
/// one), the given or `Default` for HTTP.
fn payload_format(kind: &str, format: Option<String>) -> Result<Option<String>, Failure> {
    match (kind, format) {
        ("slack", Some(f)) if f != "Default" => Err(Failure::usage(format!(
            "--format {f}: slack targets take no payload format"
        ))),
        ("slack", _) => Ok(None),
        (_, f) => Ok(Some(f.unwrap_or_else(|| "Default".into()))),
    }
}

pub(crate) async fn webhook(app: &App, cmd: WebhookCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        WebhookCmd::List { project } => {
            let items = c.webhook_policies(&project).await?;
            let id = |p: &WebhookPolicy| p.id.to_string();
            let name = |p: &WebhookPolicy| p.name.clone();
            let enabled = |p: &WebhookPolicy| yes_no(p.enabled);
            let events = |p: &WebhookPolicy| p.event_types.join(",");
            let creator = |p: &WebhookPolicy| p.creator.clone();
            let cols: [Column<'_, WebhookPolicy>; 6] = [
                ("id", &id),
                ("name", &name),
                ("enabled", &enabled),
                ("targets", &targets_text),
                ("events", &events),
                ("creator", &creator),
            ];
            out.list(&items, &cols, &id)?;
        }
        WebhookCmd::Get { project, id } => {
            let p = c.webhook_policy(&project, id).await?;
            let auth = if p.targets.iter().any(|t| t.auth_header.is_some()) {
                "stored"
            } else {
                "none"
            };
            let fields = [
                ("id", p.id.to_string()),
                ("name", p.name.clone()),
                ("description", p.description.clone()),
                ("enabled", yes_no(p.enabled)),
                ("targets", targets_text(&p)),
                ("auth header", auth.to_owned()),
                (
                    "skip cert verify",
                    yes_no(p.targets.iter().any(|t| t.skip_cert_verify)),
                ),
                ("events", p.event_types.join(",")),
                ("creator", p.creator.clone()),
                ("created", time(p.creation_time.as_deref())),
                ("updated", time(p.update_time.as_deref())),
            ];
            out.one(&p, &fields, &p.id.to_string())?;
        }
        WebhookCmd::Create {
            project,
            name,
            address,
            kind,
            format,
            auth_header: header,
            auth_header_stdin,
            skip_cert_verify,
            events,
            disabled,
            description,
        } => {
            let auth = auth_header(header, auth_header_stdin)?.filter(|h| !h.is_empty());
            let policy = WebhookPolicy {
                name: name.clone(),
                description,
                targets: vec![WebhookTargetObject {
                    payload_format: payload_format(&kind, format)?,
                    kind,
                    address,
                    auth_header: auth,
                    skip_cert_verify,
                }],
                event_types: events,
                enabled: !disabled,
                ..WebhookPolicy::default()
            };
            let id = c.create_webhook_policy(&project, &policy).await?;
            out.done(
                &format!(
                    "Created webhook policy {name} (id {id}); try it with: harbor webhook test \
                     {project} {id}"
                ),
                &Created { id, name: &name },
                &id.to_string(),
            )?;
        }
        WebhookCmd::Update {
            project,
            id,
            name,
            address,
            kind,
            format,
            auth_header: header,
            auth_header_stdin,
            skip_cert_verify,
            events,
            disabled,
            description,
        } => {
            let mut p = c.webhook_policy(&project, id).await?;
            let header = auth_header(header, auth_header_stdin)?;
            if p.targets.is_empty() {
                p.targets.push(WebhookTargetObject::default());
            }
            let t = &mut p.targets[0];
            if let Some(a) = address {
                t.address = a;
            }
            let kind_changed = kind.as_ref().is_some_and(|k| *k != t.kind);
            if let Some(k) = kind {
                t.kind = k;
            }
            if format.is_some() || kind_changed {
                let current = format.or_else(|| t.payload_format.clone().filter(|_| !kind_changed));
                t.payload_format = payload_format(&t.kind, current)?;
            }
            // An empty header removes the stored one; none (the mask) keeps it.
            if let Some(h) = header {
                t.auth_header = Some(h);
            }
            if let Some(s) = skip_cert_verify {
                t.skip_cert_verify = s;
            }
            if let Some(n) = name {
                p.name = n;
            }
            if let Some(d) = description {
                p.description = d;
            }
            if !events.is_empty() {
                p.event_types = events;
            }
            if let Some(d) = disabled {
                p.enabled = !d;
            }
            c.update_webhook_policy(&project, id, &p).await?;
            out.done(
                &format!("Updated webhook policy {} (id {id})", p.name),
                &p,
                &id.to_string(),
            )?;
        }
        WebhookCmd::Enable { project, id } => set_enabled(app, &project, id, true).await?,
        WebhookCmd::Disable { project, id } => set_enabled(app, &project, id, false).await?,
        WebhookCmd::Delete { project, id } => {
            c.delete_webhook_policy(&project, id).await?;
            out.done(
                &format!("Deleted webhook policy {id}"),
                &Deleted { id },
                &id.to_string(),
            )?;
        }
        WebhookCmd::Test { project, id } => {
            let results = c.test_webhook_policy(&project, id).await?;
            let address = |r: &WebhookTestResult| r.address.clone();
            let result = |r: &WebhookTestResult| if r.success { "ok" } else { "failed" }.to_owned();
            let message = |r: &WebhookTestResult| r.message.clone();
            let cols: [Column<'_, WebhookTestResult>; 3] = [
                ("address", &address),
                ("result", &result),
                ("message", &message),
            ];
            out.list(&results, &cols, &address)?;
            let failed = results.iter().filter(|r| !r.success).count();
            if failed > 0 {
                return Err(Failure::new(
                    REFUSED,
                    format!("{failed} of {} targets failed the test", results.len()),
                ));
            }
        }
        WebhookCmd::Executions {
            project,
            id,
            status,
            limit,
        } => {
            let items = c
                .webhook_executions(&project, id, status.as_deref(), limit)
                .await?;
            let eid = |e: &Execution| e.id.to_string();
            let status = |e: &Execution| e.status.clone();
            let event = |e: &Execution| attr(&e.extra_attrs, "event_type");
            let kind = |e: &Execution| e.vendor_type.clone();
            let start = |e: &Execution| time(Some(&e.start_time));
            let end = |e: &Execution| time(e.end_time.as_deref());
            let message = |e: &Execution| e.status_message.clone();
            let cols: [Column<'_, Execution>; 7] = [
                ("id", &eid),
                ("status", &status),
                ("event", &event),
                ("type", &kind),
                ("started", &start),
                ("ended", &end),
                ("message", &message),
            ];
            out.list(&items, &cols, &eid)?;
        }
        WebhookCmd::Log {
            project,
            id,
            execution_id,
        } => {
            let tasks = c.webhook_tasks(&project, id, execution_id).await?;
            let mut text = String::new();
            for t in &tasks {
                let log = c.webhook_task_log(&project, id, execution_id, t.id).await?;
                text.push_str(&format!(
                    "# task {} to {}: {} after {} attempt(s)\n",
                    t.id,
                    attr(&t.extra_attrs, "address"),
                    t.status,
                    t.run_count
                ));
                text.push_str(&log);
            }
            out.text(
                &text,
                &LogOutput {
                    tasks: &tasks,
                    log: &text,
                },
            )?;
        }
        WebhookCmd::Triggers { project } => {
            let items = c.webhook_last_triggers(&project).await?;
            let policy = |t: &WebhookLastTrigger| t.policy_name.clone();
            let event = |t: &WebhookLastTrigger| t.event_type.clone();
            let enabled = |t: &WebhookLastTrigger| yes_no(t.enabled);
            let created = |t: &WebhookLastTrigger| time(Some(&t.creation_time));
            let last = |t: &WebhookLastTrigger| time(t.last_trigger_time.as_deref());
            let cols: [Column<'_, WebhookLastTrigger>; 5] = [
                ("policy", &policy),
                ("event", &event),
                ("enabled", &enabled),
                ("created", &created),
                ("last trigger", &last),
            ];
            out.list(&items, &cols, &policy)?;
        }
        WebhookCmd::Events { project } => {
            let e = c.webhook_events(&project).await?;
            let formats = e
                .payload_formats
                .iter()
                .map(|f| format!("{}: {}", f.notify_type, f.formats.join(", ")))
                .collect::<Vec<_>>()
                .join("; ");
            let fields = [
                ("event types", e.event_type.join(", ")),
                ("notify types", e.notify_type.join(", ")),
                ("payload formats", formats),
            ];
            out.one(&e, &fields, &e.event_type.join("\n"))?;
        }
    }
    Ok(())
}

/// Enables or disables a policy: the stored policy sent back with `enabled` changed (its
/// masked auth header keeps the stored one).
async fn set_enabled(app: &App, project: &str, id: i64, on: bool) -> Outcome {
    let mut p = app.client.webhook_policy(project, id).await?;
    p.enabled = on;
    app.client.update_webhook_policy(project, id, &p).await?;
    let word = if on { "Enabled" } else { "Disabled" };
    app.out.done(
        &format!("{word} webhook policy {} (id {id})", p.name),
        &p,
        &id.to_string(),
    )?;
    Ok(())
}

/// `-o json` of `create`.
#[derive(Serialize)]
struct Created<'a> {
    id: i64,
    name: &'a str,
}

/// `-o json` of `delete`.
#[derive(Serialize)]
struct Deleted {
    id: i64,
}

/// `-o json` of `log`: the tasks and their log text.
#[derive(Serialize)]
struct LogOutput<'a> {
    tasks: &'a [Task],
    log: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_targets_take_no_format() {
        assert_eq!(payload_format("slack", None).unwrap(), None);
        assert_eq!(
            payload_format("slack", Some("Default".into())).unwrap(),
            None
        );
        assert!(payload_format("slack", Some("CloudEvents".into())).is_err());
        assert_eq!(
            payload_format("http", None).unwrap().as_deref(),
            Some("Default")
        );
        assert_eq!(
            payload_format("http", Some("CloudEvents".into()))
                .unwrap()
                .as_deref(),
            Some("CloudEvents")
        );
    }
}
