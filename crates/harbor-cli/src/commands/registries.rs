//! `harbor registry ...`: remote registries for replication and proxy cache.

use harbor_api_model::{Registry, RegistryCredential, RegistryPing, RegistryUpdate};
use serde_json::json;

use super::{App, Failure, Outcome, stdin_lines};
use crate::cli::RegistryCmd;
use crate::client::Client;
use crate::output::{Column, time};

/// The registry an argument names: an id, else a name.
async fn resolve(c: &Client, arg: &str) -> Result<Registry, Failure> {
    if let Ok(id) = arg.parse::<i64>() {
        return Ok(c.registry(id).await?);
    }
    c.registry_by_name(arg)
        .await?
        .ok_or_else(|| Failure::usage(format!("no registry named {arg:?}")))
}

fn credential_text(r: &Registry) -> String {
    match &r.credential {
        Some(c) if !c.access_key.is_empty() => format!("{} ({})", c.access_key, c.kind),
        _ => "anonymous".into(),
    }
}

pub(crate) async fn registry(app: &App, cmd: RegistryCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        RegistryCmd::List { name } => {
            let items = c.registries(name.as_deref()).await?;
            let id = |r: &Registry| r.id.to_string();
            let name = |r: &Registry| r.name.clone();
            let kind = |r: &Registry| r.kind.clone();
            let url = |r: &Registry| r.url.clone();
            let status = |r: &Registry| r.status.clone();
            let cols: [Column<'_, Registry>; 6] = [
                ("id", &id),
                ("name", &name),
                ("type", &kind),
                ("url", &url),
                ("status", &status),
                ("credential", &credential_text),
            ];
            out.list(&items, &cols, &id)?;
        }
        RegistryCmd::Add {
            name,
            kind,
            endpoint,
            access_key,
            secret_stdin,
            secret,
            insecure,
            ca_cert,
            description,
        } => {
            let secret = if secret_stdin {
                Some(stdin_lines(1)?.remove(0))
            } else {
                secret
            };
            let credential = match (access_key, secret) {
                (Some(u), s) if !u.is_empty() => Some(RegistryCredential {
                    kind: "basic".into(),
                    access_key: u,
                    access_secret: s.ok_or_else(|| {
                        Failure::usage(
                            "--access-key needs a secret: --secret-stdin or HARBOR_REGISTRY_SECRET",
                        )
                    })?,
                }),
                (_, Some(_)) => {
                    return Err(Failure::usage("a secret needs --access-key"));
                }
                _ => None,
            };
            let ca_certificate =
                match ca_cert {
                    Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| {
                        Failure::usage(format!("cannot read {}: {e}", path.display()))
                    })?),
                    None => None,
                };
            let id = c
                .create_registry(&Registry {
                    name: name.clone(),
                    kind,
                    url: endpoint,
                    credential,
                    insecure,
                    ca_certificate,
                    description,
                    ..Registry::default()
                })
                .await?;
            out.done(
                &format!(
                    "Added registry {name} (id {id}); check it with: harbor registry ping {id}"
                ),
                &json!({ "id": id, "name": name }),
                &id.to_string(),
            )?;
        }
        RegistryCmd::Show { registry } => {
            let r = resolve(c, &registry).await?;
            let fields = [
                ("id", r.id.to_string()),
                ("name", r.name.clone()),
                ("type", r.kind.clone()),
                ("url", r.url.clone()),
                ("credential", credential_text(&r)),
                ("insecure", r.insecure.to_string()),
                (
                    "ca certificate",
                    if r.ca_certificate.is_some() {
                        "yes"
                    } else {
                        "no"
                    }
                    .into(),
                ),
                ("status", r.status.clone()),
                ("description", r.description.clone()),
                ("created", time(Some(&r.creation_time))),
                ("updated", time(Some(&r.update_time))),
            ];
            out.one(&r, &fields, &r.id.to_string())?;
        }
        RegistryCmd::Update {
            registry,
            name,
            endpoint,
            access_key,
            secret_stdin,
            insecure,
            description,
        } => {
            let r = resolve(c, &registry).await?;
            let access_secret = if secret_stdin {
                Some(stdin_lines(1)?.remove(0))
            } else {
                None
            };
            let update = RegistryUpdate {
                name,
                description,
                url: endpoint,
                credential_type: None,
                access_key,
                access_secret,
                insecure,
                ca_certificate: None,
            };
            if update == RegistryUpdate::default() {
                return Err(Failure::usage(
                    "nothing to change: give --name, --endpoint, --access-key, --secret-stdin, \
                     --insecure or --description",
                ));
            }
            c.update_registry(r.id, &update).await?;
            out.done(
                &format!("Updated registry {}", r.name),
                &json!({ "id": r.id }),
                &r.id.to_string(),
            )?;
        }
        RegistryCmd::Ping { registry } => {
            let r = resolve(c, &registry).await?;
            c.ping_registry(&RegistryPing {
                id: Some(r.id),
                ..RegistryPing::default()
            })
            .await?;
            out.done(
                &format!("Registry {} is healthy", r.name),
                &json!({ "id": r.id, "status": "healthy" }),
                &r.id.to_string(),
            )?;
        }
        RegistryCmd::Info { registry } => {
            let r = resolve(c, &registry).await?;
            let info = c.registry_info(r.id).await?;
            let filters: Vec<&str> = info
                .supported_resource_filters
                .iter()
                .map(|f| f.kind.as_str())
                .collect();
            let fields = [
                ("type", info.kind.clone()),
                ("filters", filters.join(", ")),
                ("triggers", info.supported_triggers.join(", ")),
                (
                    "copy by chunk",
                    info.supported_copy_by_chunk.unwrap_or(false).to_string(),
                ),
            ];
            out.one(&info, &fields, &r.id.to_string())?;
        }
        RegistryCmd::Delete { registry } => {
            let r = resolve(c, &registry).await?;
            c.delete_registry(r.id).await?;
            out.done(
                &format!("Deleted registry {}", r.name),
                &json!({ "deleted": r.id }),
                &r.id.to_string(),
            )?;
        }
        RegistryCmd::Types => {
            let types = c.registry_adapters().await?;
            out.text(&format!("{}\n", types.join("\n")), &types)?;
        }
    }
    Ok(())
}
