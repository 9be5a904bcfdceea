//! The Configuration tab: visibility, quota (confirmed when below usage), the vulnerability
//! and signature policies, and deleting the project.

use super::*;

/// A quota in GiB as the shortest decimal that reads back as the same number of bytes
/// (`0.05`, not `0.049999999813735485`), `-1` for unlimited.
pub(super) fn gib_text(hard: i64) -> String {
    if hard < 0 {
        return "-1".to_owned();
    }
    let gib = hard as f64 / 1073741824.0;
    (0..=10)
        .map(|digits| format!("{gib:.digits$}"))
        .map(|t| {
            if t.contains('.') {
                t.trim_end_matches('0').trim_end_matches('.').to_owned()
            } else {
                t
            }
        })
        .find(|t| projects::gib(t) == Ok(Some(hard)))
        .unwrap_or_else(|| format!("{gib}"))
}

/// `GET /projects/{p}/settings`: the form for those who may change the project, a
/// read-only view for everyone else.
pub(super) async fn settings(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
) -> Response {
    let h = load!(v, head(&p, &v, &name).await);
    let base = format!("/projects/{}", enc(&name));
    let public = h.project.is_public();
    let (used, hard) = h.quota();
    // Harbor's other metadata keys the project has (set through the API or the CLI).
    let other: Vec<(String, String)> = h
        .project
        .metadata
        .other
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let edit =
        h.can(Resource::Project, Action::Update) && h.can(Resource::Metadata, Action::Update);
    let keys: Vec<m::SignatureKey> = match p
        .api
        .get(&v, &format!("{base}/signature/keys"))
        .await
        .and_then(|a| a.decode())
    {
        Ok(k) => k,
        Err(f) => return crate::portal::layout::failed(&v, f),
    };
    let content = html! {
        section.card {
            h2 { "Access" }
            @if edit {
                form.stack method="post" action={ (base) "/settings" } #project-settings {
                    (csrf(&v))
                    label.check { input type="checkbox" name="public" value="true" checked[public]; "Public: anyone, signed in or not, may pull" }
                    @if v.user.sysadmin {
                        label { "Storage quota (GiB, -1 = unlimited)"
                            input name="quota_gib" inputmode="decimal" value=(gib_text(hard)); }
                        p.small #quota-used { "Currently used: " (bytes(used)) " (" (gib_text(used)) " GiB). A limit below it is asked about first." }
                    }
                    button type="submit" { "Save" }
                }
            } @else {
                dl.kv #project-settings-view {
                    dt { "Access" } dd { @if public { "Public: anyone, signed in or not, may pull" } @else { "Private: members only" } }
                    dt { "Storage quota" } dd { (bytes(hard)) }
                    dt { "Storage used" } dd #quota-used { (bytes(used)) }
                }
                p.small #read-only-settings { "Read only: changing the configuration needs the project admin role." }
            }
        }
        (vulnerability_section(&v, &h, &base, edit))
        (signatures_section(&v, &h, &base, edit, &keys))
        section.card #project-metadata {
            h2 { "Metadata" }
            @if other.is_empty() {
                p.small { "No other metadata keys are set." }
            } @else {
                table {
                    thead { tr { th { "key" } th { "value" } } }
                    tbody { @for (k, val) in &other { tr { td { code { (k) } } td { (val) } } } }
                }
            }
            p.small { "Set with " code { "harbor project meta-set" } " or the API. Keys of features this server does not have yet can only be off: turning one on is refused, never ignored." }
        }
        @if h.can(Resource::Project, Action::Delete) {
            section.card #delete-project {
                h2 { "Delete the project" }
                p.small { "Only a project without repositories can be deleted." }
                (action_button(&v, &format!("{base}/delete"), "Delete project", "Delete this project? This cannot be undone."))
            }
        }
    };
    frame(&v, &h, "settings", content)
}

#[derive(Deserialize)]
pub(super) struct SettingsForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    public: Option<String>,
    #[serde(default)]
    quota_gib: Option<String>,
    /// Set by the confirmation step: the limit may be below the current usage.
    #[serde(default)]
    confirm_below: Option<String>,
}

/// The confirmation step of a quota limit below the project's current usage: what it
/// means, and the same form again with `confirm_below`.
pub(super) fn below_usage(
    v: &Viewer,
    h: &Head,
    f: &SettingsForm,
    limit: i64,
    used: i64,
) -> Response {
    let base = format!("/projects/{}", enc(h.name()));
    let content = html! {
        section.card #quota-confirm role="alert" {
            h2 { "The new limit is below the current usage" }
            p { "The project uses " strong { (bytes(used)) } "; the new limit is " strong { (bytes(limit)) } ". "
                "Once it is set, every push to the project is refused until enough artifacts are deleted to bring its usage below the limit." }
            form.row method="post" action={ (base) "/settings" } #quota-confirm-form {
                (csrf(v))
                @if f.public.is_some() { input type="hidden" name="public" value="true"; }
                input type="hidden" name="quota_gib" value=(f.quota_gib.as_deref().unwrap_or_default());
                input type="hidden" name="confirm_below" value="yes";
                button.danger type="submit" #quota-confirm-yes { "Set the limit anyway" }
                a.button.secondary href={ (base) "/settings" } #quota-confirm-cancel { "Cancel" }
            }
        }
    };
    frame(v, h, "settings", content)
}

pub(super) async fn save_settings(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<SettingsForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = path_back(&name, "settings");
    // The quota is checked before anything changes: a typo or a limit below the usage
    // (until confirmed) saves nothing.
    let limit = match f.quota_gib.as_deref().map(projects::gib) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(l))) => Some(l),
        Some(Err(e)) => return redirect_with(&back, Err(Failure::new(StatusCode::BAD_REQUEST, e))),
    };
    let h = match limit {
        Some(_) => match head(&p, &v, &name).await {
            Ok(h) => Some(h),
            Err(e) => return redirect_with(&back, Err(e)),
        },
        None => None,
    };
    if let (Some(limit), Some(h)) = (limit, &h) {
        let (used, _) = h.quota();
        if limit >= 0 && used > limit && f.confirm_below.is_none() {
            return below_usage(&v, h, &f, limit, used);
        }
    }
    let body =
        json!({ "metadata": { "public": if f.public.is_some() { "true" } else { "false" } } });
    if let Err(e) = p
        .api
        .send(
            &v,
            Method::PUT,
            &format!("/projects/{}", enc(&name)),
            Some(body),
        )
        .await
    {
        return redirect_with(&back, Err(e));
    }
    if let (Some(limit), Some(h)) = (limit, h) {
        let quotas = match p
            .api
            .get(
                &v,
                &format!("/quotas?reference=project&reference_id={}", h.id()),
            )
            .await
        {
            Ok(a) => a,
            Err(e) => return redirect_with(&back, Err(e)),
        };
        let Some(qid) = quotas.items().first().and_then(|q| q["id"].as_i64()) else {
            return redirect_with(
                &back,
                Err(Failure::new(
                    StatusCode::NOT_FOUND,
                    "This project has no quota record.",
                )),
            );
        };
        let r = p
            .api
            .send(
                &v,
                Method::PUT,
                &format!("/quotas/{qid}"),
                Some(json!({ "hard": { "storage": limit } })),
            )
            .await;
        return redirect_with(&back, r.map(|_| "Saved.".to_owned()));
    }
    redirect_with(&back, Ok("Saved.".to_owned()))
}

pub(super) async fn delete_project(
    v: Viewer,
    State(p): State<Portal>,
    Path(name): Path<String>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    match p
        .api
        .send(
            &v,
            Method::DELETE,
            &format!("/projects/{}", enc(&name)),
            None,
        )
        .await
    {
        Ok(_) => redirect_with("/projects", Ok(format!("Project {name} deleted."))),
        Err(e) => redirect_with(&path_back(&name, "settings"), Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::gib_text;
    use crate::portal::pages::projects::gib;

    #[test]
    fn quotas_show_as_the_gib_typed() {
        assert_eq!(gib_text(-1), "-1");
        assert_eq!(gib_text(0), "0");
        assert_eq!(gib_text(1 << 30), "1");
        assert_eq!(gib_text(10 << 30), "10");
        assert_eq!(gib_text(1 << 29), "0.5");
        for typed in ["0.05", "0.1", "2.75", "0.001", "123.456"] {
            let Ok(Some(bytes)) = gib(typed) else {
                panic!("{typed} is a quota")
            };
            assert_eq!(gib_text(bytes), typed);
        }
        // Any byte count reads back as itself.
        for bytes in [1, 1023, 53_687_091, 1_234_567_890_123] {
            assert_eq!(gib(&gib_text(bytes)), Ok(Some(bytes)), "{bytes}");
        }
    }
}
