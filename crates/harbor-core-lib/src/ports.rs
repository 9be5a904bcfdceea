//! The ports: what the registry needs from storage, as async traits.
//!
//! Adapters live in `harbor-storage`; the core only sees these traits.

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::digest::Digest;
use crate::error::Result;
use crate::model::{Claim, Lease, NewManifest, Referrer, StoredManifest, UploadId, UploadSession};
use crate::names::{Reference, RepositoryName, Tag};

/// A stream of byte chunks, as read from a request body or a stored blob.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Content-addressed blob storage with resumable upload staging.
///
/// Committed blobs are immutable and appear atomically. Upload data is staged under the
/// upload id and only becomes a blob through [`BlobStore::commit_upload`].
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Size of a committed blob, or `None` if it is not stored.
    async fn size(&self, digest: &Digest) -> Result<Option<u64>>;

    /// Streams `range` of a committed blob; the range has been checked against its size.
    /// A missing blob is [`crate::Error::BlobUnknown`].
    async fn read(&self, digest: &Digest, range: Range<u64>) -> Result<ByteStream>;

    /// Removes a committed blob. Removing a missing blob is not an error.
    async fn delete(&self, digest: &Digest) -> Result<()>;

    /// Opens the staging area of an upload for appending at `offset`, which is the number
    /// of bytes accepted so far; anything staged past it (left by a failed request) is
    /// discarded. `state` is what the last [`UploadWriter::finish`] returned ("" at first).
    async fn open_upload(
        &self,
        id: &UploadId,
        state: &str,
        offset: u64,
    ) -> Result<Box<dyn UploadWriter>>;

    /// Ends appends to an upload holding `len` bytes and makes its bytes readable with
    /// [`BlobStore::read_upload`]; returns the new staging state. Stores whose staging is
    /// always readable return `state` unchanged.
    async fn seal_upload(&self, id: &UploadId, state: &str, len: u64) -> Result<String> {
        let _ = (id, len);
        Ok(state.to_owned())
    }

    /// Streams the `len` bytes of a sealed upload (used to verify digests whose algorithm
    /// differs from the one hashed while streaming).
    async fn read_upload(&self, id: &UploadId, state: &str, len: u64) -> Result<ByteStream>;

    /// Turns the `len` staged bytes of an upload (sealed or not) into the blob `digest`
    /// (already verified), atomically, and releases the staging area. Committing a blob
    /// that already exists succeeds.
    async fn commit_upload(
        &self,
        id: &UploadId,
        state: &str,
        len: u64,
        digest: &Digest,
    ) -> Result<()>;

    /// Discards an upload's staging area.
    async fn abort_upload(&self, id: &UploadId, state: &str) -> Result<()>;

    /// The smallest chunk the store handles well, advertised as `OCI-Chunk-Min-Length`.
    fn min_chunk_length(&self) -> u64 {
        0
    }
}

/// Appends bytes to an upload's staging area.
#[async_trait]
pub trait UploadWriter: Send {
    /// Appends a chunk.
    async fn write(&mut self, chunk: Bytes) -> Result<()>;

    /// Flushes everything written and returns the new staging state to persist.
    async fn finish(self: Box<Self>) -> Result<String>;

    /// Gives up: waits until no write is in flight any more (so a later
    /// [`BlobStore::open_upload`] cannot race with this writer) and discards the writer.
    async fn abort(self: Box<Self>);
}

/// Registry metadata: repositories, blob links, uploads, manifests and tags.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// Size of `digest` if it is linked to `repo`.
    async fn repository_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>>;

    /// Size of `digest` if any repository holds it.
    async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>>;

    /// Records a committed blob and links it to `repo` (creating the repository).
    async fn link_blob(&self, repo: &RepositoryName, digest: &Digest, size: u64) -> Result<()>;

    /// Removes the link between `repo` and `digest`; false if there was none.
    async fn unlink_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool>;

    /// Records a new upload session.
    async fn create_upload(&self, session: &UploadSession) -> Result<()>;

    /// Reads an upload session of `repo`.
    async fn upload(&self, repo: &RepositoryName, id: &UploadId) -> Result<Option<UploadSession>>;

    /// Claims an upload session for one request, optionally only at `expected_offset`.
    async fn claim_upload(
        &self,
        repo: &RepositoryName,
        id: &UploadId,
        lease: &Lease,
        expected_offset: Option<u64>,
    ) -> Result<Claim>;

    /// Extends a lease we hold; false if it was lost.
    async fn renew_upload(&self, id: &UploadId, lease: &Lease) -> Result<bool>;

    /// Saves progress and releases the lease; false if the lease was lost.
    async fn save_upload(
        &self,
        id: &UploadId,
        token: &str,
        offset: u64,
        hash_state: &[u8],
        store_state: &str,
    ) -> Result<bool>;

    /// Releases a lease without saving progress.
    async fn release_upload(&self, id: &UploadId, token: &str) -> Result<()>;

    /// Deletes an upload session; false if there was none.
    async fn delete_upload(&self, id: &UploadId) -> Result<bool>;

    /// Records the blob an upload produced, links it to `repo` and deletes the upload
    /// session, in one transaction.
    async fn finish_upload(
        &self,
        id: &UploadId,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
    ) -> Result<()>;

    /// Records a manifest (idempotently) and points `tags` at it, in one transaction.
    /// Fails with [`crate::Error::ManifestBlobUnknown`] if a referenced blob is not linked
    /// to the repository or a referenced manifest is not in it.
    async fn put_manifest(
        &self,
        repo: &RepositoryName,
        manifest: &NewManifest,
        tags: &[Tag],
    ) -> Result<()>;

    /// Looks a manifest up by tag or digest.
    async fn manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<StoredManifest>>;

    /// Deletes a manifest and every tag pointing at it; false if it did not exist.
    async fn delete_manifest(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool>;

    /// Deletes one tag, leaving the manifest; false if it did not exist.
    async fn delete_tag(&self, repo: &RepositoryName, tag: &Tag) -> Result<bool>;

    /// Tags of a repository in lexical order after `last`, at most `limit`;
    /// `None` if the repository does not exist.
    async fn tags(
        &self,
        repo: &RepositoryName,
        last: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>>;

    /// Manifests in `repo` whose subject is `subject`, optionally of one artifact type.
    async fn referrers(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Referrer>>;

    /// Names of repositories holding at least one manifest, in lexical order after `last`.
    async fn repositories(&self, last: Option<&str>, limit: usize) -> Result<Vec<String>>;
}
