//! This registry as one end of a copy: `harbor_remote::RegistryEnd` over the
//! [`Registry`] service, without HTTP. Pushes go through the same upload, mount and
//! manifest operations as `/v2/` (digests verified, quotas charged, immutability rules
//! and events applied), as `actor`.

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use harbor_core::manifest::Descriptor;
use harbor_core::registry::Mount;
use harbor_core::{Digest, Error as CoreError, Reference, Registry, RepositoryName};
use harbor_remote::{BlobStream, ByteStream, Error, Manifest, Referrer, RegistryEnd, Result};

/// This registry, acting as `actor` (recorded with the events of what it writes).
pub struct LocalEnd {
    registry: Registry,
    actor: String,
}

impl LocalEnd {
    /// The local end over `registry`.
    pub fn new(registry: Registry, actor: impl Into<String>) -> Self {
        LocalEnd {
            registry,
            actor: actor.into(),
        }
    }
}

/// A core error in the copy engine's terms, keeping what tells the user why.
fn map(e: CoreError) -> Error {
    match e {
        CoreError::NotFound(m) => Error::NotFound(m),
        CoreError::ManifestUnknown(m) => Error::NotFound(format!("manifest {m}")),
        CoreError::BlobUnknown(d) => Error::NotFound(format!("blob {d}")),
        CoreError::NameUnknown(m) => Error::NotFound(format!("repository {m}")),
        CoreError::QuotaExceeded(m) => Error::QuotaExceeded(m),
        CoreError::Precondition(m) | CoreError::Forbidden(m) => Error::Denied(m),
        CoreError::Unauthorized(m) => Error::Unauthorized(m),
        CoreError::DigestMismatch { expected, actual } => {
            Error::DigestMismatch { expected, actual }
        }
        CoreError::StorageFull(m) => Error::Registry {
            status: 507,
            code: None,
            message: format!("this registry's storage is full: {m}"),
        },
        CoreError::Internal(e) => Error::Registry {
            status: 500,
            code: None,
            message: format!("internal error of this registry: {e}"),
        },
        other => Error::InvalidInput(other.to_string()),
    }
}

#[async_trait]
impl RegistryEnd for LocalEnd {
    async fn head_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<Descriptor>> {
        match self
            .registry
            .get_manifest(repo, &reference.to_string())
            .await
        {
            Ok(m) => Ok(Some(Descriptor {
                media_type: m.media_type.clone(),
                digest: m.digest.clone(),
                size: m.content.len() as u64,
            })),
            Err(CoreError::ManifestUnknown(_) | CoreError::NameUnknown(_)) => Ok(None),
            Err(e) => Err(map(e)),
        }
    }

    async fn get_manifest(&self, repo: &RepositoryName, reference: &Reference) -> Result<Manifest> {
        let m = self
            .registry
            .get_manifest(repo, &reference.to_string())
            .await
            .map_err(map)?;
        Ok(Manifest {
            bytes: m.content.clone(),
            media_type: m.media_type.clone(),
            digest: m.digest.clone(),
        })
    }

    async fn put_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
        manifest: &Manifest,
    ) -> Result<Digest> {
        let pushed = self
            .registry
            .put_manifest(
                &self.actor,
                repo,
                &reference.to_string(),
                Some(&manifest.media_type),
                manifest.bytes.clone(),
                &[],
            )
            .await
            .map_err(map)?;
        Ok(pushed.digest)
    }

    async fn blob_exists(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>> {
        match self.registry.probe_blob(repo, digest).await {
            Ok(info) => Ok(Some(info.size)),
            Err(CoreError::BlobUnknown(_)) => Ok(None),
            Err(e) => Err(map(e)),
        }
    }

    async fn get_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<BlobStream> {
        let read = self
            .registry
            .read_blob(repo, digest, None)
            .await
            .map_err(map)?;
        let stream: ByteStream = read
            .body
            .map_err(|e| Error::Network(format!("reading a blob of this registry: {e}")))
            .boxed();
        Ok(BlobStream {
            size: read.info.size,
            stream,
        })
    }

    async fn push_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
    ) -> Result<()> {
        let body: harbor_core::ports::ByteStream = body
            .map_err(|e| std::io::Error::other(e.to_string()))
            .boxed();
        self.registry
            .upload_blob(repo, digest, Some(size), body)
            .await
            .map_err(map)?;
        Ok(())
    }

    async fn mount_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        from: &RepositoryName,
    ) -> Result<bool> {
        match self
            .registry
            .mount_blob(repo, digest, Some(from))
            .await
            .map_err(map)?
        {
            Mount::Mounted(_) => Ok(true),
            Mount::Started(upload) => {
                // The spec's fallback: an upload session we do not need.
                let _ = self
                    .registry
                    .cancel_upload(repo, &upload.id.to_string())
                    .await;
                Ok(false)
            }
        }
    }

    async fn referrers(&self, repo: &RepositoryName, subject: &Digest) -> Result<Vec<Referrer>> {
        let found = self
            .registry
            .referrers(repo, subject, None)
            .await
            .map_err(map)?;
        Ok(found
            .descriptors
            .into_iter()
            .map(|r| Referrer {
                descriptor: Descriptor {
                    media_type: r.media_type,
                    digest: r.digest,
                    size: r.size,
                },
                artifact_type: r.artifact_type,
                annotations: r.annotations,
            })
            .collect())
    }
}
