//! `harbor artifact ...`, `harbor quota ...`, `harbor label ...`, `harbor immutable ...`.

use serde_json::{Value, json};

use super::{App, Failure, Outcome};
use crate::cli::{ArtifactCmd, ImmutableCmd, LabelCmd, QuotaCmd};
use crate::client::{Artifact, ArtifactRef, ImmutableRule, Label, Quota, parse_size};
use crate::output::Column;

/// `1.5 MiB`-style sizes for tables.
pub(super) fn human(bytes: i64) -> String {
    if bytes < 0 {
        return "unlimited".into();
    }
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

fn short(digest: &str) -> String {
    digest.chars().take(19).collect()
}

pub(crate) async fn artifact(app: &App, cmd: ArtifactCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    let attach = matches!(cmd, ArtifactCmd::Label { .. });
    match cmd {
        ArtifactCmd::List {
            repository,
            tag,
            limit,
        } => {
            let q = tag.map(|t| format!("tags=~{t}"));
            let arts = c.artifacts(&repository, q.as_deref(), limit).await?;
            let digest = |a: &Artifact| short(&a.digest);
            let tags = |a: &Artifact| a.tag_names();
            let kind = |a: &Artifact| a.kind.clone();
            let size = |a: &Artifact| human(a.size as i64);
            let pushed = |a: &Artifact| a.push_time.clone();
            let full = |a: &Artifact| a.digest.clone();
            let cols: [Column<'_, Artifact>; 5] = [
                ("digest", &digest),
                ("tags", &tags),
                ("type", &kind),
                ("size", &size),
                ("pushed", &pushed),
            ];
            out.list(&arts, &cols, &full)?;
        }
        ArtifactCmd::Show { artifact } => {
            let a = c.artifact(&ArtifactRef::parse(&artifact)?).await?;
            let text = |v: &Value| match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let names = |k: &str| {
                a[k].as_array()
                    .map(|x| {
                        x.iter()
                            .map(|t| text(&t["name"]))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            let fields = vec![
                ("digest", text(&a["digest"])),
                ("type", text(&a["type"])),
                ("media type", text(&a["manifest_media_type"])),
                ("size", human(a["size"].as_i64().unwrap_or(0))),
                ("tags", names("tags")),
                ("labels", names("labels")),
                ("pushed", text(&a["push_time"])),
                ("pulled", crate::output::time(a["pull_time"].as_str())),
                (
                    "platform",
                    format!(
                        "{} {}",
                        text(&a["extra_attrs"]["os"]),
                        text(&a["extra_attrs"]["architecture"])
                    )
                    .trim()
                    .to_owned(),
                ),
            ];
            out.one(&a, &fields, &text(&a["digest"]))?;
        }
        ArtifactCmd::Delete { artifact } => {
            c.delete_artifact(&ArtifactRef::parse(&artifact)?).await?;
            out.done(
                &format!("Deleted {artifact}"),
                &json!({ "deleted": artifact }),
                &artifact,
            )?;
        }
        ArtifactCmd::Copy { artifact, to } => {
            c.copy_artifact(&ArtifactRef::parse(&artifact)?, &to)
                .await?;
            out.done(
                &format!("Copied {artifact} into {to}"),
                &json!({ "from": artifact, "to": to }),
                &to,
            )?;
        }
        ArtifactCmd::Tag { artifact, tag } => {
            c.add_tag(&ArtifactRef::parse(&artifact)?, &tag).await?;
            out.done(
                &format!("Tagged {artifact} as {tag}"),
                &json!({ "artifact": artifact, "tag": tag }),
                &tag,
            )?;
        }
        ArtifactCmd::Untag { artifact, tag } => {
            c.remove_tag(&ArtifactRef::parse(&artifact)?, &tag).await?;
            out.done(
                &format!("Removed tag {tag} from {artifact}"),
                &json!({ "artifact": artifact, "removed": tag }),
                &tag,
            )?;
        }
        ArtifactCmd::Label { artifact, label } | ArtifactCmd::Unlabel { artifact, label } => {
            let a = ArtifactRef::parse(&artifact)?;
            let project = a.repository.split('/').next().unwrap_or_default();
            let project_id = c.project(project).await?.project_id;
            let l = c.label_by_name(&label, Some(project_id)).await?;
            if attach {
                c.attach_label(&a, l.id).await?;
            } else {
                c.detach_label(&a, l.id).await?;
            }
            let verb = if attach { "Labelled" } else { "Unlabelled" };
            out.done(
                &format!("{verb} {artifact}: {label}"),
                &json!({ "artifact": artifact, "label_id": l.id, "attached": attach }),
                &l.id.to_string(),
            )?;
        }
    }
    Ok(())
}

pub(crate) async fn quota(app: &App, cmd: QuotaCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        QuotaCmd::List => {
            let quotas = c.quotas().await?;
            let project = |q: &Quota| q.project_name();
            let used = |q: &Quota| human(q.usage());
            let limit = |q: &Quota| human(q.limit());
            let percent = |q: &Quota| match q.limit() {
                l if l > 0 => format!("{:.0}%", q.usage() as f64 * 100.0 / l as f64),
                _ => "-".into(),
            };
            let cols: [Column<'_, Quota>; 4] = [
                ("project", &project),
                ("used", &used),
                ("limit", &limit),
                ("use%", &percent),
            ];
            out.list(&quotas, &cols, &project)?;
        }
        QuotaCmd::Set { project, limit } => {
            let bytes = parse_size(&limit)
                .filter(|b| *b == -1 || *b > 0)
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "invalid limit {limit:?}: use bytes, a size like 10GiB, or -1 (unlimited)"
                    ))
                })?;
            c.set_quota(&project, bytes).await?;
            out.done(
                &format!("Storage limit of {project}: {}", human(bytes)),
                &json!({ "project": project, "hard": { "storage": bytes } }),
                &project,
            )?;
        }
        QuotaCmd::Recount { project, dry_run } => {
            let r = c.recount_quota(&project, dry_run).await?;
            let consistent = r["consistent"].as_bool().unwrap_or(false);
            let msg = format!(
                "{project}: stored {}, recounted {}{}",
                human(r["stored"].as_i64().unwrap_or(0)),
                human(r["recounted"].as_i64().unwrap_or(0)),
                match (consistent, r["repaired"].as_bool().unwrap_or(false)) {
                    (true, _) => " (consistent)",
                    (false, true) => " (repaired)",
                    (false, false) => " (drift: run without --dry-run to repair)",
                }
            );
            out.done(&msg, &r, &consistent.to_string())?;
        }
    }
    Ok(())
}

pub(crate) async fn label(app: &App, cmd: LabelCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        LabelCmd::List { project } => {
            let project_id = c.project_id(project.as_deref()).await?;
            let labels = c.labels(project_id).await?;
            let id = |l: &Label| l.id.to_string();
            let name = |l: &Label| l.name.clone();
            let scope = |l: &Label| l.scope.clone();
            let color = |l: &Label| l.color.clone();
            let cols: [Column<'_, Label>; 4] = [
                ("id", &id),
                ("name", &name),
                ("scope", &scope),
                ("color", &color),
            ];
            out.list(&labels, &cols, &id)?;
        }
        LabelCmd::Create {
            name,
            project,
            color,
            description,
        } => {
            let project_id = c.project_id(project.as_deref()).await?;
            let id = c
                .create_label(&name, project_id, &color, &description)
                .await?;
            out.done(
                &format!("Created label {name} (id {id})"),
                &json!({ "id": id, "name": name }),
                &id.to_string(),
            )?;
        }
        LabelCmd::Update {
            id,
            name,
            color,
            description,
        } => {
            let mut changes = serde_json::Map::new();
            for (k, v) in [
                ("name", name),
                ("color", color),
                ("description", description),
            ] {
                if let Some(v) = v {
                    changes.insert(k.into(), json!(v));
                }
            }
            if changes.is_empty() {
                return Err(super::Failure::usage(
                    "nothing to change: give --name, --color or --description",
                ));
            }
            let changes = serde_json::Value::Object(changes);
            c.update_label(id, &changes).await?;
            out.done(&format!("Updated label {id}"), &changes, &id.to_string())?;
        }
        LabelCmd::Delete { id } => {
            c.delete_label(id).await?;
            out.done(
                &format!("Deleted label {id}"),
                &json!({ "deleted": id }),
                &id.to_string(),
            )?;
        }
    }
    Ok(())
}

pub(crate) async fn immutable(app: &App, cmd: ImmutableCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        ImmutableCmd::List { project } => {
            let rules = c.immutable_rules(&project).await?;
            let id = |r: &ImmutableRule| r.id.to_string();
            let repos = |r: &ImmutableRule| r.repositories();
            let tags = |r: &ImmutableRule| r.tags();
            let disabled = |r: &ImmutableRule| r.disabled.to_string();
            let cols: [Column<'_, ImmutableRule>; 4] = [
                ("id", &id),
                ("repositories", &repos),
                ("tags", &tags),
                ("disabled", &disabled),
            ];
            out.list(&rules, &cols, &id)?;
        }
        ImmutableCmd::Add {
            project,
            repos,
            tags,
            exclude_repos,
            exclude_tags,
        } => {
            let id = c
                .add_immutable_rule(&project, &repos, exclude_repos, &tags, exclude_tags)
                .await?;
            out.done(
                &format!("Tags {tags} in {project}/{repos} are now immutable (rule {id})"),
                &json!({ "id": id, "project": project, "repositories": repos, "tags": tags }),
                &id.to_string(),
            )?;
        }
        ImmutableCmd::Disable { ref project, id } | ImmutableCmd::Enable { ref project, id } => {
            let disabled = matches!(cmd, ImmutableCmd::Disable { .. });
            c.set_immutable_rule_disabled(project, id, disabled).await?;
            let what = if disabled { "disabled" } else { "enabled" };
            out.done(
                &format!("Rule {id} of {project} is {what}"),
                &json!({ "id": id, "disabled": disabled }),
                &id.to_string(),
            )?;
        }
        ImmutableCmd::Delete { project, id } => {
            c.delete_immutable_rule(&project, id).await?;
            out.done(
                &format!("Deleted rule {id} of {project}"),
                &json!({ "deleted": id }),
                &id.to_string(),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human(-1), "unlimited");
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(10 << 30), "10.0 GiB");
    }
}
