//! Blob HEAD, GET (with ranges) and DELETE.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use harbor_core::identity::Project;
use harbor_core::{Digest, Error, Registry, RepositoryName};
use harbor_platform::ProxyCache;

use super::ApiResult;
use super::headers::{DOCKER_CONTENT_DIGEST, parse_range, text, value};
use crate::metrics::Metrics;

fn blob_headers(h: &mut HeaderMap, digest: &Digest, len: u64) {
    h.insert(header::CONTENT_TYPE, value("application/octet-stream"));
    h.insert(header::CONTENT_LENGTH, value(&len.to_string()));
    h.insert(DOCKER_CONTENT_DIGEST, value(digest.as_str()));
    h.insert(header::ETAG, value(&format!("\"{digest}\"")));
    h.insert(header::ACCEPT_RANGES, value("bytes"));
    h.insert(header::CACHE_CONTROL, value("max-age=31536000"));
}

/// A proxy-cache project and the service that fills it.
pub(super) type Proxy<'a> = Option<(&'a ProxyCache, &'a Project)>;

pub(super) async fn get(
    reg: &Registry,
    metrics: &Metrics,
    repo: &RepositoryName,
    digest: &str,
    parts: &Parts,
    with_body: bool,
    proxy: Proxy<'_>,
) -> ApiResult {
    let digest = Digest::parse(digest)?;
    if !with_body {
        let info = match proxy {
            Some((cache, project)) => cache.blob_info(project, repo, &digest).await?,
            None => reg.probe_blob(repo, &digest).await?,
        };
        let mut resp = StatusCode::OK.into_response();
        blob_headers(resp.headers_mut(), &digest, info.size);
        return Ok(resp);
    }
    let range = match text(&parts.headers, header::RANGE) {
        None => None,
        Some(r) => match parse_range(r) {
            Some(r) => Some(r),
            None => {
                let info = reg.stat_blob(repo, &digest).await?;
                return Err(Error::RangeNotSatisfiable { size: info.size }.into());
            }
        },
    };
    let read = match proxy {
        Some((cache, project)) => cache.read_blob(project, repo, &digest, range).await?,
        None => reg.read_blob(repo, &digest, range).await?,
    };
    let len = read.range.end - read.range.start;
    let mut resp = Response::new(Body::from_stream(metrics.count_pulled(read.body)));
    blob_headers(resp.headers_mut(), &digest, len);
    if read.partial {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        let cr = format!(
            "bytes {}-{}/{}",
            read.range.start,
            read.range.end - 1,
            read.info.size
        );
        resp.headers_mut().insert(header::CONTENT_RANGE, value(&cr));
    }
    Ok(resp)
}

pub(super) async fn delete(reg: &Registry, repo: &RepositoryName, digest: &str) -> ApiResult {
    let digest = Digest::parse(digest)?;
    reg.delete_blob(repo, &digest).await?;
    Ok((StatusCode::ACCEPTED, [(header::CONTENT_LENGTH, value("0"))]).into_response())
}
