//! Registry endpoints (Administration > Registries): the list with each registry's last
//! health, a form to add one, an edit page, a connection test per registry and deletion
//! (which the API refuses while a policy uses the registry). Secrets are write-only: the
//! API answers `*****` for a stored one, and no page shows even that; an edit with the
//! secret field left empty keeps the stored secret.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use harbor_api_model as m;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{status, yes_no};
use crate::portal::Portal;
use crate::portal::backend::enc;
use crate::portal::layout::{action_button, at, csrf, empty, page, pager, search_box};
use crate::portal::pages::{Confirm, ListQuery, PAGE_SIZE, csrf_checked, list_path, load};
use crate::portal::viewer::{Viewer, redirect_with};

const BASE: &str = "/admin/registries";

pub(super) fn routes() -> Router<Portal> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route("/admin/registries/{id}", get(edit).post(update))
        .route("/admin/registries/{id}/ping", post(ping))
        .route("/admin/registries/{id}/delete", post(delete))
}

/// The registry types with a fixed URL (Docker Hub), from `/replication/adapterinfos`:
/// `(type, url)`.
async fn fixed_urls(p: &Portal, v: &Viewer) -> Vec<(String, String)> {
    let infos: m::replication::RegistryProviderInfos =
        match p.api.get(v, "/replication/adapterinfos").await {
            Ok(a) => a.decode().unwrap_or_default(),
            Err(_) => Default::default(),
        };
    infos
        .into_iter()
        .filter_map(|(kind, info)| {
            let pattern = info.endpoint_pattern?;
            let first = pattern.endpoints.into_iter().next()?;
            (pattern.endpoint_type == "EndpointPatternTypeFix").then_some((kind, first.value))
        })
        .collect()
}

fn fixed_url<'a>(fixed: &'a [(String, String)], kind: &str) -> Option<&'a str> {
    fixed
        .iter()
        .find(|(k, _)| k == kind)
        .map(|(_, url)| url.as_str())
}

/// Who the registry signs in as: the access key, or "anonymous".
fn who(r: &m::Registry) -> String {
    match &r.credential {
        Some(c) if !c.access_key.is_empty() => c.access_key.clone(),
        _ => "anonymous".to_owned(),
    }
}

/// Whether a secret is stored (the API shows it as `*****`).
fn has_secret(r: &m::Registry) -> bool {
    r.credential
        .as_ref()
        .is_some_and(|c| c.access_secret == m::replication::REDACTED_SECRET)
}

/// The status cell: the last health check's result.
fn health(r: &m::Registry) -> Markup {
    html! {
        (status(&r.status))
        @if r.status == "unknown" { " " span.small { "(not tested since it changed)" } }
    }
}

/// The "Test connection" button of registry `id`.
fn ping_button(v: &Viewer, id: i64) -> Markup {
    html! {
        form.inline method="post" action={ "/admin/registries/" (id) "/ping" } {
            (csrf(v))
            button.secondary type="submit" data-ping=(id) { "Test connection" }
        }
    }
}

fn delete_button(v: &Viewer, r: &m::Registry) -> Markup {
    action_button(
        v,
        &format!("{BASE}/{}/delete", r.id),
        "Delete",
        &format!(
            "Delete the registry {}? Replication policies using it must be deleted first.",
            r.name
        ),
    )
}

/// `GET /admin/registries`: the registries (filtered by name, paged) and the form to add
/// one.
async fn list(v: Viewer, State(p): State<Portal>, Query(q): Query<ListQuery>) -> Response {
    let path = list_path("/registries", &q, "name");
    let (list, kinds, fixed) = tokio::join!(
        p.api.get(&v, &path),
        p.api.get(&v, "/replication/adapters"),
        fixed_urls(&p, &v)
    );
    let list = load!(v, list);
    let registries: Vec<m::Registry> = load!(v, list.decode());
    let kinds: Vec<String> = load!(v, kinds.and_then(|a| a.decode()));
    let body = html! {
        h1 { "Registries" }
        p.small { "The remote registries replication policies copy to and from. Only system administrators see them." }
        (search_box(BASE, &q.q, "Filter registries by name"))
        @if registries.is_empty() {
            @if crate::portal::pages::term(&q.q).is_empty() {
                (empty("No registries yet: add one below, then create a replication policy with it."))
            } @else { (empty("No registry matches this filter.")) }
        } @else {
            div.scroll { table #registries {
                thead { tr {
                    th { "Name" } th { "Type" } th { "URL" } th { "Status" } th { "Signs in as" }
                    th.hide-sm { "Insecure" } th { "Actions" }
                } }
                tbody { @for r in &registries {
                    tr data-registry=(r.name) {
                        td { a href={ (BASE) "/" (r.id) } { (r.name) }
                            @if !r.description.is_empty() { br; span.small { (r.description) } } }
                        td { (r.kind) }
                        td { code { (r.url) } }
                        td.health { (health(r)) }
                        td.who { (who(r)) }
                        td.hide-sm { (yes_no(r.insecure)) }
                        td { div.actions {
                            (ping_button(&v, r.id))
                            a href={ (BASE) "/" (r.id) } { "Edit" }
                            (delete_button(&v, r))
                        } }
                    }
                } }
            } }
            (pager(&format!("{BASE}?q={}&", enc(&q.q)), q.page(), PAGE_SIZE, list.total()))
        }
        section.card {
            h2 { "New registry" }
            form.stack method="post" action=(BASE) #new-registry {
                (csrf(&v))
                label { "Name" input name="name" #registry-name required maxlength="255" autocomplete="off"; }
                label { "Type"
                    select name="type" #registry-type data-url-field="registry-url" {
                        @for k in &kinds {
                            option value=(k) data-url=[fixed_url(&fixed, k)] selected[k == "harbor"] { (k) }
                        }
                    }
                }
                label { "URL" input name="url" #registry-url type="url" placeholder="https://registry.example.com" autocomplete="off"; }
                @for (k, url) in &fixed { p.small { "For " (k) " the URL is always " code { (url) } "." } }
                label { "Access key (user name; empty for anonymous access)"
                    input name="access_key" #registry-access-key autocomplete="off"; }
                label { "Secret (password or token)"
                    input name="access_secret" #registry-secret type="password" autocomplete="new-password"; }
                label.check { input type="checkbox" name="insecure" #registry-insecure value="true"; "Do not verify its TLS certificate (insecure)" }
                label { "CA certificate (PEM; optional, instead of the system's roots)"
                    textarea name="ca_certificate" #registry-ca rows="3" {} }
                label { "Description" input name="description" #registry-description; }
                button type="submit" #create-registry { "Add registry" }
            }
        }
    };
    page(Some(&v), "Registries", body)
}

#[derive(Deserialize)]
struct RegistryForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    access_key: String,
    #[serde(default)]
    access_secret: String,
    #[serde(default)]
    insecure: Option<String>,
    #[serde(default)]
    ca_certificate: String,
    #[serde(default)]
    description: String,
}

/// `POST /admin/registries`: adds a registry (with a credential when an access key is
/// given; the fixed URL for types that have one).
async fn create(v: Viewer, State(p): State<Portal>, Form(f): Form<RegistryForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let fixed = fixed_urls(&p, &v).await;
    let kind = f.kind.trim();
    let url = fixed_url(&fixed, kind).unwrap_or(f.url.trim());
    let name = f.name.trim().to_owned();
    let mut body = json!({
        "name": name,
        "type": kind,
        "url": url,
        "insecure": f.insecure.is_some(),
        "description": f.description.trim(),
    });
    let key = f.access_key.trim();
    if !key.is_empty() {
        body["credential"] =
            json!({ "type": "basic", "access_key": key, "access_secret": f.access_secret });
    }
    let ca = f.ca_certificate.trim();
    if !ca.is_empty() {
        body["ca_certificate"] = Value::String(ca.to_owned());
    }
    let r = p
        .api
        .send(&v, Method::POST, "/registries", Some(body))
        .await;
    redirect_with(
        BASE,
        r.map(|_| format!("Registry {name} added. Test its connection to check the settings.")),
    )
}

/// `GET /admin/registries/{id}`: one registry, its connection test, edit form and delete
/// button.
async fn edit(v: Viewer, State(p): State<Portal>, Path(id): Path<i64>) -> Response {
    let path = format!("/registries/{id}");
    let (r, fixed) = tokio::join!(p.api.get(&v, &path), fixed_urls(&p, &v));
    let r = load!(v, r);
    let r: m::Registry = load!(v, r.decode());
    let fixed = fixed_url(&fixed, &r.kind);
    let stored = has_secret(&r);
    let key = r.credential.as_ref().map_or("", |c| c.access_key.as_str());
    let ca = r.ca_certificate.as_deref().unwrap_or_default();
    let title = format!("Registry {}", r.name);
    let body = html! {
        div.crumbs { a href=(BASE) { "Registries" } " / " }
        h1 { (r.name) }
        section.card {
            dl.kv #registry-info {
                dt { "Type" } dd { (r.kind) }
                dt { "URL" } dd { code { (r.url) } }
                dt { "Status" } dd #registry-status { (health(&r)) }
                dt { "Signs in as" } dd { (who(&r)) }
                dt { "Secret" } dd #registry-secret-state { (if stored { "stored (never shown)" } else { "none" }) }
                dt { "Insecure" } dd { (yes_no(r.insecure)) }
                dt { "CA certificate" } dd { (if ca.is_empty() { "none" } else { "given" }) }
                dt { "Created" } dd { (at(&r.creation_time)) }
                dt { "Updated" } dd { (at(&r.update_time)) }
            }
            div.actions { (ping_button(&v, r.id)) (delete_button(&v, &r)) }
        }
        section.card {
            h2 { "Edit" }
            form.stack method="post" action={ (BASE) "/" (r.id) } #edit-registry {
                (csrf(&v))
                label { "Name" input name="name" #registry-name required maxlength="255" value=(r.name) autocomplete="off"; }
                @if let Some(url) = fixed {
                    p.small { "For " (r.kind) " the URL is always " code { (url) } "." }
                } @else {
                    label { "URL" input name="url" #registry-url type="url" required value=(r.url) autocomplete="off"; }
                }
                label { "Access key (user name; empty for anonymous access)"
                    input name="access_key" #registry-access-key value=(key) autocomplete="off"; }
                label { "Secret (password or token)"
                    input name="access_secret" #registry-secret type="password" autocomplete="new-password"
                        placeholder=(if stored { "stored: leave empty to keep it" } else { "" }); }
                @if stored { p.small #secret-kept { "A secret is stored. Leave the field empty to keep it, or type a new one." } }
                label.check { input type="checkbox" name="insecure" #registry-insecure value="true" checked[r.insecure]; "Do not verify its TLS certificate (insecure)" }
                label { "CA certificate (PEM; empty for the system's roots)"
                    textarea name="ca_certificate" #registry-ca rows="3" { (ca) } }
                label { "Description" input name="description" #registry-description value=(r.description); }
                button type="submit" #save-registry { "Save" }
            }
        }
    };
    page(Some(&v), &title, body)
}

/// `POST /admin/registries/{id}`: changes a registry; the secret only when one is typed.
async fn update(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<RegistryForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = format!("{BASE}/{id}");
    let mut body = json!({
        "name": f.name.trim(),
        "access_key": f.access_key.trim(),
        "insecure": f.insecure.is_some(),
        "ca_certificate": f.ca_certificate.trim(),
        "description": f.description.trim(),
    });
    // Fixed-URL types have no URL field: theirs stays.
    if !f.url.trim().is_empty() {
        body["url"] = Value::String(f.url.trim().to_owned());
    }
    if !f.access_secret.is_empty() {
        body["access_secret"] = Value::String(f.access_secret);
    }
    let r = p
        .api
        .send(&v, Method::PUT, &format!("/registries/{id}"), Some(body))
        .await;
    redirect_with(&back, r.map(|_| "Registry saved.".to_owned()))
}

/// `POST /admin/registries/{id}/ping`: tests the stored settings; the flash says healthy,
/// or the API's reason why not.
async fn ping(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(
            &v,
            Method::POST,
            "/registries/ping",
            Some(json!({ "id": id })),
        )
        .await;
    let name = match p.api.get(&v, &format!("/registries/{id}")).await {
        Ok(a) => a
            .decode::<m::Registry>()
            .map(|r| r.name)
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    redirect_with(
        BASE,
        r.map(|_| format!("Registry {name} is healthy: it answered and accepted the credential.")),
    )
}

/// `POST /admin/registries/{id}/delete`: the API refuses (412, with its message) while a
/// policy uses the registry.
async fn delete(
    v: Viewer,
    State(p): State<Portal>,
    Path(id): Path<i64>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(&v, Method::DELETE, &format!("/registries/{id}"), None)
        .await;
    redirect_with(BASE, r.map(|_| "Registry deleted.".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_show_the_user_never_the_secret() {
        let mut r = m::Registry::default();
        assert_eq!(who(&r), "anonymous");
        assert!(!has_secret(&r));
        r.credential = Some(m::RegistryCredential {
            kind: "basic".into(),
            access_key: "puller".into(),
            access_secret: m::replication::REDACTED_SECRET.into(),
        });
        assert_eq!(who(&r), "puller");
        assert!(has_secret(&r));
        let fixed = vec![("docker-hub".to_owned(), "https://hub.docker.com".to_owned())];
        assert_eq!(
            fixed_url(&fixed, "docker-hub"),
            Some("https://hub.docker.com")
        );
        assert_eq!(fixed_url(&fixed, "harbor"), None);
    }
}
