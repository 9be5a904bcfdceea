//! The Configuration tab's signature settings: the two policies (`enable_content_trust_cosign`,
//! `enable_content_trust`) and the keys the project trusts (list, add from PEM, delete),
//! all through the REST API.

use super::*;

/// The card: the policies and the keys; forms for those who may change the project.
pub(super) fn signatures_section(
    v: &Viewer,
    h: &Head,
    base: &str,
    edit: bool,
    keys: &[m::SignatureKey],
) -> Markup {
    let meta = &h.project.metadata.other;
    let on = |k: &str| meta.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let cosign = on("enable_content_trust_cosign");
    let notation = on("enable_content_trust");
    html! {
        section.card #project-signatures {
            h2 { "Signatures" }
            @if edit {
                form.stack method="post" action={ (base) "/signatures" } #signatures-form {
                    (csrf(v))
                    label.check { input type="checkbox" name="enable_content_trust_cosign" value="true" checked[cosign];
                        "Cosign: refuse pulls of artifacts without a cosign signature" }
                    label.check { input type="checkbox" name="enable_content_trust" value="true" checked[notation];
                        "Notation: refuse pulls of artifacts without a Notation signature" }
                    button type="submit" #save-signatures { "Save" }
                }
            } @else {
                dl.kv #signatures-view {
                    dt { "Cosign signatures required" } dd { @if cosign { "yes" } @else { "no" } }
                    dt { "Notation signatures required" } dd { @if notation { "yes" } @else { "no" } }
                }
            }
            p.small { "Signatures themselves, scanners and signing tools that may push are never held. "
                "With trusted keys of a kind, a signature of that kind counts only if it verifies with one of them." }
            h3 { "Trusted keys" }
            @if keys.is_empty() {
                p.small #no-signature-keys { "No trusted keys: any signature of the required kind is accepted (as Harbor does)." }
            } @else {
                div.scroll { table #signature-keys {
                    thead { tr { th { "Name" } th { "Kind" } th { "Fingerprint" } th.hide-sm { "Added" } @if edit { th { "Actions" } } } }
                    tbody { @for k in keys {
                        tr data-key=(k.name) {
                            td { (k.name) }
                            td { (k.kind) }
                            td { code { (k.fingerprint) } }
                            td.hide-sm { (at(&k.creation_time)) " by " (dash(&k.creator)) }
                            @if edit { td { (action_button(v, &format!("{base}/signature-keys/{}/delete", k.id), "Delete",
                                &format!("Stop trusting key {}?", k.name))) } }
                        }
                    } }
                } }
            }
            @if edit {
                form.stack method="post" action={ (base) "/signature-keys" } #add-signature-key {
                    (csrf(v))
                    label { "Name" input name="name" required pattern="[A-Za-z0-9._-]{1,64}"; }
                    label { "Kind"
                        select name="kind" {
                            option value="cosign" { "cosign public key (cosign.pub)" }
                            option value="notation" { "Notation root certificate" }
                        }
                    }
                    label { "PEM" textarea name="pem" rows="6" required {} }
                    button type="submit" #trust-key { "Trust this key" }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct PolicyForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    enable_content_trust_cosign: Option<String>,
    #[serde(default)]
    enable_content_trust: Option<String>,
}

/// `POST /projects/{p}/signatures`.
pub(super) async fn save_signatures(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<PolicyForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let flag = |o: &Option<String>| if o.is_some() { "true" } else { "false" };
    let body = json!({"metadata": {
        "enable_content_trust_cosign": flag(&f.enable_content_trust_cosign),
        "enable_content_trust": flag(&f.enable_content_trust),
    }});
    let r = p
        .api
        .send(
            &v,
            Method::PUT,
            &format!("/projects/{}", enc(&name)),
            Some(body),
        )
        .await;
    redirect_with(
        &path_back(&name, "settings"),
        r.map(|_| "Saved.".to_owned()),
    )
}

#[derive(Deserialize)]
pub(super) struct KeyForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    pem: String,
}

/// `POST /projects/{p}/signature-keys`.
pub(super) async fn add_signature_key(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<KeyForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let body = json!({"kind": f.kind, "name": f.name, "pem": f.pem});
    let r = p
        .api
        .send(
            &v,
            Method::POST,
            &format!("/projects/{}/signature/keys", enc(&name)),
            Some(body),
        )
        .await;
    redirect_with(
        &path_back(&name, "settings"),
        r.map(|_| format!("Key {} trusted.", f.name)),
    )
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// `POST /projects/{p}/signature-keys/{id}/delete`.
pub(super) async fn delete_signature_key(
    v: Viewer,
    State(p): State<Portal>,
    Path((name, id)): Path<(String, i64)>,
    Form(f): Form<DeleteForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(
            &v,
            Method::DELETE,
            &format!("/projects/{}/signature/keys/{id}", enc(&name)),
            None,
        )
        .await;
    redirect_with(
        &path_back(&name, "settings"),
        r.map(|_| "Key deleted.".to_owned()),
    )
}
