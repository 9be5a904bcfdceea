//! [`RegistryEnd`]: what the copy engine needs from a source or a destination, and its
//! implementation for [`Client`].

use async_trait::async_trait;
use harbor_core::manifest::Descriptor;
use harbor_core::{Digest, Reference, RepositoryName};

use crate::client::{Client, Manifest, Referrer};
use crate::error::Result;
use crate::stream::{BlobStream, ByteStream};

/// One side of a copy: a remote registry ([`Client`]) or, later, the local registry.
/// Object-safe; errors are this crate's [`crate::Error`].
#[async_trait]
pub trait RegistryEnd: Send + Sync {
    /// The manifest's descriptor, or `None` if it is absent.
    async fn head_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<Descriptor>>;
    /// The manifest's exact bytes, media type and digest.
    async fn get_manifest(&self, repo: &RepositoryName, reference: &Reference) -> Result<Manifest>;
    /// Stores a manifest under a tag or its digest; returns its digest.
    async fn put_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
        manifest: &Manifest,
    ) -> Result<Digest>;
    /// The blob's size if the repository has it.
    async fn blob_exists(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>>;
    /// The blob's bytes, verified against its digest as they stream.
    async fn get_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<BlobStream>;
    /// Stores a blob from a stream of `size` bytes (sent once; not retried here).
    async fn push_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
    ) -> Result<()>;
    /// Links a blob that `from` holds into `repo`; `false` if that was not possible.
    async fn mount_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        from: &RepositoryName,
    ) -> Result<bool>;
    /// The manifests referring to `subject`.
    async fn referrers(&self, repo: &RepositoryName, subject: &Digest) -> Result<Vec<Referrer>>;
}

#[async_trait]
impl RegistryEnd for Client {
    async fn head_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<Descriptor>> {
        Client::head_manifest(self, repo, reference).await
    }

    async fn get_manifest(&self, repo: &RepositoryName, reference: &Reference) -> Result<Manifest> {
        Client::get_manifest(self, repo, reference).await
    }

    async fn put_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
        manifest: &Manifest,
    ) -> Result<Digest> {
        Client::put_manifest(
            self,
            repo,
            reference,
            manifest.bytes.clone(),
            &manifest.media_type,
        )
        .await
    }

    async fn blob_exists(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>> {
        Client::blob_exists(self, repo, digest).await
    }

    async fn get_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<BlobStream> {
        Client::get_blob(self, repo, digest).await
    }

    async fn push_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
    ) -> Result<()> {
        Client::push_blob(self, repo, digest, size, body).await
    }

    async fn mount_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        from: &RepositoryName,
    ) -> Result<bool> {
        Client::mount_blob(self, repo, digest, from).await
    }

    async fn referrers(&self, repo: &RepositoryName, subject: &Digest) -> Result<Vec<Referrer>> {
        Client::referrers(self, repo, subject).await
    }
}
