//! Listings: the catalog and tags (paginated through `Link` headers) and referrers (the
//! referrers API, or the referrers tag schema where the API answers 404).

use std::collections::{BTreeMap, HashSet};

use harbor_core::manifest::{Descriptor, OCI_INDEX};
use harbor_core::{Digest, Reference, RepositoryName};
use reqwest::header::{ACCEPT, LINK};
use reqwest::{Method, Response, StatusCode};
use serde::Deserialize;
use url::Url;

use super::Client;
use super::manifests::referrers_tag;
use super::response::read_limited;
use crate::auth::ScopeSet;
use crate::error::{Error, Result};

/// One page of a listing and the URL of the next, from the `Link` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Repository names or tags.
    pub items: Vec<String>,
    /// The next page's URL, if the registry announced one.
    pub next: Option<Url>,
}

/// A manifest that refers to a subject (a signature, an SBOM, an attestation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referrer {
    /// The referrer manifest.
    pub descriptor: Descriptor,
    /// Its artifact type.
    pub artifact_type: Option<String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct CatalogBody {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TagsBody {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct IndexBody {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// Pages followed at most, against a registry whose `Link` never ends.
const MAX_PAGES: usize = 100_000;

/// The `rel="next"` URL of a `Link` header, resolved against `base`.
fn next_link(resp: &Response) -> Option<Url> {
    let value = resp.headers().get(LINK)?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        if !is_next {
            return None;
        }
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        resp.url().join(target).ok()
    })
}

impl Client {
    /// One page of `/v2/_catalog` (`n` names after `last`).
    pub async fn catalog(&self, n: Option<u32>, last: Option<&str>) -> Result<Page> {
        let mut url = self.url("v2/_catalog")?;
        page_params(&mut url, n, last);
        self.catalog_page(url).await
    }

    /// Every repository in the catalog, following `Link` headers (`n` per page).
    pub async fn catalog_all(&self, n: Option<u32>) -> Result<Vec<String>> {
        let mut url = self.url("v2/_catalog")?;
        page_params(&mut url, n, None);
        let mut out = Vec::new();
        self.follow(url, &mut out, |c, u| Box::pin(c.catalog_page(u)))
            .await?;
        Ok(out)
    }

    async fn catalog_page(&self, url: Url) -> Result<Page> {
        let scopes: ScopeSet = ["registry:catalog:*".to_owned()].into();
        let what = "catalog".to_owned();
        let resp = self
            .send(self.req(Method::GET, url, scopes, what.clone()))
            .await?;
        if !resp.status().is_success() {
            return Err(self.error(resp, &what).await);
        }
        let next = next_link(&resp);
        let body = read_limited(resp, 64 * 1024 * 1024, &what).await?;
        let parsed: CatalogBody =
            serde_json::from_slice(&body).map_err(|e| Error::protocol(format!("catalog: {e}")))?;
        Ok(Page {
            items: parsed.repositories.unwrap_or_default(),
            next,
        })
    }

    /// One page of a repository's tags (`n` tags after `last`).
    pub async fn tags_page(
        &self,
        repo: &RepositoryName,
        n: Option<u32>,
        last: Option<&str>,
    ) -> Result<Page> {
        let mut url = self.repo_url(repo, "tags/list")?;
        page_params(&mut url, n, last);
        self.tags_at(repo, url).await
    }

    /// Every tag of a repository, following `Link` headers.
    pub async fn tags(&self, repo: &RepositoryName) -> Result<Vec<String>> {
        self.tags_paginated(repo, None).await
    }

    /// Every tag of a repository, asking for `n` per page and following `Link` headers.
    pub async fn tags_paginated(
        &self,
        repo: &RepositoryName,
        n: Option<u32>,
    ) -> Result<Vec<String>> {
        let mut url = self.repo_url(repo, "tags/list")?;
        page_params(&mut url, n, None);
        let mut out = Vec::new();
        let repo = repo.clone();
        self.follow(url, &mut out, move |c, u| {
            let repo = repo.clone();
            Box::pin(async move { c.tags_at(&repo, u).await })
        })
        .await?;
        Ok(out)
    }

    async fn tags_at(&self, repo: &RepositoryName, url: Url) -> Result<Page> {
        let what = format!("tags of {repo}");
        let resp = self
            .send(self.req(Method::GET, url, Self::pull_scope(repo), what.clone()))
            .await?;
        if !resp.status().is_success() {
            return Err(self.error(resp, &what).await);
        }
        let next = next_link(&resp);
        let body = read_limited(resp, 64 * 1024 * 1024, &what).await?;
        let parsed: TagsBody =
            serde_json::from_slice(&body).map_err(|e| Error::protocol(format!("{what}: {e}")))?;
        Ok(Page {
            items: parsed.tags.unwrap_or_default(),
            next,
        })
    }

    /// Collects pages from `first` while they announce a next one.
    async fn follow<F>(&self, first: Url, out: &mut Vec<String>, fetch: F) -> Result<()>
    where
        F: Fn(
            &Client,
            Url,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Page>> + Send + '_>>,
    {
        let mut seen = HashSet::new();
        let mut url = first;
        for _ in 0..MAX_PAGES {
            let page = fetch(self, url).await?;
            out.extend(page.items);
            match page.next {
                Some(next) if seen.insert(next.to_string()) => url = next,
                Some(next) => {
                    return Err(Error::protocol(format!("pagination loops back to {next}")));
                }
                None => return Ok(()),
            }
        }
        Err(Error::protocol(format!("more than {MAX_PAGES} pages")))
    }

    /// The manifests that refer to `subject`: from `GET /v2/<repo>/referrers/<digest>`,
    /// or, where that answers 404, from the index tagged `<alg>-<hex>`.
    pub async fn referrers(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
    ) -> Result<Vec<Referrer>> {
        let url = self.repo_url(repo, &format!("referrers/{subject}"))?;
        let what = format!("referrers of {repo}@{subject}");
        let req = self
            .req(Method::GET, url, Self::pull_scope(repo), what.clone())
            .header(ACCEPT, OCI_INDEX);
        let resp = self.send(req).await?;
        let body = match resp.status() {
            StatusCode::NOT_FOUND => {
                let tag = Reference::Tag(referrers_tag(subject)?);
                match self.get_manifest(repo, &tag).await {
                    Ok(m) => m.bytes,
                    Err(Error::NotFound(_)) => return Ok(Vec::new()),
                    Err(e) => return Err(e),
                }
            }
            s if s.is_success() => {
                read_limited(resp, self.options().max_manifest_size, &what).await?
            }
            _ => return Err(self.error(resp, &what).await),
        };
        let index: IndexBody =
            serde_json::from_slice(&body).map_err(|e| Error::protocol(format!("{what}: {e}")))?;
        index
            .manifests
            .into_iter()
            .map(|e| {
                Ok(Referrer {
                    descriptor: Descriptor {
                        media_type: e.media_type,
                        digest: Digest::parse(&e.digest)?,
                        size: e.size,
                    },
                    artifact_type: e.artifact_type,
                    annotations: e.annotations.unwrap_or_default(),
                })
            })
            .collect()
    }
}

fn page_params(url: &mut Url, n: Option<u32>, last: Option<&str>) {
    if n.is_none() && last.is_none() {
        return;
    }
    let mut q = url.query_pairs_mut();
    if let Some(n) = n {
        q.append_pair("n", &n.to_string());
    }
    if let Some(last) = last {
        q.append_pair("last", last);
    }
}
