//! `harbor signature keys list|add|delete PROJECT` (the keys a project trusts) and
//! `harbor signature status ARTIFACT` (signed? verified? by which key?).

use harbor_api_model::{SignatureKey, SignatureKeyReq};

use super::{App, Failure, Outcome};
use crate::cli::{SignatureCmd, SignatureKeysCmd};
use crate::client::ArtifactRef;

pub(crate) async fn signature(app: &App, cmd: SignatureCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        SignatureCmd::Keys(SignatureKeysCmd::List { project }) => {
            let keys = c.signature_keys(&project).await?;
            let cols: [crate::output::Column<'_, SignatureKey>; 5] = [
                ("ID", &|k| k.id.to_string()),
                ("NAME", &|k| k.name.clone()),
                ("KIND", &|k| k.kind.clone()),
                ("FINGERPRINT", &|k| k.fingerprint.clone()),
                ("ADDED BY", &|k| k.creator.clone()),
            ];
            out.list(&keys, &cols, &|k| k.id.to_string())?;
        }
        SignatureCmd::Keys(SignatureKeysCmd::Add {
            project,
            name,
            kind,
            file,
        }) => {
            let pem = std::fs::read_to_string(&file)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
            let key = c
                .add_signature_key(&project, &SignatureKeyReq { kind, name, pem })
                .await?;
            let message = format!(
                "project {project} trusts {} key {} ({}), id {}",
                key.kind, key.name, key.fingerprint, key.id
            );
            out.done(&message, &key, &key.id.to_string())?;
        }
        SignatureCmd::Keys(SignatureKeysCmd::Delete { project, id }) => {
            c.delete_signature_key(&project, id).await?;
            let message = format!("project {project} no longer trusts key {id}");
            out.done(&message, &serde_json::json!({"id": id}), &id.to_string())?;
        }
        SignatureCmd::Status { artifact } => {
            let a = ArtifactRef::parse(&artifact)?;
            let s = c.signature_status(&a).await?;
            let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
            let kinds = if s.kinds.is_empty() {
                "none".to_owned()
            } else {
                s.kinds.join(", ")
            };
            let fields = [
                ("signed", yes(s.signed)),
                ("kinds", kinds),
                ("verified", yes(s.verified)),
                ("key", s.key.clone().unwrap_or_else(|| "-".to_owned())),
            ];
            out.one(&s, &fields, &yes(s.verified))?;
        }
    }
    Ok(())
}
