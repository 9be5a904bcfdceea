//! Artifacts and tags as the REST API manages them: listing, reading (with the image
//! config's attributes), deleting with accessories and index children, copying between
//! repositories without moving bytes, tag management, and per-manifest pull times.

use futures::StreamExt;
use serde_json::{Map, Value};

use super::Registry;
use super::blobs::{BlobRead, Mount};
use crate::artifact::{
    AccessoryRecord, ArtifactQuery, ArtifactRecord, IndexChild, TagRecord, build_history,
    children_of, config_of, extra_attrs, kind_of, media_type_of,
};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::events::{DomainEvent, NewEvent};
use crate::identity::{Match, Page};
use crate::manifest::{self, DOCKER_MANIFEST, OCI_MANIFEST};
use crate::names::{Reference, RepositoryName, Tag};

/// The largest image config read for `extra_attrs` and `build_history`.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// An artifact with what the REST API shows beside its record.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// The stored record.
    pub record: ArtifactRecord,
    /// Harbor's type (`IMAGE`, `CHART`, `SIGNATURE`, ...).
    pub kind: String,
    /// Harbor's `media_type` (the config media type of an image manifest).
    pub media_type: String,
    /// Its tags (when asked for).
    pub tags: Vec<TagRecord>,
    /// Its accessories (when asked for).
    pub accessories: Vec<AccessoryRecord>,
    /// The children of an index.
    pub children: Vec<IndexChild>,
    /// Attributes from the image config (only when reading one artifact).
    pub extra_attrs: Option<Map<String, Value>>,
}

/// What parts of an artifact to gather.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArtifactOptions {
    /// Its tags.
    pub with_tags: bool,
    /// Its accessories.
    pub with_accessories: bool,
    /// Its `extra_attrs` (reads the image config).
    pub with_extra_attrs: bool,
}

/// Outcome of an artifact delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtifactDeletion {
    /// The artifact, its tags, accessories and unshared untagged children are gone.
    Deleted,
    /// The artifact is a child of an index in the repository and was kept.
    ReferencedByIndex,
}

fn not_found(repo: &RepositoryName, reference: &Reference) -> Error {
    let sep = if matches!(reference, Reference::Digest(_)) {
        '@'
    } else {
        ':'
    };
    Error::NotFound(format!("artifact {repo}{sep}{reference} not found"))
}

impl Registry {
    fn view(&self, record: ArtifactRecord) -> Artifact {
        let kind = self.kind_of_record(&record);
        let media_type = media_type_of(&record.manifest_media_type, &record.content);
        let children = children_of(&record.content);
        Artifact {
            record,
            kind,
            media_type,
            tags: Vec::new(),
            accessories: Vec::new(),
            children,
            extra_attrs: None,
        }
    }

    fn kind_of_record(&self, r: &ArtifactRecord) -> String {
        kind_of(&r.manifest_media_type, r.artifact_type.as_deref())
    }

    /// Fills tags and accessories of `list`, and the ids of index children, with one
    /// query each.
    async fn decorate(&self, list: &mut [Artifact], opts: ArtifactOptions) -> Result<()> {
        if list.is_empty() {
            return Ok(());
        }
        let children: Vec<Digest> = list
            .iter()
            .flat_map(|a| a.children.iter().map(|c| c.digest.clone()))
            .collect();
        if !children.is_empty() {
            let repo_id = list[0].record.repository_id;
            let ids: std::collections::HashMap<Digest, i64> = self
                .meta
                .manifest_ids(repo_id, &children)
                .await?
                .into_iter()
                .collect();
            for c in list.iter_mut().flat_map(|a| a.children.iter_mut()) {
                c.id = ids.get(&c.digest).copied();
            }
        }
        if opts.with_tags {
            let ids: Vec<i64> = list.iter().map(|a| a.record.id).collect();
            for t in self.meta.artifact_tags(&ids).await? {
                if let Some(a) = list.iter_mut().find(|a| a.record.id == t.artifact_id) {
                    a.tags.push(t);
                }
            }
        }
        if opts.with_accessories {
            let subjects: Vec<(i64, Digest)> = list
                .iter()
                .map(|a| (a.record.id, a.record.digest.clone()))
                .collect();
            let repo_id = list[0].record.repository_id;
            for acc in self.meta.accessories(repo_id, &subjects).await? {
                if let Some(a) = list
                    .iter_mut()
                    .find(|a| a.record.id == acc.subject_artifact_id)
                {
                    a.accessories.push(acc);
                }
            }
        }
        Ok(())
    }

    /// One page of a repository's top-level artifacts, and the number of matches.
    /// Accessories and untagged index children are not listed; tags come from one query
    /// for the whole page (and accessories, when asked for, from one more).
    pub async fn list_artifacts(
        &self,
        repo: &RepositoryName,
        query: &ArtifactQuery,
        page: Page,
        opts: ArtifactOptions,
    ) -> Result<(Vec<Artifact>, u64)> {
        let (records, total) = self.meta.artifacts(repo, query, page).await?;
        let mut list: Vec<Artifact> = records.into_iter().map(|r| self.view(r)).collect();
        self.decorate(&mut list, opts).await?;
        Ok((list, total))
    }

    async fn record(&self, repo: &RepositoryName, reference: &str) -> Result<ArtifactRecord> {
        let reference = Reference::parse(reference).map_err(|e| match e {
            Error::Internal(_) => e,
            other => Error::Invalid(other.to_string()),
        })?;
        self.meta
            .artifact(repo, &reference)
            .await?
            .ok_or_else(|| not_found(repo, &reference))
    }

    /// One artifact by tag or digest; [`Error::NotFound`] if there is none.
    pub async fn artifact(
        &self,
        repo: &RepositoryName,
        reference: &str,
        opts: ArtifactOptions,
    ) -> Result<Artifact> {
        let record = self.record(repo, reference).await?;
        let mut a = [self.view(record)];
        self.decorate(&mut a, opts).await?;
        let [mut a] = a;
        if opts.with_extra_attrs && a.kind != "UNKNOWN" {
            let config = self.image_config(repo, &a.record).await?;
            a.extra_attrs = config.and_then(|c| {
                if a.kind == "IMAGE" {
                    extra_attrs(&c)
                } else {
                    // As Harbor's default and chart processors: the whole config.
                    serde_json::from_slice::<Value>(&c)
                        .ok()
                        .and_then(|v| v.as_object().cloned())
                }
            });
        }
        Ok(a)
    }

    /// The config blob of an image manifest, if it is stored and at most
    /// [`MAX_CONFIG_BYTES`] long.
    async fn image_config(
        &self,
        repo: &RepositoryName,
        r: &ArtifactRecord,
    ) -> Result<Option<Vec<u8>>> {
        if r.manifest_media_type != OCI_MANIFEST && r.manifest_media_type != DOCKER_MANIFEST {
            return Ok(None);
        }
        let Some((digest, _, _)) = config_of(&r.content) else {
            return Ok(None);
        };
        let Some(size) = self.meta.repository_blob(repo, &digest).await? else {
            return Ok(None);
        };
        if size > MAX_CONFIG_BYTES {
            return Ok(None);
        }
        let mut stream = match self.blobs.read(&digest, 0..size).await {
            Ok(s) => s,
            Err(Error::BlobUnknown(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut out = Vec::with_capacity(size as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(Error::internal)?;
            if out.len() as u64 + chunk.len() as u64 > MAX_CONFIG_BYTES {
                return Ok(None);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Some(out))
    }

    /// The `build_history` addition: the image config's `history` array;
    /// [`Error::NotFound`] for artifacts without one.
    pub async fn build_history(&self, repo: &RepositoryName, reference: &str) -> Result<Value> {
        let record = self.record(repo, reference).await?;
        self.image_config(repo, &record)
            .await?
            .and_then(|c| build_history(&c))
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "artifact {repo}@{} has no build history",
                    record.digest
                ))
            })
    }

    /// The `sbom` addition of an SBOM artifact (config media type
    /// `application/vnd.goharbor.harbor.sbom.v1`, or artifact type
    /// `application/spdx+json`): its first layer, the document, to stream.
    /// [`Error::NotFound`] for other artifacts.
    pub async fn sbom_document(&self, repo: &RepositoryName, reference: &str) -> Result<BlobRead> {
        let record = self.record(repo, reference).await?;
        let none = || {
            Error::NotFound(format!(
                "artifact {repo}@{} is not an SBOM: it has no sbom addition",
                record.digest
            ))
        };
        let parsed: Value = serde_json::from_slice(&record.content).map_err(|_| none())?;
        let config_type = parsed
            .pointer("/config/mediaType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let sbom = config_type == crate::artifact::HARBOR_SBOM
            || record.artifact_type.as_deref() == Some("application/spdx+json");
        let layer = parsed
            .pointer("/layers/0/digest")
            .and_then(Value::as_str)
            .and_then(|d| Digest::parse(d).ok());
        match (sbom, layer) {
            (true, Some(layer)) => self.read_blob(repo, &layer, None).await,
            _ => Err(none()),
        }
    }

    /// The accessories of an artifact.
    pub async fn artifact_accessories(
        &self,
        repo: &RepositoryName,
        reference: &str,
    ) -> Result<Vec<AccessoryRecord>> {
        let r = self.record(repo, reference).await?;
        self.meta
            .accessories(r.repository_id, &[(r.id, r.digest.clone())])
            .await
    }

    /// Deletes an artifact with its tags and accessories, and its index children that
    /// are neither tagged nor listed by another index, through the same manifest delete
    /// as `/v2/`. An artifact that is itself the child of an index is kept.
    pub async fn delete_artifact(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
    ) -> Result<ArtifactDeletion> {
        let root = self.record(repo, reference).await?;
        if !self
            .meta
            .manifest_parents(repo, &root.digest)
            .await?
            .is_empty()
        {
            return Ok(ArtifactDeletion::ReferencedByIndex);
        }
        let mut queue = vec![root];
        while let Some(r) = queue.pop() {
            let accessories = self
                .meta
                .accessories(r.repository_id, &[(r.id, r.digest.clone())])
                .await?;
            // The artifact first: if it may not go (an immutable tag), nothing goes.
            self.delete_quietly(by, repo, &r.digest).await?;
            // Accessories go with their own accessories (a signature of an SBOM).
            for acc in accessories {
                if let Some(a) = self
                    .meta
                    .artifact(repo, &Reference::Digest(acc.digest.clone()))
                    .await?
                {
                    queue.push(a);
                }
            }
            for child in children_of(&r.content) {
                let Some(c) = self
                    .meta
                    .artifact(repo, &Reference::Digest(child.digest.clone()))
                    .await?
                else {
                    continue;
                };
                let tagged = !self.meta.artifact_tags(&[c.id]).await?.is_empty();
                let shared = !self
                    .meta
                    .manifest_parents(repo, &c.digest)
                    .await?
                    .is_empty();
                if !tagged && !shared {
                    queue.push(c);
                }
            }
        }
        Ok(ArtifactDeletion::Deleted)
    }

    /// Deletes a manifest by digest; one already gone is not an error.
    async fn delete_quietly(&self, by: &str, repo: &RepositoryName, digest: &Digest) -> Result<()> {
        match self.delete_manifest(by, repo, digest.as_str()).await {
            Ok(()) | Err(Error::ManifestUnknown(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Copies an artifact (with its index children and accessories, and the tags of the
    /// artifact itself) from `src` into `dst` without moving bytes: blobs are mounted and
    /// manifests pushed through the same operations as a client push. Returns its digest.
    pub async fn copy_artifact(
        &self,
        by: &str,
        src: &RepositoryName,
        reference: &str,
        dst: &RepositoryName,
    ) -> Result<Digest> {
        let root = self.record(src, reference).await?;
        let tags: Vec<String> = self
            .meta
            .artifact_tags(&[root.id])
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let accessories = self
            .meta
            .accessories(root.repository_id, &[(root.id, root.digest.clone())])
            .await?;
        self.copy_manifest(by, src, dst, &root, &tags).await?;
        for acc in accessories {
            let Some(a) = self
                .meta
                .artifact(src, &Reference::Digest(acc.digest.clone()))
                .await?
            else {
                continue;
            };
            let tags: Vec<String> = self
                .meta
                .artifact_tags(&[a.id])
                .await?
                .into_iter()
                .map(|t| t.name)
                .collect();
            self.copy_manifest(by, src, dst, &a, &tags).await?;
        }
        Ok(root.digest)
    }

    /// Copies one manifest (children first) with its blobs. All or nothing: when a step
    /// fails (a quota refusing a blob, say), the blob links this copy made are undone, so
    /// the target is charged only for what it keeps.
    async fn copy_manifest(
        &self,
        by: &str,
        src: &RepositoryName,
        dst: &RepositoryName,
        r: &ArtifactRecord,
        tags: &[String],
    ) -> Result<()> {
        let mut linked = Vec::new();
        let out = self
            .copy_manifest_linking(by, src, dst, r, tags, &mut linked)
            .await;
        if out.is_err() {
            for d in &linked {
                if let Err(e) = self.meta.unlink_blob(dst, d).await {
                    tracing::warn!(error = %e, repo = %dst, digest = %d, "cannot undo a blob link of a failed copy");
                }
            }
        }
        out
    }

    async fn copy_manifest_linking(
        &self,
        by: &str,
        src: &RepositoryName,
        dst: &RepositoryName,
        r: &ArtifactRecord,
        tags: &[String],
        linked: &mut Vec<Digest>,
    ) -> Result<()> {
        // Children first, so the index finds them.
        let mut stack: Vec<ArtifactRecord> = Vec::new();
        let mut pending: Vec<ArtifactRecord> = vec![r.clone()];
        while let Some(m) = pending.pop() {
            for child in children_of(&m.content) {
                let exists = self
                    .meta
                    .artifact(dst, &Reference::Digest(child.digest.clone()))
                    .await?
                    .is_some();
                if exists {
                    continue;
                }
                let c = self
                    .meta
                    .artifact(src, &Reference::Digest(child.digest.clone()))
                    .await?
                    .ok_or_else(|| Error::ManifestBlobUnknown(child.digest.clone()))?;
                pending.push(c);
            }
            stack.push(m);
        }
        while let Some(m) = stack.pop() {
            let parsed = manifest::parse(Some(&m.manifest_media_type), &m.content)?;
            for b in parsed.blobs.iter().filter(|b| b.distributable) {
                let digest = &b.descriptor.digest;
                let had = self.meta.repository_blob(dst, digest).await?.is_some();
                let mounted = self.mount_blob(dst, digest, Some(src)).await?;
                if !had && matches!(mounted, Mount::Mounted(_)) {
                    linked.push(digest.clone());
                }
                if let Mount::Started(upload) = mounted {
                    let _ = self.cancel_upload(dst, upload.id.as_str()).await;
                    return Err(Error::ManifestBlobUnknown(digest.clone()));
                }
            }
            let tags: &[String] = if m.id == r.id { tags } else { &[] };
            self.put_manifest(
                by,
                dst,
                m.digest.as_str(),
                Some(&m.manifest_media_type),
                m.content.clone(),
                tags,
            )
            .await?;
        }
        Ok(())
    }

    /// One page of an artifact's tags, optionally filtered by name, and the total.
    pub async fn list_artifact_tags(
        &self,
        repo: &RepositoryName,
        reference: &str,
        name: Option<&Match>,
        page: Page,
    ) -> Result<(Vec<TagRecord>, u64)> {
        let r = self.record(repo, reference).await?;
        self.meta.artifact_tag_page(r.id, name, page).await
    }

    /// Adds a tag to an artifact; [`Error::Conflict`] if the repository has that tag
    /// already (on this artifact or another), as in Harbor.
    pub async fn create_artifact_tag(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
        tag: &str,
    ) -> Result<()> {
        let tag = Tag::parse(tag).map_err(|e| Error::Invalid(e.to_string()))?;
        let r = self.record(repo, reference).await?;
        let e = NewEvent::now(
            by,
            DomainEvent::TagCreated {
                repository: repo.to_string(),
                tag: tag.to_string(),
                digest: r.digest.to_string(),
            },
        );
        self.meta
            .create_tag_emitting(repo, r.id, &tag, &[e])
            .await?;
        self.signal.written();
        Ok(())
    }

    /// Removes a tag from an artifact; [`Error::NotFound`] unless the tag is attached to
    /// that artifact.
    pub async fn delete_artifact_tag(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
        tag: &str,
    ) -> Result<()> {
        let r = self.record(repo, reference).await?;
        let attached = self
            .meta
            .artifact_tags(&[r.id])
            .await?
            .into_iter()
            .any(|t| t.name == tag);
        let parsed = Tag::parse(tag).ok().filter(|_| attached).ok_or_else(|| {
            Error::NotFound(format!(
                "tag {tag} attached to artifact {} not found",
                r.digest
            ))
        })?;
        // Through the registry's tag delete, so its rules (immutability) apply.
        match self.delete_manifest(by, repo, parsed.as_str()).await {
            Err(Error::ManifestUnknown(_)) => Err(Error::NotFound(format!("tag {tag} not found"))),
            other => other,
        }
    }

    /// Counts a manifest pull of `repo` by `by`, records the pull time of the manifest
    /// `digest` (and of the tag, when `reference` is one) and an
    /// [`ArtifactPulled`](DomainEvent::ArtifactPulled) event. Never waits for the
    /// database: all of it is written with the next batch of pull counts.
    pub fn record_manifest_pull(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
        digest: &str,
    ) {
        let Ok(digest) = Digest::parse(digest) else {
            return self.pulls.record(repo);
        };
        let tag = match Reference::parse(reference) {
            Ok(Reference::Tag(t)) => Some(t),
            _ => None,
        };
        let event = NewEvent::now(
            by,
            DomainEvent::ArtifactPulled {
                repository: repo.to_string(),
                digest: digest.to_string(),
                tag: tag.as_ref().map(|t| t.to_string()),
            },
        );
        self.pulls
            .record_manifest(repo, Some(&digest), tag.as_ref(), event);
    }
}
