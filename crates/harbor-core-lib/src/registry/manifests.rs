//! Manifest push, pull and delete.

use bytes::Bytes;

use super::Registry;
use crate::digest::{Algorithm, Digest};
use crate::error::{Error, Result};
use crate::events::{DomainEvent, NewEvent};
use crate::manifest;
use crate::model::{NewManifest, StoredManifest};
use crate::names::{Reference, RepositoryName, Tag};

/// Most `?tag=` values one manifest push may carry. Each is answered with an `OCI-Tag`
/// header, and common HTTP clients refuse a response with more than 100 headers.
pub const MAX_TAGS_PER_PUSH: usize = 64;

/// What a manifest push recorded.
#[derive(Clone, Debug)]
pub struct PushedManifest {
    /// The manifest's digest.
    pub digest: Digest,
    /// Its subject, if it has one (answered as `OCI-Subject`).
    pub subject: Option<Digest>,
    /// The tags now pointing at it.
    pub tags: Vec<Tag>,
}

impl Registry {
    /// Pushes a manifest under a tag or digest reference, plus any extra `tags`
    /// (`PUT /manifests/<digest>?tag=...`). The bytes are stored verbatim. Moving an
    /// immutable tag to another manifest fails with [`Error::Precondition`]. `by` (the
    /// acting principal's name) is recorded with the
    /// [`ArtifactPushed`](DomainEvent::ArtifactPushed) event.
    pub async fn put_manifest(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
        content_type: Option<&str>,
        body: Bytes,
        extra_tags: &[String],
    ) -> Result<PushedManifest> {
        self.record_manifest(by, repo, reference, content_type, body, extra_tags, false)
            .await
    }

    /// Records a manifest a proxy-cache project fetched from its upstream, under a tag or
    /// its digest, as [`Registry::put_manifest`] does (quota, immutability, the
    /// `ArtifactPushed` event), except that an index is recorded before its children: each
    /// child is cached when a client pulls it, so a single-platform pull does not fetch
    /// every platform.
    pub async fn cache_manifest(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<PushedManifest> {
        self.record_manifest(by, repo, reference, content_type, body, &[], true)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_manifest(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
        content_type: Option<&str>,
        body: Bytes,
        extra_tags: &[String],
        children_pending: bool,
    ) -> Result<PushedManifest> {
        let reference = Reference::parse(reference)?;
        if extra_tags.len() > MAX_TAGS_PER_PUSH {
            return Err(Error::TagInvalid(format!(
                "{} tags in one push: at most {MAX_TAGS_PER_PUSH} are accepted",
                extra_tags.len()
            )));
        }
        let mut tags = extra_tags
            .iter()
            .map(|t| Tag::parse(t))
            .collect::<Result<Vec<_>>>()?;
        if body.len() > self.config.max_manifest_bytes {
            return Err(Error::ManifestTooLarge {
                limit: self.config.max_manifest_bytes,
            });
        }
        let parsed = manifest::parse(content_type, &body)?;
        let digest = match &reference {
            Reference::Digest(expected) => {
                let actual = Digest::of(expected.algorithm(), &body);
                if &actual != expected {
                    return Err(Error::DigestMismatch {
                        expected: expected.clone(),
                        actual,
                    });
                }
                actual
            }
            Reference::Tag(tag) => {
                tags.insert(0, tag.clone());
                Digest::of(Algorithm::Sha256, &body)
            }
        };
        tags.sort();
        tags.dedup();
        let mut blobs: Vec<Digest> = parsed
            .blobs
            .iter()
            .filter(|b| b.distributable)
            .map(|b| b.descriptor.digest.clone())
            .collect();
        blobs.sort();
        blobs.dedup();
        let mut manifests: Vec<Digest> =
            parsed.manifests.iter().map(|m| m.digest.clone()).collect();
        manifests.sort();
        manifests.dedup();
        let subject = parsed.subject.map(|s| s.digest);
        let event = NewEvent::now(
            by,
            DomainEvent::ArtifactPushed {
                repository: repo.to_string(),
                digest: digest.to_string(),
                media_type: parsed.media_type.clone(),
                size: body.len() as u64,
                tags: tags.iter().map(|t| t.to_string()).collect(),
            },
        );
        let record = NewManifest {
            digest: digest.clone(),
            media_type: parsed.media_type,
            artifact_type: parsed.artifact_type,
            subject: subject.clone(),
            annotations: parsed.annotations,
            content: body,
            blobs,
            manifests,
            children_pending,
        };
        self.check_tag_moves(repo, &digest, &tags).await?;
        let put = self
            .meta
            .put_manifest_emitting(repo, &record, &tags, std::slice::from_ref(&event))
            .await;
        if let Err(Error::QuotaExceeded(message)) = &put {
            // The push was refused and rolled back; the refusal is an event of its own.
            let refused = DomainEvent::QuotaExceeded {
                repository: repo.to_string(),
                message: message.clone(),
            };
            self.record_event(by, refused).await;
        }
        put?;
        self.signal.written();
        Ok(PushedManifest {
            digest,
            subject,
            tags,
        })
    }

    /// Fetches a manifest by tag or digest.
    pub async fn get_manifest(
        &self,
        repo: &RepositoryName,
        reference: &str,
    ) -> Result<StoredManifest> {
        let reference = Reference::parse(reference)?;
        self.meta
            .manifest(repo, &reference)
            .await?
            .ok_or_else(|| Error::ManifestUnknown(format!("{repo}:{reference}")))
    }

    /// Deletes a manifest by digest (with all its tags) or only a tag, on behalf of `by`;
    /// fails with [`Error::Precondition`] if an immutable tag would go.
    pub async fn delete_manifest(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
    ) -> Result<()> {
        let reference = Reference::parse(reference)?;
        self.check_delete(repo, &reference).await?;
        // Pulls waiting for their batch are written first, so that no pull event comes
        // after the delete of what was pulled.
        self.pulls.flush().await;
        let repository = repo.to_string();
        let existed = match &reference {
            Reference::Digest(d) => {
                let digest = d.to_string();
                let e = NewEvent::now(by, DomainEvent::ArtifactDeleted { repository, digest });
                self.meta.delete_manifest_emitting(repo, d, &[e]).await?
            }
            Reference::Tag(t) => {
                let tag = t.to_string();
                let e = NewEvent::now(by, DomainEvent::TagDeleted { repository, tag });
                self.meta.delete_tag_emitting(repo, t, &[e]).await?
            }
        };
        if existed {
            self.signal.written();
            Ok(())
        } else {
            Err(Error::ManifestUnknown(format!("{repo}:{reference}")))
        }
    }
}
