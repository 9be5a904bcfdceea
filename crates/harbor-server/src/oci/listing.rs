//! Tag lists, the catalog and referrers.

use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use harbor_core::registry::Page;
use harbor_core::{Digest, Registry, RepositoryName};
use serde_json::json;

use super::ApiResult;
use super::headers::{OCI_FILTERS_APPLIED, encode, pagination, param, query, value};

fn paged(body: serde_json::Value, page: &Page, base: &str) -> Response {
    let mut resp = (
        [(header::CONTENT_TYPE, value("application/json"))],
        body.to_string(),
    )
        .into_response();
    if let (Some(n), Some(last)) = (page.next, page.items.last()) {
        let link = format!("<{base}?n={n}&last={}>; rel=\"next\"", encode(last));
        resp.headers_mut().insert(header::LINK, value(&link));
    }
    resp
}

pub(super) async fn tags(reg: &Registry, repo: &RepositoryName, parts: &Parts) -> ApiResult {
    let (n, last) = pagination(&query(&parts.uri))?;
    let page = reg.tags(repo, last.as_deref(), n).await?;
    let body = json!({ "name": repo.as_str(), "tags": page.items });
    Ok(paged(body, &page, &format!("/v2/{repo}/tags/list")))
}

pub(super) async fn catalog(reg: &Registry, parts: &Parts) -> ApiResult {
    let (n, last) = pagination(&query(&parts.uri))?;
    let page = reg.catalog(last.as_deref(), n).await?;
    let body = json!({ "repositories": page.items });
    Ok(paged(body, &page, "/v2/_catalog"))
}

pub(super) async fn referrers(
    reg: &Registry,
    repo: &RepositoryName,
    digest: &str,
    parts: &Parts,
) -> ApiResult {
    let digest = Digest::parse(digest)?;
    let q = query(&parts.uri);
    let found = reg
        .referrers(repo, &digest, param(&q, "artifactType"))
        .await?;
    let mut resp = (
        [(
            header::CONTENT_TYPE,
            value(harbor_core::manifest::OCI_INDEX),
        )],
        found.to_index_json(),
    )
        .into_response();
    if found.filtered_by_artifact_type {
        resp.headers_mut()
            .insert(OCI_FILTERS_APPLIED, value("artifactType"));
    }
    Ok(resp)
}
