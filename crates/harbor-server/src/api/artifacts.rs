//! `/api/v2.0/projects/{p}/repositories/{r}/artifacts[...]`: list, read, delete and copy
//! artifacts, their tags, accessories and the `build_history` addition.
//!
//! `{r}` is the repository name without its project (a `/` arrives URL-encoded twice, as
//! for repositories); `{reference}` is a tag or a digest. Permissions follow Harbor's
//! handlers: `artifact:list|read|delete`, copy `artifact:create` in the target and
//! `artifact:read` in the source, `tag:list|create|delete`, `accessory:list` and
//! `artifact-addition:read`. A project the caller may not read answers as missing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use std::collections::BTreeMap;

use harbor_api_model as m;
use harbor_core::artifact::{
    AccessoryRecord, ArtifactQuery, ArtifactSortKey, IndexChild, TagFilter, TagRecord, cosign_tag,
};
use harbor_core::identity::{Match, Project};
use harbor_core::immutable::ImmutabilityPolicy;
use harbor_core::rbac::{Action, Resource};
use harbor_core::registry::{Artifact, ArtifactDeletion, ArtifactOptions};
use harbor_core::{Digest, Error, RepositoryName, Tag};
use serde::Deserialize;
use serde_json::Value;

use harbor_api_model::scanner_adapter::SBOM_REPORT;
use harbor_platform::scanner::scans::merge_summaries;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::labels::label_model;
use super::paging::{QValue, flag, list, page, param, parse_q, query, sort_keys, time};
use super::repositories::{full_name, project, time_range};
use crate::AppState;

fn opt_time(ms: Option<i64>) -> String {
    ms.map(time)
        .unwrap_or_else(|| m::artifacts::NEVER.to_owned())
}

/// Maps core errors (the one mapping of [`ApiError`]'s `From`).
fn api_error(e: Error) -> ApiError {
    e.into()
}

/// Harbor's `Tag` (`immutable` is set by [`mark_immutable`]).
pub(crate) fn tag_model(t: &TagRecord) -> m::Tag {
    m::Tag {
        id: t.id,
        repository_id: t.repository_id,
        artifact_id: t.artifact_id,
        name: t.name.clone(),
        push_time: time(t.pushed_ms),
        pull_time: opt_time(t.pulled_ms),
        immutable: false,
    }
}

/// Sets each tag's `immutable` from the repository's rules.
fn mark_immutable(policy: &ImmutabilityPolicy, repo: &RepositoryName, tags: &mut [m::Tag]) {
    for t in tags {
        t.immutable = policy.is_immutable(repo, &t.name);
    }
}

/// What only the repository's rules and the label store know: each tag's `immutable`
/// (one query for the rules) and, with `with_label`, each artifact's labels (one query).
async fn decorate(
    state: &AppState,
    repo: &RepositoryName,
    artifacts: &[Artifact],
    models: &mut [m::Artifact],
    with_label: bool,
    overviews: Overviews,
) -> ApiResult<()> {
    if models
        .iter()
        .any(|v| v.tags.as_ref().is_some_and(|t| !t.is_empty()))
    {
        let policy = state.registry.immutability(repo).await?;
        for v in models.iter_mut() {
            if let Some(tags) = v.tags.as_mut() {
                mark_immutable(&policy, repo, tags);
            }
        }
    }
    if overviews.scan || overviews.sbom {
        // An index shows its platforms' reports merged, as Harbor does.
        let digests: Vec<String> = artifacts
            .iter()
            .flat_map(|a| {
                std::iter::once(a.record.digest.to_string())
                    .chain(a.children.iter().map(|c| c.digest.to_string()))
            })
            .collect();
        let reports = state.platform.scans.summaries(&digests).await?;
        for (a, v) in artifacts.iter().zip(models.iter_mut()) {
            let found = if a.children.is_empty() {
                reports
                    .get(&a.record.digest.to_string())
                    .cloned()
                    .unwrap_or_default()
            } else {
                merge_summaries(
                    a.children
                        .iter()
                        .filter_map(|c| reports.get(&c.digest.to_string()))
                        .flatten()
                        .filter(|r| r.record.mime_type != SBOM_REPORT)
                        .cloned()
                        .collect(),
                )
            };
            super::scans::overview(v, &found, overviews.scan, overviews.sbom);
        }
    }
    if with_label {
        let ids: Vec<i64> = artifacts.iter().map(|a| a.record.id).collect();
        let labels = state.registry.labels_of(&ids).await?;
        for (a, v) in artifacts.iter().zip(models.iter_mut()) {
            v.labels = labels
                .get(&a.record.id)
                .map(|ls| ls.iter().map(label_model).collect())
                .unwrap_or_default();
        }
    }
    Ok(())
}

/// Harbor's `Accessory`.
fn accessory_model(a: &AccessoryRecord, repo: &str) -> m::Accessory {
    m::Accessory {
        id: a.artifact_id,
        artifact_id: a.artifact_id,
        subject_artifact_id: a.subject_artifact_id,
        subject_artifact_digest: a.subject_digest.to_string(),
        subject_artifact_repo: repo.to_owned(),
        size: a.size,
        digest: a.digest.to_string(),
        kind: a.kind.clone(),
        icon: String::new(),
        creation_time: time(a.created_ms),
    }
}

/// Which scan overviews a response carries (`with_scan_overview`, `with_sbom_overview`).
#[derive(Clone, Copy, Default)]
struct Overviews {
    scan: bool,
    sbom: bool,
}

impl Overviews {
    fn of(q: &[(String, String)]) -> ApiResult<Self> {
        Ok(Self {
            scan: flag(q, "with_scan_overview", false)?,
            sbom: flag(q, "with_sbom_overview", false)?,
        })
    }
}

/// What the response shows besides the record.
#[derive(Clone, Copy)]
struct Shown {
    tags: bool,
    accessories: bool,
}

/// Harbor's `Reference` for one child of an index (descriptor parts it cannot read as
/// Harbor's types are left out).
fn reference_model(parent_id: i64, c: &IndexChild) -> m::Reference {
    fn typed<T: serde::de::DeserializeOwned>(v: &Option<Value>) -> Option<T> {
        v.clone().and_then(|v| serde_json::from_value(v).ok())
    }
    m::Reference {
        parent_id,
        child_id: c.id,
        child_digest: c.digest.to_string(),
        platform: typed(&c.platform),
        annotations: typed(&c.annotations),
        urls: typed(&c.urls),
    }
}

/// Harbor's `Artifact`. `references`, `tags` and `accessories` are left out when there
/// are none to show (not an index; `with_tag`/`with_accessory` off), as Harbor does.
fn artifact_model(a: &Artifact, project: &Project, shown: Shown) -> m::Artifact {
    let r = &a.record;
    let repo = r.repository_name.as_str();
    let short = repo
        .strip_prefix(&format!("{}/", project.name))
        .unwrap_or(repo);
    let mut addition_links = BTreeMap::new();
    if a.kind == "SBOM" {
        addition_links.insert(
            "sbom".to_owned(),
            m::AdditionLink {
                href: format!(
                    "/api/v2.0/projects/{}/repositories/{}/artifacts/{}/additions/sbom",
                    project.name,
                    short.replace('/', "%252F"),
                    r.digest
                ),
                absolute: false,
            },
        );
    }
    if a.kind == "IMAGE" && a.children.is_empty() {
        let base = format!(
            "/api/v2.0/projects/{}/repositories/{}/artifacts/{}/additions",
            project.name,
            short.replace('/', "%252F"),
            r.digest
        );
        addition_links.insert(
            "build_history".to_owned(),
            m::AdditionLink {
                href: format!("{base}/build_history"),
                absolute: false,
            },
        );
    }
    m::Artifact {
        id: r.id,
        kind: a.kind.clone(),
        media_type: a.media_type.clone(),
        manifest_media_type: r.manifest_media_type.clone(),
        artifact_type: r.artifact_type.clone().unwrap_or_default(),
        project_id: r.project_id.unwrap_or(project.id),
        repository_id: r.repository_id,
        repository_name: repo.to_owned(),
        digest: r.digest.to_string(),
        size: r.size,
        icon: String::new(),
        push_time: time(r.pushed_ms),
        pull_time: opt_time(r.pulled_ms),
        extra_attrs: a.extra_attrs.clone().unwrap_or_default(),
        annotations: r.annotations.clone(),
        references: (!a.children.is_empty()).then(|| {
            a.children
                .iter()
                .map(|c| reference_model(r.id, c))
                .collect()
        }),
        tags: shown.tags.then(|| a.tags.iter().map(tag_model).collect()),
        addition_links,
        labels: Vec::new(),
        accessories: shown.accessories.then(|| {
            a.accessories
                .iter()
                .map(|x| accessory_model(x, repo))
                .collect()
        }),
        scan_overview: None,
        sbom_overview: None,
        signature_status: None,
    }
}

/// `sort=a,-b`: `push_time`, `pull_time`, `digest`, `size`.
fn sort(s: Option<&str>) -> ApiResult<Vec<(ArtifactSortKey, bool)>> {
    sort_keys(
        s,
        "artifacts",
        &[
            ("push_time", ArtifactSortKey::PushTime),
            ("pull_time", ArtifactSortKey::PullTime),
            ("digest", ArtifactSortKey::Digest),
            ("size", ArtifactSortKey::Size),
        ],
    )
}

/// `labels=(1 2)` or `labels=1`: label ids, all of which an artifact must carry.
fn label_ids(v: &str) -> ApiResult<Vec<i64>> {
    let inner = v
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(v);
    inner
        .split([' ', ','])
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid label id {x:?} in labels")))
        })
        .collect()
}

/// `q`: `tags` (`*`, `nil`, exact or `~fuzzy`), `digest`, `type`, `media_type`,
/// `push_time` and `pull_time` (`[from~to]`), `labels=(id id)`.
fn filter(q: &[(String, String)]) -> ApiResult<ArtifactQuery> {
    let mut f = ArtifactQuery {
        sort: sort(param(q, "sort"))?,
        ..ArtifactQuery::default()
    };
    for (k, v) in parse_q(param(q, "q"))? {
        match k.as_str() {
            "tags" => {
                f.tags = Some(match v {
                    QValue::Exact(t) if t == "*" => TagFilter::Tagged,
                    QValue::Exact(t) if t == "nil" => TagFilter::Untagged,
                    other => TagFilter::Name(other.text(&k)?),
                })
            }
            "digest" => f.digest = Some(v.text(&k)?),
            "media_type" => f.media_type = Some(v.text(&k)?),
            "type" => f.kind = Some(v.exact(&k)?.to_owned()),
            "push_time" => (f.pushed_from_ms, f.pushed_to_ms) = time_range(&k, v)?,
            "pull_time" => (f.pulled_from_ms, f.pulled_to_ms) = time_range(&k, v)?,
            "labels" => f.label_ids = label_ids(v.exact(&k)?)?,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}"
                )));
            }
        }
    }
    Ok(f)
}

/// The project `p` (hidden when not readable), the caller's check of `needs`, and the
/// full repository name.
async fn target(
    state: &AppState,
    ctx: &Ctx,
    p: &str,
    r: &str,
    needs: (Resource, Action),
) -> ApiResult<(Project, RepositoryName)> {
    let (project, grants) = project(state, ctx, p).await?;
    ctx.check(&grants, needs.0, needs.1)?;
    let name = full_name(&project, r)?;
    Ok((project, name))
}

/// `GET .../artifacts`.
pub(crate) async fn list_artifacts(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, r)): Path<(String, String)>,
) -> ApiResult {
    let (project, name) = target(&state, &ctx, &p, &r, (Resource::Artifact, Action::List)).await?;
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let f = filter(&q)?;
    let with_label = flag(&q, "with_label", false)?;
    let shown = Shown {
        tags: flag(&q, "with_tag", true)?,
        accessories: flag(&q, "with_accessory", false)?,
    };
    let with_signature = flag(&q, "with_signature", false)?;
    let opts = ArtifactOptions {
        with_tags: shown.tags,
        // The signature status is read from the page's accessories (one query).
        with_accessories: shown.accessories || with_signature,
        with_extra_attrs: false,
    };
    let (items, total) = state
        .registry
        .list_artifacts(&name, &f, pg, opts)
        .await
        .map_err(api_error)?;
    let mut values: Vec<m::Artifact> = items
        .iter()
        .map(|a| artifact_model(a, &project, shown))
        .collect();
    if with_signature {
        let page: Vec<_> = items
            .iter()
            .map(|a| (a.record.digest.clone(), a.accessories.clone()))
            .collect();
        let statuses = state
            .platform
            .signatures
            .statuses(&project, &name, &page)
            .await?;
        for (v, s) in values.iter_mut().zip(&statuses) {
            v.signature_status = Some(super::signatures::status_model(s));
        }
    }
    decorate(
        &state,
        &name,
        &items,
        &mut values,
        with_label,
        Overviews::of(&q)?,
    )
    .await?;
    Ok(list(&parts.uri, pg, total, values))
}

/// `GET .../artifacts/{reference}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, r, reference)): Path<(String, String, String)>,
) -> ApiResult {
    let (project, name) = target(&state, &ctx, &p, &r, (Resource::Artifact, Action::Read)).await?;
    let q = query(&parts.uri);
    let with_label = flag(&q, "with_label", false)?;
    let shown = Shown {
        tags: flag(&q, "with_tag", true)?,
        accessories: flag(&q, "with_accessory", false)?,
    };
    let opts = ArtifactOptions {
        with_tags: shown.tags,
        with_accessories: shown.accessories,
        with_extra_attrs: true,
    };
    let a = state
        .registry
        .artifact(&name, &reference, opts)
        .await
        .map_err(api_error)?;
    let mut values = [artifact_model(&a, &project, shown)];
    if flag(&q, "with_signature", false)? {
        let status = state
            .platform
            .signatures
            .status(&project, &name, &a.record.digest)
            .await?;
        values[0].signature_status = Some(super::signatures::status_model(&status));
    }
    decorate(
        &state,
        &name,
        std::slice::from_ref(&a),
        &mut values,
        with_label,
        Overviews::of(&q)?,
    )
    .await?;
    let [v] = values;
    Ok(Json(v).into_response())
}

/// `DELETE .../artifacts/{reference}`: the manifest, its tags, its accessories and its
/// untagged, unshared index children.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r, reference)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, name) = target(&state, &ctx, &p, &r, (Resource::Artifact, Action::Delete)).await?;
    let a = state
        .registry
        .artifact(&name, &reference, ArtifactOptions::default())
        .await
        .map_err(api_error)?;
    match state
        .registry
        .delete_artifact(ctx.principal.name(), &name, a.record.digest.as_str())
        .await
        .map_err(api_error)?
    {
        ArtifactDeletion::Deleted => {}
        ArtifactDeletion::ReferencedByIndex => {
            return Err(ApiError::precondition(
                "the deleting artifact is referenced by others",
            ));
        }
    }
    Ok(StatusCode::OK.into_response())
}

/// `project/repo:tag` or `project/repo@digest`.
fn parse_from(from: &str) -> ApiResult<(RepositoryName, String)> {
    let bad = || {
        ApiError::bad_request(format!(
            "invalid from {from:?}: use project/repository:tag or project/repository@digest"
        ))
    };
    let (repo, reference) = if let Some((repo, digest)) = from.split_once('@') {
        Digest::parse(digest).map_err(|_| bad())?;
        (repo, digest)
    } else {
        let (repo, tag) = from.rsplit_once(':').ok_or_else(bad)?;
        Tag::parse(tag).map_err(|_| bad())?;
        (repo, tag)
    };
    let repo = RepositoryName::parse(repo).map_err(|_| bad())?;
    if !repo.as_str().contains('/') {
        return Err(bad());
    }
    Ok((repo, reference.to_owned()))
}

/// `POST .../artifacts?from=<project>/<repo>(:<tag>|@<digest>)`: copies an artifact
/// without moving bytes. 201 with `Location`.
pub(crate) async fn copy(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, r)): Path<(String, String)>,
) -> ApiResult {
    let (_, dst) = target(&state, &ctx, &p, &r, (Resource::Artifact, Action::Create)).await?;
    let q = query(&parts.uri);
    let from = param(&q, "from").ok_or_else(|| ApiError::bad_request("from is required"))?;
    let (src, reference) = parse_from(from)?;
    let src_project = src.as_str().split('/').next().unwrap_or_default();
    let (_, src_grants) = project(&state, &ctx, src_project).await?;
    ctx.check(&src_grants, Resource::Artifact, Action::Read)?;
    // As Harbor: an accessory is copied with its subject, never alone.
    let source = state
        .registry
        .artifact(
            &src,
            &reference,
            ArtifactOptions {
                with_tags: true,
                ..ArtifactOptions::default()
            },
        )
        .await
        .map_err(api_error)?;
    if source.record.subject.is_some() || source.tags.iter().any(|t| cosign_tag(&t.name).is_some())
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "DENIED",
            "the operation isn't supported for an artifact accessory",
        ));
    }
    state
        .registry
        .copy_artifact(ctx.principal.name(), &src, &reference, &dst)
        .await
        .map_err(api_error)?;
    // The request path (as Harbor answers), under the `/api/v2.0` the router is nested in.
    let location = format!(
        "/api/v2.0{}/{}",
        parts.uri.path().trim_end_matches('/'),
        reference
    );
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// `GET .../artifacts/{reference}/accessories`.
pub(crate) async fn accessories(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, r, reference)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, name) = target(&state, &ctx, &p, &r, (Resource::Accessory, Action::List)).await?;
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let all = state
        .registry
        .artifact_accessories(&name, &reference)
        .await
        .map_err(api_error)?;
    let items: Vec<m::Accessory> = all
        .iter()
        .skip(usize::try_from(pg.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(pg.page_size).unwrap_or(usize::MAX))
        .map(|a| accessory_model(a, name.as_str()))
        .collect();
    Ok(list(&parts.uri, pg, all.len() as u64, items))
}

/// `GET .../artifacts/{reference}/additions/{addition}`: `build_history` (the image
/// config's `history`), `vulnerabilities` (the scan reports) and `sbom` (the document of
/// an SBOM accessory); other additions are not produced (404).
pub(crate) async fn addition(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r, reference, addition)): Path<(String, String, String, String)>,
) -> ApiResult {
    let (_, name) = target(
        &state,
        &ctx,
        &p,
        &r,
        (Resource::ArtifactAddition, Action::Read),
    )
    .await?;
    match addition.as_str() {
        "build_history" => {
            let history = state
                .registry
                .build_history(&name, &reference)
                .await
                .map_err(api_error)?;
            Ok(Json(history).into_response())
        }
        "vulnerabilities" => super::scans::vulnerabilities(&state, &ctx, &p, &r, &reference).await,
        "sbom" => {
            let read = state
                .registry
                .sbom_document(&name, &reference)
                .await
                .map_err(api_error)?;
            let mut resp = axum::body::Body::from_stream(read.body).into_response();
            let h = resp.headers_mut();
            h.insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            h.insert(
                axum::http::header::CONTENT_LENGTH,
                axum::http::HeaderValue::from(read.info.size),
            );
            Ok(resp)
        }
        "values.yaml" | "readme.md" | "dependencies" | "license" | "files" => {
            state
                .registry
                .artifact(&name, &reference, ArtifactOptions::default())
                .await
                .map_err(api_error)?;
            Err(ApiError::not_found(format!(
                "the artifact has no {addition} addition"
            )))
        }
        other => Err(ApiError::bad_request(format!("unknown addition {other:?}"))),
    }
}

/// `GET .../artifacts/{reference}/tags` (`q=name=~x`, paging).
pub(crate) async fn list_tags(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path((p, r, reference)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, name) = target(&state, &ctx, &p, &r, (Resource::Tag, Action::List)).await?;
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let mut by_name: Option<Match> = None;
    for (k, v) in parse_q(param(&q, "q"))? {
        match k.as_str() {
            "name" => by_name = Some(v.text(&k)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}"
                )));
            }
        }
    }
    let (tags, total) = state
        .registry
        .list_artifact_tags(&name, &reference, by_name.as_ref(), pg)
        .await
        .map_err(api_error)?;
    let policy = state.registry.immutability(&name).await?;
    let mut items: Vec<m::Tag> = tags.iter().map(tag_model).collect();
    mark_immutable(&policy, &name, &mut items);
    Ok(list(&parts.uri, pg, total, items))
}

/// Harbor's `NewTag`.
#[derive(Deserialize)]
pub(crate) struct NewTag {
    name: String,
}

/// `POST .../artifacts/{reference}/tags` `{"name"}`: 201; 409 if the repository has the
/// tag already (Harbor does not move tags through this call).
pub(crate) async fn create_tag(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r, reference)): Path<(String, String, String)>,
    Json(req): Json<NewTag>,
) -> ApiResult {
    let (_, name) = target(&state, &ctx, &p, &r, (Resource::Tag, Action::Create)).await?;
    state
        .registry
        .create_artifact_tag(ctx.principal.name(), &name, &reference, &req.name)
        .await
        .map_err(api_error)?;
    Ok(StatusCode::CREATED.into_response())
}

/// `DELETE .../artifacts/{reference}/tags/{tag}`: 404 unless the tag is on that artifact.
pub(crate) async fn delete_tag(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r, reference, tag)): Path<(String, String, String, String)>,
) -> ApiResult {
    let (_, name) = target(&state, &ctx, &p, &r, (Resource::Tag, Action::Delete)).await?;
    state
        .registry
        .delete_artifact_tag(ctx.principal.name(), &name, &reference, &tag)
        .await
        .map_err(api_error)?;
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_from() {
        let d = format!("sha256:{}", "a".repeat(64));
        let (r, x) = parse_from(&format!("p/a/b@{d}")).unwrap();
        assert_eq!((r.as_str(), x.as_str()), ("p/a/b", d.as_str()));
        let (r, x) = parse_from("p/app:v1").unwrap();
        assert_eq!((r.as_str(), x.as_str()), ("p/app", "v1"));
        for bad in [
            "p/app",
            "app:v1",
            "p/app@sha256:zz",
            "p/APP:v1",
            "p/app:",
            "",
        ] {
            assert!(parse_from(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorts_and_filters() {
        assert_eq!(
            sort(Some("-size,digest")).unwrap(),
            vec![
                (ArtifactSortKey::Size, true),
                (ArtifactSortKey::Digest, false)
            ]
        );
        assert!(sort(Some("name")).is_err());
        let q = vec![("q".to_owned(), "tags=nil,type=IMAGE".to_owned())];
        let f = filter(&q).unwrap();
        assert_eq!(f.tags, Some(TagFilter::Untagged));
        assert_eq!(f.kind.as_deref(), Some("IMAGE"));
        let q = vec![("q".to_owned(), "labels=(1 2)".to_owned())];
        assert_eq!(filter(&q).unwrap().label_ids, [1, 2]);
        let q = vec![("q".to_owned(), "labels=(x)".to_owned())];
        assert!(filter(&q).is_err());
        let q = vec![("q".to_owned(), "owner=me".to_owned())];
        assert!(filter(&q).is_err());
    }
}
