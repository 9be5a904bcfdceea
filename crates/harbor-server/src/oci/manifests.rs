//! Manifest GET/HEAD, PUT and DELETE.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use harbor_core::identity::Project;
use harbor_core::model::StoredManifest;
use harbor_core::{Error, Registry, RepositoryName};
use harbor_platform::proxy::Source;
use harbor_platform::scanner::pull_policy::PullPolicy;
use harbor_platform::signatures::Signatures;
use harbor_platform::{Principal, ProxyCache};

use super::ApiResult;
use super::headers::{
    DOCKER_CONTENT_DIGEST, OCI_SUBJECT, OCI_TAG, content_length, query, text, value,
};

/// Who pulls from which project: the project's pull policies ("prevent vulnerable images
/// from running", then the signature policies) decide on each manifest `GET` and `HEAD`,
/// as Harbor's do.
pub(super) struct Puller<'a> {
    pub policy: &'a PullPolicy,
    pub signatures: &'a Signatures,
    pub by: &'a Principal,
    pub project: Option<&'a Project>,
    /// A signing client (`cosign`, `notation` in its `User-Agent`) that may push.
    pub signer: bool,
}

impl Puller<'_> {
    /// [`PullPolicy::check_pull`] and [`Signatures::check_pull`]; no I/O unless the
    /// project has a policy on.
    async fn check(
        &self,
        repo: &RepositoryName,
        reference: &str,
        m: &StoredManifest,
    ) -> Result<(), Error> {
        let Some(p) = self.project else {
            return Ok(());
        };
        self.policy.check_pull(self.by, p, reference, m).await?;
        self.signatures
            .check_pull(self.by, self.signer, p, repo, reference, m)
            .await
    }
}

pub(super) async fn get(
    reg: &Registry,
    puller: &Puller<'_>,
    repo: &RepositoryName,
    reference: &str,
    parts: &Parts,
    with_body: bool,
) -> ApiResult {
    let m = reg.get_manifest(repo, reference).await?;
    puller.check(repo, reference, &m).await?;
    Ok(respond(&m, parts, with_body))
}

/// A manifest `GET` (`with_body`) or `HEAD` in a proxy-cache project. A pull served
/// from the cache is recorded here (and judged by the pull policy, as Harbor judges
/// cached content); one from the upstream once it is cached.
pub(super) async fn get_proxied(
    reg: &Registry,
    (cache, project): (&ProxyCache, &Project),
    puller: &Puller<'_>,
    repo: &RepositoryName,
    reference: &str,
    parts: &Parts,
    with_body: bool,
) -> ApiResult {
    let who = puller.by.name();
    let (m, source) = cache.manifest(who, project, repo, reference).await?;
    if source == Source::Cache {
        puller.check(repo, reference, &m).await?;
        if with_body {
            reg.record_manifest_pull(who, repo, reference, m.digest.as_str());
        }
    }
    Ok(respond(&m, parts, with_body))
}

/// The answer to a manifest `GET` (`with_body`) or `HEAD`: `304` when the client's
/// `If-None-Match` names it.
pub(super) fn respond(m: &StoredManifest, parts: &Parts, with_body: bool) -> Response {
    let etag = format!("\"{}\"", m.digest);
    let not_modified = text(&parts.headers, header::IF_NONE_MATCH).is_some_and(|inm| {
        inm.split(',')
            .map(str::trim)
            .any(|t| t == etag || t == "*" || t == m.digest.as_str())
    });
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else if with_body {
        Response::new(Body::from(m.content.clone()))
    } else {
        StatusCode::OK.into_response()
    };
    let h = resp.headers_mut();
    h.insert(DOCKER_CONTENT_DIGEST, value(m.digest.as_str()));
    h.insert(header::ETAG, value(&etag));
    if !not_modified {
        h.insert(header::CONTENT_TYPE, value(&m.media_type));
        h.insert(header::CONTENT_LENGTH, value(&m.content.len().to_string()));
    }
    resp
}

pub(super) async fn put(
    reg: &Registry,
    by: &str,
    repo: &RepositoryName,
    reference: &str,
    parts: &Parts,
    body: Body,
) -> ApiResult {
    let limit = reg.config().max_manifest_bytes;
    if content_length(&parts.headers)?.is_some_and(|len| len > limit as u64) {
        return Err(Error::ManifestTooLarge { limit }.into());
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        {
            Error::ManifestTooLarge { limit }
        } else {
            Error::ManifestInvalid(format!("failed to read the manifest body: {e}"))
        }
    })?;
    let extra_tags: Vec<String> = query(&parts.uri)
        .into_iter()
        .filter(|(k, _)| k == "tag")
        .map(|(_, v)| v)
        .collect();
    let content_type = text(&parts.headers, header::CONTENT_TYPE);
    let pushed = reg
        .put_manifest(by, repo, reference, content_type, bytes, &extra_tags)
        .await?;
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        value(&format!("/v2/{repo}/manifests/{}", pushed.digest)),
    );
    h.insert(DOCKER_CONTENT_DIGEST, value(pushed.digest.as_str()));
    h.insert(header::CONTENT_LENGTH, value("0"));
    if let Some(subject) = &pushed.subject {
        h.insert(OCI_SUBJECT, value(subject.as_str()));
    }
    if !extra_tags.is_empty() {
        for tag in &pushed.tags {
            h.append(OCI_TAG, value(tag.as_str()));
        }
    }
    Ok(resp)
}

pub(super) async fn delete(
    reg: &Registry,
    by: &str,
    repo: &RepositoryName,
    reference: &str,
) -> ApiResult {
    reg.delete_manifest(by, repo, reference).await?;
    Ok((StatusCode::ACCEPTED, [(header::CONTENT_LENGTH, value("0"))]).into_response())
}
