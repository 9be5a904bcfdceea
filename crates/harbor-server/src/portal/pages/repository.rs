//! A repository's artifacts (tags, sizes, push and pull times, pull commands, labels,
//! multi-arch children, signatures; filters by tag, type and label; several deleted at
//! once after a confirmation page) and one artifact's detail (its type, its subject,
//! layers, config, build history, annotations), with tag, label and delete actions.

use axum::Form;
use axum::Router;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use harbor_api_model as m;
use harbor_core::RepositoryName;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PAGE_SIZE, csrf_checked, load};
use crate::portal::Portal;
use crate::portal::backend::{Failure, enc};
use crate::portal::layout::{
    at, bytes, copyable, csrf, dash, empty, label_color, page, pager, text,
};
use crate::portal::perms;
use crate::portal::viewer::{Viewer, redirect_with};
use harbor_core::rbac::{Action, Resource};

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/repo", get(repository))
        .route("/repo/delete", post(delete_repository))
        .route(
            "/repo/artifacts/delete",
            get(confirm_delete_selected).post(delete_selected),
        )
        .route("/artifact", get(artifact))
        .route("/artifact/delete", post(delete_artifact))
        .route("/artifact/tag", post(add_tag))
        .route("/artifact/untag", post(remove_tag))
        .route("/artifact/label", post(label))
}

/// `project/rest` split of a full repository name, checked against the grammar.
fn split(full: &str) -> Result<(String, String), Failure> {
    let parsed = RepositoryName::parse(full)
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let s = parsed.as_str();
    match s.split_once('/') {
        Some((p, r)) => Ok((p.to_owned(), r.to_owned())),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!("repository {s} not found (names are project/repository)"),
        )),
    }
}

/// The API path of a repository (`/projects/p/repositories/r`, `r` encoded twice).
fn repo_path(full: &str) -> Result<String, Failure> {
    let (p, r) = split(full)?;
    Ok(format!(
        "/projects/{}/repositories/{}",
        enc(&p),
        enc(&enc(&r))
    ))
}

/// The registry host clients pull from: the configured external URL, else `Host`.
fn registry_host(p: &Portal, headers: &HeaderMap) -> String {
    if let Some(u) = &p.state.auth.external_url {
        return u
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
    }
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned()
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// Harbor's type of a media type the API's own table does not know: SBOM and signature
/// formats by name (CycloneDX, SPDX, Syft; cosign, Notation, Sigstore bundles), `None`
/// otherwise.
fn kind_by_name(media_type: &str) -> Option<&'static str> {
    let t = media_type.to_ascii_lowercase();
    if ["cyclonedx", "spdx", "sbom", "syft"]
        .iter()
        .any(|n| t.contains(n))
    {
        Some("SBOM")
    } else if ["signature", "sigstore", "cosign", "notary", "notation"]
        .iter()
        .any(|n| t.contains(n))
    {
        Some("SIGNATURE")
    } else {
        None
    }
}

/// What the page calls an artifact's type: the API's (`IMAGE`, `CHART`, `SBOM`, ...)
/// when it knows one; else what its artifact type, config media type or layers' media
/// types name (an SBOM pushed by `oras` has the artifact type
/// `application/vnd.unknown.artifact.v1` and CycloneDX layers); else `OCI artifact`.
fn kind_of(a: &m::Artifact, layer_types: &[&str]) -> String {
    if !a.kind.is_empty() && a.kind != "UNKNOWN" {
        return a.kind.clone();
    }
    [a.artifact_type.as_str(), a.media_type.as_str()]
        .into_iter()
        .chain(layer_types.iter().copied())
        .find_map(kind_by_name)
        .unwrap_or("OCI artifact")
        .to_owned()
}

/// The command that pulls `target` (`host/repo@digest` or `host/repo:tag`): `docker pull`
/// for images, `oras pull` for every other artifact (docker cannot pull those).
fn pull_command(kind: &str, target: &str) -> String {
    if kind == "IMAGE" {
        format!("docker pull {target}")
    } else {
        format!("oras pull {target}")
    }
}

/// The media types of a manifest's layers.
fn layer_types(manifest: &Value) -> Vec<&str> {
    manifest["layers"]
        .as_array()
        .map(|ls| ls.iter().filter_map(|l| l["mediaType"].as_str()).collect())
        .unwrap_or_default()
}

/// The artifact an accessory belongs to: its manifest's `subject`, else what a
/// cosign-style tag (`sha256-<hex>.sig`, `.att`, `.sbom`) names.
fn subject_of(manifest: &Value, tags: &[m::Tag]) -> Option<String> {
    if let Some(d) = manifest["subject"]["digest"].as_str()
        && let Ok(d) = harbor_core::Digest::parse(d)
    {
        return Some(d.to_string());
    }
    tags.iter()
        .find_map(|t| harbor_core::artifact::cosign_tag(&t.name))
        .map(|(d, _)| d.to_string())
}

/// The type of each listed artifact ([`kind_of`]). Only for those the API calls
/// `UNKNOWN` is the manifest read (its layers' media types), from the registry: the API's
/// listing has just shown the user may see them.
async fn list_kinds(p: &Portal, repo: &str, artifacts: &[m::Artifact]) -> Vec<String> {
    let name = RepositoryName::parse(repo).ok();
    let reads = artifacts.iter().map(|a| {
        let name = name.as_ref();
        async move {
            if !a.kind.is_empty() && a.kind != "UNKNOWN" {
                return a.kind.clone();
            }
            let manifest = match name {
                Some(n) => match p.state.registry.get_manifest(n, &a.digest).await {
                    Ok(m) => serde_json::from_slice(&m.content).unwrap_or(Value::Null),
                    Err(_) => Value::Null,
                },
                None => Value::Null,
            };
            kind_of(a, &layer_types(&manifest))
        }
    });
    futures::future::join_all(reads).await
}

/// The types the filter offers (Harbor's `type` values).
const TYPES: [&str; 6] = ["IMAGE", "CHART", "CNAB", "WASM", "SBOM", "SIGNATURE"];

/// At most this many artifacts are deleted by one "Delete selected".
const MAX_SELECTED: usize = 100;

#[derive(Deserialize)]
struct RepoQuery {
    #[serde(default)]
    name: String,
    /// Part of a tag.
    #[serde(default)]
    q: String,
    /// One of [`TYPES`].
    #[serde(rename = "type", default)]
    kind: String,
    /// A label id.
    #[serde(default)]
    label: String,
    #[serde(default)]
    page: Option<u64>,
}

impl RepoQuery {
    /// The chosen type, if it is one the filter offers.
    fn kind(&self) -> Option<&'static str> {
        TYPES.into_iter().find(|t| *t == self.kind)
    }

    /// The chosen label's id, if it is a number.
    fn label(&self) -> Option<i64> {
        self.label.trim().parse().ok()
    }

    /// Harbor's `q` for the artifact list: `tags=~<part>`, `type=<TYPE>` and
    /// `labels=(<id>)`, comma-separated; empty without filters. The tag goes through
    /// [`super::term`], so it cannot add a filter of its own.
    fn filter(&self) -> String {
        let mut parts = Vec::new();
        let tag = super::term(&self.q);
        if !tag.is_empty() {
            parts.push(format!("tags=~{tag}"));
        }
        if let Some(k) = self.kind() {
            parts.push(format!("type={k}"));
        }
        if let Some(id) = self.label() {
            parts.push(format!("labels=({id})"));
        }
        parts.join(",")
    }

    /// Whether any filter is set.
    fn filtered(&self) -> bool {
        !self.filter().is_empty()
    }
}

fn artifact_href(repo: &str, digest: &str) -> String {
    format!("/artifact?repo={}&ref={}", enc(repo), enc(digest))
}

fn tags_cell(a: &m::Artifact) -> Markup {
    let tags = a.tags.as_deref().unwrap_or_default();
    html! {
        @for t in tags { span.badge.tag { (t.name) } }
        @if tags.is_empty() { span.small { "untagged" } }
    }
}

/// `GET /repo?name=project/repo`.
async fn repository(
    v: Viewer,
    State(p): State<Portal>,
    headers: HeaderMap,
    Query(q): Query<RepoQuery>,
) -> Response {
    let path = load!(v, repo_path(&q.name));
    let page_no = q.page.unwrap_or(1).max(1);
    let mut list_path = format!(
        "{path}/artifacts?with_tag=true&with_label=true&with_accessory=true&with_scan_overview=true&with_signature=true&page={page_no}&page_size={PAGE_SIZE}"
    );
    let filter = q.filter();
    if !filter.is_empty() {
        list_path.push_str(&format!("&q={}", enc(&filter)));
    }
    let (project, _) = load!(v, split(&q.name));
    let (repo, list, perms, global) = tokio::join!(
        p.api.get(&v, &path),
        p.api.get(&v, &list_path),
        perms::load(&p, &v, &project),
        p.api.get(&v, "/labels?scope=g&page_size=100"),
    );
    let repo: m::Repository = load!(v, load!(v, repo).decode());
    let list = load!(v, list);
    let artifacts: Vec<m::Artifact> = load!(v, list.decode());
    // Labels to filter by: the global ones and the project's (a failed read leaves the
    // list shorter, not the page broken).
    let local = p
        .api
        .get(
            &v,
            &format!(
                "/labels?scope=p&project_id={}&page_size=100",
                repo.project_id
            ),
        )
        .await;
    let labels: Vec<m::Label> = [global, local]
        .into_iter()
        .flatten()
        .filter_map(|a| a.decode::<Vec<m::Label>>().ok())
        .flatten()
        .collect();
    let kinds = list_kinds(&p, &q.name, &artifacts).await;
    let delete_artifacts = perms.can(Resource::Artifact, Action::Delete);
    let host = registry_host(&p, &headers);
    let full = q.name.as_str();
    let (first_kind, first_tag) = artifacts
        .iter()
        .zip(&kinds)
        .find_map(|(a, k)| Some((k.as_str(), a.tags.as_deref()?.first()?.name.as_str())))
        .unwrap_or(("IMAGE", "latest"));
    let base = format!(
        "/repo?name={}&q={}&type={}&label={}&",
        enc(full),
        enc(&q.q),
        enc(q.kind().unwrap_or_default()),
        q.label().map(|l| l.to_string()).unwrap_or_default()
    );
    let chosen_label = q.label();
    let body = html! {
        div.crumbs { a href="/projects" { "Projects" } " / " a href={ "/projects/" (enc(&project)) } { (project) } " / " }
        h1 #repo-title { (full) }
        div.card {
            dl.kv {
                dt { "Pull command" } dd { (copyable("pull-command", &pull_command(first_kind, &format!("{host}/{full}:{first_tag}")))) }
                dt { "Artifacts" } dd { (repo.artifact_count) }
                dt { "Pulls" } dd { (repo.pull_count) }
                dt { "Updated" } dd { (at(&repo.update_time)) }
            }
        }
        form.filters method="get" action="/repo" role="search" #artifact-filters {
            input type="hidden" name="name" value=(full);
            label { "Tag" input #q type="search" name="q" value=(q.q) placeholder="Part of a tag"; }
            label { "Type" select #type-filter name="type" {
                option value="" { "Any type" }
                @for t in TYPES { option value=(t) selected[q.kind() == Some(t)] { (t) } }
            } }
            label { "Label" select #label-filter name="label" {
                option value="" { "Any label" }
                @for l in &labels { option value=(l.id) selected[chosen_label == Some(l.id)] { (l.name) @if l.scope == "g" { " (global)" } } }
            } }
            button type="submit" { "Filter" }
            @if q.filtered() { a href={ "/repo?name=" (enc(full)) } #clear-filters { "Clear filters" } }
        }
        @if artifacts.is_empty() {
            (empty(if q.filtered() { "No artifacts match these filters." } else { "No artifacts yet." }))
        } @else {
            div.scroll { table #artifacts {
                thead { tr {
                    @if delete_artifacts { th { span.sr { "Select" } } }
                    th { "Artifact" } th { "Tags" } th { "Type" } th { "Vulnerabilities" } th { "Size" } th.hide-sm { "Pushed" } th.hide-sm { "Pulled" } th { "Pull" } @if delete_artifacts { th { "" } }
                } }
                tbody { @for (a, kind) in artifacts.iter().zip(&kinds) {
                    @let digest = a.digest.as_str();
                    @let id = a.id;
                    tr {
                        @if delete_artifacts { td {
                            input type="checkbox" name="ref" value=(digest) form="delete-selected" aria-label={ "Select " (short(digest)) };
                        } }
                        td {
                            a.mono href=(artifact_href(full, digest)) { (short(digest)) }
                            @if let Some(children) = &a.references { br; span.small { (children.len()) " platforms" } }
                            @if let Some(acc) = a.accessories.as_ref().filter(|x| !x.is_empty()) {
                                br; @for x in acc { span.badge title=(x.digest) { (dash(&x.kind)) } }
                            }
                            @if let Some(sig) = a.signature_status.as_ref().filter(|s| s.verified) {
                                span.badge.verified title=(signature_text(sig)) { "verified" }
                            }
                            @for l in &a.labels { span.badge.label data-color=[label_color(&l.color)] { (l.name) } }
                        }
                        td { (tags_cell(a)) }
                        td.kind { (kind) }
                        (super::scanning::severity_cell(a))
                        td { (bytes(i64::try_from(a.size).unwrap_or(i64::MAX))) }
                        td.hide-sm { (at(&a.push_time)) }
                        td.hide-sm { (at(&a.pull_time)) }
                        td.pull { (copyable(&format!("pull-{id}"), &pull_command(kind, &format!("{host}/{full}@{digest}")))) }
                        @if delete_artifacts { td { (artifact_delete(&v, full, digest)) } }
                    }
                } }
            } }
            @if delete_artifacts {
                form.row method="get" action="/repo/artifacts/delete" #delete-selected {
                    input type="hidden" name="name" value=(full);
                    button.danger type="submit" { "Delete selected…" }
                    span.small { "Asks for confirmation first." }
                }
            }
            (pager(&base, page_no, PAGE_SIZE, list.total()))
        }
        @if perms.can(Resource::Repository, Action::Delete) { section.card #delete-repository {
            h2 { "Delete the repository" }
            p.small { "Deletes every artifact and tag in it." }
            form.inline method="post" action="/repo/delete" data-confirm="Delete this repository and all its artifacts?" {
                (csrf(&v))
                input type="hidden" name="repo" value=(full);
                button.danger type="submit" { "Delete repository" }
            }
        } }
    };
    page(Some(&v), full, body)
}

fn artifact_delete(v: &Viewer, repo: &str, digest: &str) -> Markup {
    html! {
        form.inline method="post" action="/artifact/delete" data-confirm="Delete this artifact with all its tags?" {
            (csrf(v))
            input type="hidden" name="repo" value=(repo);
            input type="hidden" name="ref" value=(digest);
            button.danger type="submit" { "Delete" }
        }
    }
}

#[derive(Deserialize)]
struct ArtifactForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    repo: String,
    #[serde(rename = "ref", default)]
    reference: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    label_id: Option<i64>,
    #[serde(default)]
    detach: Option<String>,
}

async fn delete_repository(
    v: Viewer,
    State(p): State<Portal>,
    Form(f): Form<ArtifactForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = match repo_path(&f.repo) {
        Ok(path) => p.api.send(&v, Method::DELETE, &path, None).await,
        Err(e) => Err(e),
    };
    let project = f.repo.split('/').next().unwrap_or_default();
    match r {
        Ok(_) => redirect_with(
            &format!("/projects/{}/repositories", enc(project)),
            Ok(format!("Repository {} deleted.", f.repo)),
        ),
        Err(e) => redirect_with(&format!("/repo?name={}", enc(&f.repo)), Err(e)),
    }
}

async fn delete_artifact(
    v: Viewer,
    State(p): State<Portal>,
    Form(f): Form<ArtifactForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = match repo_path(&f.repo) {
        Ok(path) => {
            let path = format!("{path}/artifacts/{}", enc(&f.reference));
            p.api.send(&v, Method::DELETE, &path, None).await
        }
        Err(e) => Err(e),
    };
    redirect_with(
        &format!("/repo?name={}", enc(&f.repo)),
        r.map(|_| format!("Artifact {} deleted.", short(&f.reference))),
    )
}

/// The repository and artifacts of a "Delete selected" form (`name`, `ref` repeated,
/// `_csrf`), from a query string or a form body.
struct Selection {
    csrf: String,
    repo: String,
    refs: Vec<String>,
}

impl Selection {
    fn parse(raw: &str) -> Self {
        let mut s = Selection {
            csrf: String::new(),
            repo: String::new(),
            refs: Vec::new(),
        };
        for (k, val) in form_urlencoded::parse(raw.as_bytes()) {
            match k.as_ref() {
                "_csrf" => s.csrf = val.into_owned(),
                "name" => s.repo = val.into_owned(),
                "ref" if !val.trim().is_empty() && !s.refs.iter().any(|r| *r == val) => {
                    s.refs.push(val.trim().to_owned());
                }
                _ => {}
            }
        }
        s
    }

    /// Refuses an empty selection or one larger than [`MAX_SELECTED`].
    fn check(&self) -> Result<(), Failure> {
        if self.refs.is_empty() {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "Select the artifacts to delete first.",
            ));
        }
        if self.refs.len() > MAX_SELECTED {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                format!("Select at most {MAX_SELECTED} artifacts at a time."),
            ));
        }
        Ok(())
    }
}

/// `GET /repo/artifacts/delete?name=..&ref=..&ref=..`: the confirmation page of a
/// "Delete selected" (nothing is deleted on one click, with or without JavaScript).
async fn confirm_delete_selected(
    v: Viewer,
    State(p): State<Portal>,
    RawQuery(raw): RawQuery,
) -> Response {
    let sel = Selection::parse(raw.as_deref().unwrap_or_default());
    let back = format!("/repo?name={}", enc(&sel.repo));
    let path = load!(v, repo_path(&sel.repo));
    if let Err(e) = sel.check() {
        return redirect_with(&back, Err(e));
    }
    let reads = sel.refs.iter().map(|r| {
        let art = format!("{path}/artifacts/{}?with_tag=true", enc(r));
        let api = &p.api;
        let v = &v;
        async move {
            let found = api
                .get(v, &art)
                .await
                .and_then(|a| a.decode::<m::Artifact>());
            (r.as_str(), found)
        }
    });
    let found = futures::future::join_all(reads).await;
    let ready: Vec<&m::Artifact> = found.iter().filter_map(|(_, a)| a.as_ref().ok()).collect();
    let repo = sel.repo.as_str();
    let (project, _) = load!(v, split(repo));
    let n = ready.len();
    let plural = if n == 1 { "" } else { "s" };
    let body = html! {
        div.crumbs {
            a href="/projects" { "Projects" } " / "
            a href={ "/projects/" (enc(&project)) } { (project) } " / "
            a href=(back) { (repo) } " / "
        }
        h1 { "Delete " (n) " artifact" (plural) "?" }
        p { "Each goes with all its tags, and its signatures and other accessories. This cannot be undone." }
        div.scroll { table #delete-selection {
            thead { tr { th { "Artifact" } th { "Tags" } th { "Type" } th { "Size" } } }
            tbody { @for (r, a) in &found { tr {
                @match a {
                    Ok(a) => {
                        td { a.mono href=(artifact_href(repo, &a.digest)) { (short(&a.digest)) } }
                        td { (tags_cell(a)) }
                        td { (kind_of(a, &[])) }
                        td { (bytes(i64::try_from(a.size).unwrap_or(i64::MAX))) }
                    }
                    Err(e) => {
                        td.mono { (short(r)) }
                        td colspan="3" { span.error-text { "Cannot be deleted: " (e.message) } }
                    }
                }
            } } }
        } }
        @if n > 0 {
            form.row method="post" action="/repo/artifacts/delete" #confirm-delete {
                (csrf(&v))
                input type="hidden" name="name" value=(repo);
                @for a in &ready { input type="hidden" name="ref" value=(a.digest); }
                button.danger type="submit" #confirm-delete-button { "Delete " (n) " artifact" (plural) }
                a href=(back) { "Cancel" }
            }
        } @else {
            p { a href=(back) { "Back to the repository" } }
        }
    };
    page(Some(&v), "Delete artifacts", body)
}

/// `POST /repo/artifacts/delete`: deletes each confirmed artifact through the API, one
/// after the other. All gone: back to the repository with a message; otherwise a page
/// saying, for each artifact, whether it was deleted or why not.
async fn delete_selected(v: Viewer, State(p): State<Portal>, body: String) -> Response {
    let sel = Selection::parse(&body);
    csrf_checked!(v, &sel.csrf);
    let back = format!("/repo?name={}", enc(&sel.repo));
    let path = load!(v, repo_path(&sel.repo));
    if let Err(e) = sel.check() {
        return redirect_with(&back, Err(e));
    }
    let mut results = Vec::with_capacity(sel.refs.len());
    for r in &sel.refs {
        let one = format!("{path}/artifacts/{}", enc(r));
        results.push((r.as_str(), p.api.send(&v, Method::DELETE, &one, None).await));
    }
    let deleted = results.iter().filter(|(_, r)| r.is_ok()).count();
    let total = results.len();
    let plural = if total == 1 { "" } else { "s" };
    if deleted == total {
        return redirect_with(&back, Ok(format!("Deleted {total} artifact{plural}.")));
    }
    let repo = sel.repo.as_str();
    let (project, _) = load!(v, split(repo));
    let body = html! {
        div.crumbs {
            a href="/projects" { "Projects" } " / "
            a href={ "/projects/" (enc(&project)) } { (project) } " / "
            a href=(back) { (repo) } " / "
        }
        h1 { "Deleted " (deleted) " of " (total) " artifact" (plural) }
        div.flash.err role="alert" #flash { (total - deleted) " could not be deleted: see below." }
        div.scroll { table #delete-results {
            thead { tr { th { "Artifact" } th { "Result" } } }
            tbody { @for (r, res) in &results { tr {
                td.mono { (short(r)) }
                @match res {
                    Ok(_) => td.ok-text { "Deleted." },
                    Err(e) => td { span.error-text { (e.message) } },
                }
            } } }
        } }
        p { a href=(back) #back-to-repository { "Back to the repository" } }
    };
    page(Some(&v), "Delete artifacts", body)
}

async fn add_tag(v: Viewer, State(p): State<Portal>, Form(f): Form<ArtifactForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let tag = f.tag.trim().to_owned();
    let r = match repo_path(&f.repo) {
        Ok(path) => {
            let path = format!("{path}/artifacts/{}/tags", enc(&f.reference));
            p.api
                .send(&v, Method::POST, &path, Some(json!({ "name": tag })))
                .await
        }
        Err(e) => Err(e),
    };
    redirect_with(
        &artifact_href(&f.repo, &f.reference),
        r.map(|_| format!("Tag {tag} added.")),
    )
}

async fn remove_tag(v: Viewer, State(p): State<Portal>, Form(f): Form<ArtifactForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = match repo_path(&f.repo) {
        Ok(path) => {
            let path = format!(
                "{path}/artifacts/{}/tags/{}",
                enc(&f.reference),
                enc(&f.tag)
            );
            p.api.send(&v, Method::DELETE, &path, None).await
        }
        Err(e) => Err(e),
    };
    redirect_with(
        &artifact_href(&f.repo, &f.reference),
        r.map(|_| format!("Tag {} removed.", f.tag)),
    )
}

async fn label(v: Viewer, State(p): State<Portal>, Form(f): Form<ArtifactForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let Some(id) = f.label_id else {
        return redirect_with(
            &artifact_href(&f.repo, &f.reference),
            Err(Failure::new(StatusCode::BAD_REQUEST, "Choose a label.")),
        );
    };
    let r = match repo_path(&f.repo) {
        Ok(path) if f.detach.is_some() => {
            let path = format!("{path}/artifacts/{}/labels/{id}", enc(&f.reference));
            p.api.send(&v, Method::DELETE, &path, None).await
        }
        Ok(path) => {
            let path = format!("{path}/artifacts/{}/labels", enc(&f.reference));
            p.api
                .send(&v, Method::POST, &path, Some(json!({ "id": id })))
                .await
        }
        Err(e) => Err(e),
    };
    let what = if f.detach.is_some() {
        "Label removed."
    } else {
        "Label added."
    };
    redirect_with(
        &artifact_href(&f.repo, &f.reference),
        r.map(|_| what.to_owned()),
    )
}

#[derive(Deserialize)]
struct ArtifactQuery {
    #[serde(default)]
    repo: String,
    #[serde(rename = "ref", default)]
    reference: String,
}

/// An artifact's signature status in words: unsigned, signed (by which kinds), and
/// verified by which trusted key.
fn signature_text(s: &m::SignatureStatus) -> String {
    if !s.signed {
        return "not signed".to_owned();
    }
    let kinds = s.kinds.join(" and ");
    match &s.key {
        Some(key) if s.verified => format!("signed ({kinds}), verified with trusted key {key}"),
        _ => format!("signed ({kinds}), not verified by a trusted key"),
    }
}

/// `GET /artifact?repo=project/repo&ref=digest-or-tag`.
async fn artifact(
    v: Viewer,
    State(p): State<Portal>,
    headers: HeaderMap,
    Query(q): Query<ArtifactQuery>,
) -> Response {
    let path = load!(v, repo_path(&q.repo));
    let (project, _) = load!(v, split(&q.repo));
    let art_path = format!(
        "{path}/artifacts/{}?with_tag=true&with_label=true&with_accessory=true&with_scan_overview=true&with_sbom_overview=true&with_signature=true",
        enc(&q.reference)
    );
    let a: m::Artifact = load!(v, load!(v, p.api.get(&v, &art_path).await).decode());
    let digest = a.digest.clone();
    let project_id = a.project_id;
    let history_path = format!("{path}/artifacts/{}/additions/build_history", enc(&digest));
    let project_labels = format!("/labels?scope=p&project_id={project_id}&page_size=100");
    let (history, global, local, perms) = tokio::join!(
        p.api.get(&v, &history_path),
        p.api.get(&v, "/labels?scope=g&page_size=100"),
        p.api.get(&v, &project_labels),
        perms::load(&p, &v, &project),
    );
    let add_tag = perms.can(Resource::Tag, Action::Create);
    let remove_tag = perms.can(Resource::Tag, Action::Delete);
    let attach = perms.can(Resource::ArtifactLabel, Action::Create);
    let detach = perms.can(Resource::ArtifactLabel, Action::Delete);
    // The manifest itself (layers, config): the API read above already checked access.
    let manifest: Value = match RepositoryName::parse(&q.repo) {
        Ok(name) => match p.state.registry.get_manifest(&name, &digest).await {
            Ok(m) => serde_json::from_slice(&m.content).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        },
        Err(_) => Value::Null,
    };
    let history = history.map(|h| h.body).unwrap_or(Value::Null);
    let kind = kind_of(&a, &layer_types(&manifest));
    let subject = subject_of(&manifest, a.tags.as_deref().unwrap_or_default());
    let mut labels: Vec<m::Label> = Vec::new();
    for l in [global, local].into_iter().flatten() {
        labels.extend(load!(v, l.decode::<Vec<m::Label>>()));
    }
    let tags = a.tags.as_deref().unwrap_or_default();
    let host = registry_host(&p, &headers);
    let repo = q.repo.as_str();
    let can_scan = perms.can(Resource::Scan, Action::Create);
    let can_sbom = perms.can(Resource::Sbom, Action::Create);
    let (scanning, sbom_doc) = tokio::join!(
        super::scanning::artifact_sections(&p, &v, &path, repo, &a, can_scan, can_sbom),
        super::scanning::sbom_document(&p, &v, &path, &a),
    );
    let body = html! {
        div.crumbs {
            a href="/projects" { "Projects" } " / "
            a href={ "/projects/" (enc(&project)) } { (project) } " / "
            a href={ "/repo?name=" (enc(repo)) } { (repo) } " / "
        }
        h1 #artifact-title { (repo.rsplit('/').next().unwrap_or(repo)) "@" (short(&digest)) }
        div.card { dl.kv {
            dt { "Digest" } dd { (copyable("digest", &digest)) }
            dt { "Pull by digest" } dd { (copyable("pull-digest", &pull_command(&kind, &format!("{host}/{repo}@{digest}")))) }
            dt { "Type" } dd #artifact-kind { (kind) }
            @if let Some(s) = &subject {
                dt { "Subject" } dd { a.mono #subject-link href=(artifact_href(repo, s)) { (short(s)) } " (the artifact this one belongs to)" }
            }
            dt { "Media type" } dd { code { (dash(&a.manifest_media_type)) } }
            @if !a.artifact_type.is_empty() { dt { "Artifact type" } dd { code { (a.artifact_type) } } }
            dt { "Size" } dd { (bytes(i64::try_from(a.size).unwrap_or(i64::MAX))) }
            dt { "Pushed" } dd { (at(&a.push_time)) }
            dt { "Pulled" } dd { (at(&a.pull_time)) }
            @if let Some(os) = a.attr("os") { dt { "Platform" } dd { (os) "/" (dash(a.attr("architecture").unwrap_or_default())) } }
            @if let Some(sig) = &a.signature_status {
                dt { "Signature" } dd #signature-status { (signature_text(sig)) }
            }
        } }
        h2 { "Tags" }
        @if tags.is_empty() { (empty("No tags.")) } @else {
            div.scroll { table #tags {
                thead { tr { th { "Tag" } th { "Pull command" } th.hide-sm { "Pushed" } th.hide-sm { "Pulled" } @if remove_tag { th { "" } } } }
                tbody { @for t in tags {
                    @let name = t.name.as_str();
                    tr {
                        td { (name) }
                        td { (copyable(&format!("pull-tag-{}", t.id), &pull_command(&kind, &format!("{host}/{repo}:{name}")))) }
                        td.hide-sm { (at(&t.push_time)) }
                        td.hide-sm { (at(&t.pull_time)) }
                        @if remove_tag { td { form.inline method="post" action="/artifact/untag" data-confirm="Remove this tag?" {
                            (csrf(&v))
                            input type="hidden" name="repo" value=(repo);
                            input type="hidden" name="ref" value=(digest);
                            input type="hidden" name="tag" value=(name);
                            button.danger type="submit" { "Remove" }
                        } } }
                    }
                } }
            } }
        }
        @if add_tag {
            form.row method="post" action="/artifact/tag" #add-tag {
                (csrf(&v))
                input type="hidden" name="repo" value=(repo);
                input type="hidden" name="ref" value=(digest);
                label { "New tag" input name="tag" required maxlength="128" pattern="[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"; }
                button type="submit" { "Add tag" }
            }
        }
        h2 { "Labels" }
        div #artifact-labels {
            @for l in &a.labels {
                @if detach {
                    form.inline method="post" action="/artifact/label" {
                        (csrf(&v))
                        input type="hidden" name="repo" value=(repo);
                        input type="hidden" name="ref" value=(digest);
                        input type="hidden" name="label_id" value=(l.id);
                        input type="hidden" name="detach" value="true";
                        span.badge.label data-color=[label_color(&l.color)] { (l.name) " " button.link type="submit" aria-label={ "Remove label " (l.name) } { "×" } }
                    }
                } @else {
                    span.badge.label data-color=[label_color(&l.color)] { (l.name) }
                }
            }
            @if a.labels.is_empty() { span.small { "No labels." } }
        }
        @if attach && !labels.is_empty() {
            form.row method="post" action="/artifact/label" {
                (csrf(&v))
                input type="hidden" name="repo" value=(repo);
                input type="hidden" name="ref" value=(digest);
                label { "Label" select name="label_id" { @for l in &labels { option value=(l.id) { (l.name) @if l.scope == "g" { " (global)" } } } } }
                button.secondary type="submit" { "Add label" }
            }
        }
        @if let Some(children) = &a.references {
            h2 { "Platforms" }
            div.scroll { table #children {
                thead { tr { th { "Platform" } th { "Digest" } } }
                tbody { @for c in children {
                    @let cd = c.child_digest.as_str();
                    @let platform = c.platform.clone().unwrap_or_default();
                    tr {
                        td { (dash(&platform.os)) "/" (dash(&platform.architecture)) @if let Some(var) = &platform.variant { "/" (var) } }
                        td { a.mono href=(artifact_href(repo, cd)) { (cd) } }
                    }
                } }
            } }
        }
        @if let Some(acc) = a.accessories.as_ref().filter(|x| !x.is_empty()) {
            h2 { "Signatures and other accessories" }
            div.scroll { table #accessories {
                thead { tr { th { "Type" } th { "Digest" } th { "Size" } th.hide-sm { "Created" } } }
                tbody { @for x in acc { tr {
                    td { (dash(&x.kind)) }
                    td { a.mono href=(artifact_href(repo, &x.digest)) { (x.digest) } }
                    td { (bytes(i64::try_from(x.size).unwrap_or(i64::MAX))) }
                    td.hide-sm { (at(&x.creation_time)) }
                } } }
            } }
        }
        (scanning)
        (sbom_doc)
        @if let Some(layers) = manifest["layers"].as_array() {
            h2 { "Layers" }
            div.scroll { table #layers {
                thead { tr { th { "#" } th { "Digest" } th { "Media type" } th { "Size" } } }
                tbody { @for (i, l) in layers.iter().enumerate() { tr {
                    td { (i + 1) }
                    td.mono { (text(&l["digest"])) }
                    td.mono { (text(&l["mediaType"])) }
                    td { (bytes(l["size"].as_i64().unwrap_or(0))) }
                } } }
            } }
        }
        @if !manifest["config"].is_null() {
            h2 { "Config" }
            p { code #config-digest { (text(&manifest["config"]["digest"])) } " · " (bytes(manifest["config"]["size"].as_i64().unwrap_or(0))) " · " code { (text(&manifest["config"]["mediaType"])) } }
        }
        @if let Some(steps) = history.as_array().filter(|s| !s.is_empty()) {
            h2 { "Build history" }
            div.scroll { table #build-history {
                thead { tr { th { "Created" } th { "Command" } } }
                tbody { @for s in steps { tr {
                    td { (at(s["created"].as_str().unwrap_or_default())) }
                    td.mono { (text(&s["created_by"])) }
                } } }
            } }
        }
        @if !a.annotations.is_empty() {
            h2 { "Annotations" }
            dl.kv #annotations { @for (k, val) in &a.annotations { dt.mono { (k) } dd { (dash(val)) } } }
        }
        @if perms.can(Resource::Artifact, Action::Delete) {
            section.card #delete-artifact {
                h2 { "Delete the artifact" }
                (artifact_delete(&v, repo, &digest))
            }
        }
    };
    page(Some(&v), short(&digest), body)
}
