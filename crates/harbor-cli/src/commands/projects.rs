//! `harbor project ...` and `harbor repo ...`.

use serde_json::json;

use super::{App, Outcome};
use crate::cli::{ProjectCmd, RepoCmd};
use crate::client::{NewProject, Project, Repository};
use crate::output::Column;

pub(crate) async fn project(app: &App, cmd: ProjectCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        ProjectCmd::List { name } => {
            let projects = c.projects(name.as_deref()).await?;
            let name = |p: &Project| p.name.clone();
            let id = |p: &Project| p.project_id.to_string();
            let public = |p: &Project| p.is_public().to_string();
            let owner = |p: &Project| p.owner_name.clone();
            let created = |p: &Project| p.creation_time.clone();
            let cols: [Column<'_, Project>; 5] = [
                ("id", &id),
                ("name", &name),
                ("public", &public),
                ("owner", &owner),
                ("created", &created),
            ];
            out.list(&projects, &cols, &name)?;
        }
        ProjectCmd::Create {
            name,
            public,
            storage_limit,
            proxy_cache,
        } => {
            let mut p = NewProject::new(&name).public(public);
            p.storage_limit = storage_limit;
            if let Some(r) = proxy_cache {
                p.registry_id = Some(super::replication::registry_id(c, &r).await?);
            }
            let id = c.create_project(&p).await?;
            out.done(
                &format!("Created project {name} (id {id})"),
                &json!({ "project_id": id, "name": name }),
                &id.to_string(),
            )?;
        }
        ProjectCmd::Show { name } => {
            let p = c.project(&name).await?;
            let summary = c.project_summary(&name).await.ok();
            let mut fields = vec![
                ("id", p.project_id.to_string()),
                ("name", p.name.clone()),
                ("public", p.is_public().to_string()),
                ("owner", p.owner_name.clone()),
                ("created", p.creation_time.clone()),
            ];
            if let Some(r) = p.registry_id {
                let name = match c.registry(r).await {
                    Ok(reg) => reg.name,
                    Err(_) => r.to_string(),
                };
                fields.push(("proxy cache of", name));
            }
            let mut value = serde_json::to_value(&p).map_err(|e| e.to_string())?;
            if let Some(s) = summary {
                fields.push(("repositories", s.repo_count.to_string()));
                if let Some(q) = &s.quota {
                    let storage = |l: &harbor_api_model::ResourceList| {
                        l.get("storage").map_or("?".into(), i64::to_string)
                    };
                    fields.push((
                        "storage",
                        format!("{} of {}", storage(&q.used), storage(&q.hard)),
                    ));
                }
                value["summary"] = serde_json::to_value(&s).map_err(|e| e.to_string())?;
            }
            out.one(&value, &fields, &p.project_id.to_string())?;
        }
        ProjectCmd::Update { name, public } => {
            c.set_project_public(&name, public).await?;
            let what = if public { "public" } else { "private" };
            out.done(
                &format!("Project {name} is now {what}"),
                &json!({ "name": name, "public": public }),
                &name,
            )?;
        }
        ProjectCmd::Meta { name } => {
            let meta = c.project_metadata(&name).await?;
            let fields: Vec<(&str, String)> =
                meta.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            out.one(&meta, &fields, &name)?;
        }
        ProjectCmd::MetaSet { name, values } => {
            let values: std::collections::BTreeMap<String, String> = values.into_iter().collect();
            c.set_project_metadata(&name, &values).await?;
            let set: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.done(
                &format!("Project {name}: {}", set.join(", ")),
                &json!({ "name": name, "metadata": values }),
                &name,
            )?;
        }
        ProjectCmd::MetaUnset { name, key } => {
            c.delete_project_metadata(&name, &key).await?;
            out.done(
                &format!("Project {name}: removed {key}"),
                &json!({ "name": name, "removed": key }),
                &name,
            )?;
        }
        ProjectCmd::Delete { name } => {
            c.delete_project(&name).await?;
            out.done(
                &format!("Deleted project {name}"),
                &json!({ "deleted": name }),
                &name,
            )?;
        }
    }
    Ok(())
}

pub(crate) async fn repo(app: &App, cmd: RepoCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    let fields = |r: &Repository| {
        vec![
            ("id", r.id.to_string()),
            ("name", r.name.clone()),
            ("description", r.description.clone()),
            ("artifacts", r.artifact_count.to_string()),
            ("pulls", r.pull_count.to_string()),
            ("updated", r.update_time.clone()),
        ]
    };
    match cmd {
        RepoCmd::List { project } => {
            let repos = c.repositories(&project).await?;
            let name = |r: &Repository| r.name.clone();
            let artifacts = |r: &Repository| r.artifact_count.to_string();
            let pulls = |r: &Repository| r.pull_count.to_string();
            let updated = |r: &Repository| r.update_time.clone();
            let cols: [Column<'_, Repository>; 4] = [
                ("name", &name),
                ("artifacts", &artifacts),
                ("pulls", &pulls),
                ("updated", &updated),
            ];
            out.list(&repos, &cols, &name)?;
        }
        RepoCmd::Show { repository } => {
            let r = c.repository(&repository).await?;
            out.one(&r, &fields(&r), &r.name)?;
        }
        RepoCmd::Describe {
            repository,
            description,
        } => {
            c.describe_repository(&repository, &description).await?;
            let r = c.repository(&repository).await?;
            out.one(&r, &fields(&r), &r.name)?;
        }
        RepoCmd::Delete { repository } => {
            c.delete_repository(&repository).await?;
            out.done(
                &format!("Deleted repository {repository} and its artifacts"),
                &json!({ "deleted": repository }),
                &repository,
            )?;
        }
    }
    Ok(())
}
