//! Tag lists, the catalog and the referrers API.

use serde::Serialize;

use super::Registry;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::OCI_INDEX;
use crate::model::Referrer;
use crate::names::RepositoryName;

/// One page of a sorted listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The entries, in lexical order.
    pub items: Vec<String>,
    /// The page size used, if more entries follow (the `n` of the next page).
    pub next: Option<usize>,
}

/// The referrers of a manifest, as an OCI image index.
#[derive(Clone, Debug)]
pub struct Referrers {
    /// The referrer descriptors.
    pub descriptors: Vec<Referrer>,
    /// Whether the `artifactType` filter was applied.
    pub filtered_by_artifact_type: bool,
}

#[derive(Serialize)]
struct IndexBody<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    manifests: &'a [Referrer],
}

impl Referrers {
    /// The OCI image index listing the referrers.
    pub fn to_index_json(&self) -> Vec<u8> {
        serde_json::to_vec(&IndexBody {
            schema_version: 2,
            media_type: OCI_INDEX,
            manifests: &self.descriptors,
        })
        .unwrap_or_default()
    }
}

impl Registry {
    fn page_limit(&self, n: Option<usize>) -> usize {
        n.unwrap_or(self.config.max_page_size)
            .min(self.config.max_page_size)
    }

    fn page(mut items: Vec<String>, limit: usize) -> Page {
        let more = items.len() > limit;
        items.truncate(limit);
        Page {
            items,
            next: (more && limit > 0).then_some(limit),
        }
    }

    /// Tags of a repository, sorted, after `last` (exclusive), at most `n`.
    pub async fn tags(
        &self,
        repo: &RepositoryName,
        last: Option<&str>,
        n: Option<usize>,
    ) -> Result<Page> {
        let limit = self.page_limit(n);
        let items = self
            .meta
            .tags(repo, last, limit.saturating_add(1))
            .await?
            .ok_or_else(|| Error::NameUnknown(repo.to_string()))?;
        Ok(Self::page(items, limit))
    }

    /// Repository names, sorted, after `last` (exclusive), at most `n`.
    pub async fn catalog(&self, last: Option<&str>, n: Option<usize>) -> Result<Page> {
        let limit = self.page_limit(n);
        let items = self
            .meta
            .repositories(last, limit.saturating_add(1))
            .await?;
        Ok(Self::page(items, limit))
    }

    /// Manifests of `repo` whose `subject` is `digest`, including ones pushed before the
    /// subject itself, optionally filtered by artifact type.
    pub async fn referrers(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers> {
        let artifact_type = artifact_type.filter(|t| !t.is_empty());
        let descriptors = self.meta.referrers(repo, digest, artifact_type).await?;
        Ok(Referrers {
            descriptors,
            filtered_by_artifact_type: artifact_type.is_some(),
        })
    }
}
