//! Blob uploads: POST (start, monolithic, mount), PATCH, PUT, GET status, DELETE.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use harbor_core::model::BlobInfo;
use harbor_core::ports::ByteStream;
use harbor_core::registry::{ChunkRange, Mount, UploadStatus};
use harbor_core::{Digest, Error, Registry, RepositoryName};

use super::ApiResult;
use super::headers::{
    DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID, OCI_CHUNK_MIN_LENGTH, content_length, param,
    parse_content_range, query, text, upload_range, value,
};
use crate::metrics::Metrics;

/// The request body as a byte stream, counted in the metrics.
fn stream(metrics: &Metrics, body: Body) -> ByteStream {
    Box::pin(metrics.count_pushed(body.into_data_stream().map_err(std::io::Error::other)))
}

fn upload_response(repo: &RepositoryName, status: StatusCode, s: &UploadStatus) -> Response {
    let mut resp = status.into_response();
    let h: &mut HeaderMap = resp.headers_mut();
    h.insert(
        header::LOCATION,
        value(&format!("/v2/{repo}/blobs/uploads/{}", s.id)),
    );
    h.insert(header::RANGE, upload_range(s.offset));
    h.insert(DOCKER_UPLOAD_UUID, value(s.id.as_str()));
    h.insert(header::CONTENT_LENGTH, value("0"));
    h.insert(OCI_CHUNK_MIN_LENGTH, value(&s.min_chunk_length.to_string()));
    resp
}

fn created(repo: &RepositoryName, info: &BlobInfo) -> Response {
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        value(&format!("/v2/{repo}/blobs/{}", info.digest)),
    );
    h.insert(DOCKER_CONTENT_DIGEST, value(info.digest.as_str()));
    h.insert(header::CONTENT_LENGTH, value("0"));
    resp
}

pub(super) async fn post(
    reg: &Registry,
    metrics: &Metrics,
    repo: &RepositoryName,
    parts: &Parts,
    body: Body,
    mount_allowed: bool,
) -> ApiResult {
    let q = query(&parts.uri);
    // A mount the caller may not make falls back to a plain upload, as the spec allows.
    if let Some(mount) = param(&q, "mount").filter(|_| mount_allowed) {
        let digest = Digest::parse(mount)?;
        let from = param(&q, "from")
            .filter(|f| !f.is_empty())
            .map(RepositoryName::parse)
            .transpose()?;
        return Ok(match reg.mount_blob(repo, &digest, from.as_ref()).await? {
            Mount::Mounted(info) => created(repo, &info),
            Mount::Started(s) => upload_response(repo, StatusCode::ACCEPTED, &s),
        });
    }
    if let Some(digest) = param(&q, "digest") {
        let digest = Digest::parse(digest)?;
        let len = content_length(&parts.headers)?;
        let info = reg
            .upload_blob(repo, &digest, len, stream(metrics, body))
            .await?;
        return Ok(created(repo, &info));
    }
    let s = reg.start_upload(repo).await?;
    Ok(upload_response(repo, StatusCode::ACCEPTED, &s))
}

/// `Content-Range` and `Content-Length` of a PATCH or PUT.
fn chunk_headers(parts: &Parts) -> Result<(Option<ChunkRange>, Option<u64>), Error> {
    let chunk = text(&parts.headers, header::CONTENT_RANGE)
        .map(parse_content_range)
        .transpose()?;
    Ok((chunk, content_length(&parts.headers)?))
}

pub(super) async fn status(reg: &Registry, repo: &RepositoryName, id: &str) -> ApiResult {
    let s = reg.upload_status(repo, id).await?;
    Ok(upload_response(repo, StatusCode::NO_CONTENT, &s))
}

pub(super) async fn patch(
    reg: &Registry,
    metrics: &Metrics,
    repo: &RepositoryName,
    id: &str,
    parts: &Parts,
    body: Body,
) -> ApiResult {
    let (chunk, len) = chunk_headers(parts)?;
    let s = reg
        .patch_upload(repo, id, chunk, len, stream(metrics, body))
        .await?;
    Ok(upload_response(repo, StatusCode::ACCEPTED, &s))
}

pub(super) async fn put(
    reg: &Registry,
    metrics: &Metrics,
    repo: &RepositoryName,
    id: &str,
    parts: &Parts,
    body: Body,
) -> ApiResult {
    let q = query(&parts.uri);
    let digest = param(&q, "digest").ok_or_else(|| {
        Error::DigestInvalid("the digest query parameter is required to complete an upload".into())
    })?;
    let digest = Digest::parse(digest)?;
    let (chunk, len) = chunk_headers(parts)?;
    let info = reg
        .complete_upload(repo, id, &digest, chunk, len, stream(metrics, body))
        .await?;
    Ok(created(repo, &info))
}

pub(super) async fn delete(reg: &Registry, repo: &RepositoryName, id: &str) -> ApiResult {
    reg.cancel_upload(repo, id).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::CONTENT_LENGTH, value("0"))],
    )
        .into_response())
}
