//! `harbor system ...` and `harbor audit ...`.

use serde_json::{Value, json};

use super::{App, Outcome, jobs};
use crate::cli::{AuditCmd, Switch, SystemCmd};
use crate::client::{AuditEntry, FsckParameters, PurgeAuditParameters};
use crate::output::Column;

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) async fn system(app: &App, cmd: SystemCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        SystemCmd::Info => {
            let info = c.system_info().await?;
            let fields: Vec<(&str, String)> = [
                "harbor_version",
                "registry_url",
                "external_url",
                "auth_mode",
                "read_only",
                "robot_name_prefix",
            ]
            .into_iter()
            .filter(|k| info.get(*k).is_some())
            .map(|k| (k, text(&info[k])))
            .collect();
            out.one(&info, &fields, &text(&info["harbor_version"]))?;
        }
        SystemCmd::Health => {
            let h = c.health().await?;
            let mut fields = vec![("status", text(&h["status"]))];
            let components: Vec<String> = h["components"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| format!("{}={}", text(&x["name"]), text(&x["status"])))
                        .collect()
                })
                .unwrap_or_default();
            fields.push(("components", components.join(", ")));
            out.one(&h, &fields, &text(&h["status"]))?;
        }
        SystemCmd::Config => {
            let cfg = c.configurations().await?;
            let fields: Vec<(&str, String)> = cfg
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let fixed = if v["editable"] == false {
                                " (fixed)"
                            } else {
                                ""
                            };
                            (k.as_str(), format!("{}{fixed}", v["value"]))
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.one(&cfg, &fields, "")?;
        }
        SystemCmd::ConfigSet { values } => {
            let body: serde_json::Map<String, serde_json::Value> = values
                .into_iter()
                .map(|(k, v)| {
                    let value = serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v));
                    (k, value)
                })
                .collect();
            let body = serde_json::Value::Object(body);
            c.set_configurations(&body).await?;
            out.done("Settings changed", &body, "")?;
        }
        SystemCmd::ReadOnly { state } => {
            if state != Switch::Status {
                c.set_read_only(state == Switch::On).await?;
            }
            let cfg = c.configurations().await?;
            let on = cfg["read_only"]["value"].as_bool().unwrap_or(false);
            let msg = if on {
                "Read-only mode is on: pushes and deletes are refused"
            } else {
                "Read-only mode is off"
            };
            out.done(msg, &json!({ "read_only": on }), &on.to_string())?;
        }
        SystemCmd::Fsck {
            repair,
            grace_minutes,
            wait,
        } => {
            let params = FsckParameters {
                repair,
                grace_minutes,
            };
            jobs::fsck(app, params, wait).await?;
        }
        SystemCmd::FsckHistory { limit } => {
            jobs::runs(app, crate::client::SystemJob::Fsck, limit).await?
        }
        SystemCmd::Queues => jobs::queues(app).await?,
        SystemCmd::Schedules => jobs::schedules(app).await?,
    }
    Ok(())
}

pub(crate) async fn audit(app: &App, cmd: AuditCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    let (user, operation, resource, resource_type, limit) = match cmd {
        AuditCmd::List {
            user,
            operation,
            resource,
            resource_type,
            limit,
        } => (user, operation, resource, resource_type, limit),
        AuditCmd::Purge {
            keep_hours,
            operations,
            dry_run,
            wait,
        } => {
            let params = PurgeAuditParameters {
                audit_retention_hour: keep_hours,
                include_operations: operations,
                dry_run,
            };
            return jobs::purge_audit(app, params, wait).await;
        }
        AuditCmd::PurgeHistory { limit } => {
            return jobs::runs(app, crate::client::SystemJob::PurgeAudit, limit).await;
        }
        AuditCmd::PurgeSchedule { action } => {
            return jobs::purge_schedule(app, action).await;
        }
    };
    let mut q = Vec::new();
    if let Some(u) = user {
        q.push(format!("username={u}"));
    }
    if let Some(o) = operation {
        q.push(format!("operation={o}"));
    }
    if let Some(r) = resource {
        q.push(format!("resource=~{r}"));
    }
    if let Some(t) = resource_type {
        q.push(format!("resource_type={t}"));
    }
    let q = (!q.is_empty()).then(|| q.join(","));
    let entries = c.audit_logs(q.as_deref(), limit).await?;
    let time = |e: &AuditEntry| e.op_time.clone();
    let user = |e: &AuditEntry| e.username.clone();
    let op = |e: &AuditEntry| e.operation.clone();
    let kind = |e: &AuditEntry| e.resource_type.clone();
    let res = |e: &AuditEntry| e.resource.clone();
    let id = |e: &AuditEntry| e.id.to_string();
    let cols: [Column<'_, AuditEntry>; 5] = [
        ("time", &time),
        ("user", &user),
        ("operation", &op),
        ("type", &kind),
        ("resource", &res),
    ];
    out.list(&entries, &cols, &id)?;
    Ok(())
}

/// The settings `harbor config auth` shows for each `auth_mode`.
fn auth_applies(key: &str, mode: &str) -> bool {
    key == "auth_mode"
        || key == "primary_auth_mode"
        || match mode {
            "ldap_auth" => key.starts_with("ldap_"),
            "oidc_auth" => key.starts_with("oidc_"),
            "http_auth" => key.starts_with("http_authproxy_"),
            _ => false,
        }
}

pub(crate) async fn config(app: &App, cmd: crate::cli::ConfigCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        crate::cli::ConfigCmd::Auth => {
            let cfg = c.configurations().await?;
            let mode = cfg["auth_mode"]["value"]
                .as_str()
                .unwrap_or("db_auth")
                .to_owned();
            let shown: serde_json::Map<String, serde_json::Value> = cfg
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| auth_applies(k, &mode))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let fields: Vec<(&str, String)> = shown
                .iter()
                .map(|(k, v)| {
                    let value = match &v["value"] {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.as_str(), value)
                })
                .collect();
            let shown = serde_json::Value::Object(shown.clone());
            out.one(&shown, &fields, &mode)?;
        }
    }
    Ok(())
}
