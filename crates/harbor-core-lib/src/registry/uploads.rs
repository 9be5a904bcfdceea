//! Blob uploads: monolithic, streamed, chunked, resumable and cancellable.
//!
//! Upload progress (offset, hash state, staging state) lives in the metadata store, so a
//! session survives restarts and can be continued by any replica. One request at a time
//! writes to a session; it holds a lease in the metadata store while doing so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Registry;
use super::pump::{HashSink, LeaseKeeper};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{Error, Result};
use crate::model::{BlobInfo, Claim, Lease, UploadId, UploadSession, now_ms};
use crate::names::RepositoryName;
use crate::ports::{BlobStore, ByteStream, MetadataStore, UploadWriter};
use futures::StreamExt;

/// How often a claim on a busy upload session is retried before answering "busy".
const CLAIM_RETRIES: u32 = 5;
/// Pause between those retries.
const CLAIM_RETRY_DELAY: Duration = Duration::from_millis(20);

/// Where an upload stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadStatus {
    /// The session id.
    pub id: UploadId,
    /// Bytes received so far.
    pub offset: u64,
    /// Advisory smallest chunk size (`OCI-Chunk-Min-Length`).
    pub min_chunk_length: u64,
}

/// The chunk a request carries, from `Content-Range` (inclusive bounds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRange {
    /// First byte offset.
    pub start: u64,
    /// Last byte offset, inclusive.
    pub end: u64,
}

/// Owns what a request holds on an upload and gives it back if the request ends early
/// (error or cancellation): the writer is aborted first, then the lease released, so
/// no stale write can land after someone else claims the session.
struct Held {
    blobs: Arc<dyn BlobStore>,
    meta: Arc<dyn MetadataStore>,
    id: UploadId,
    writer: Option<Box<dyn UploadWriter>>,
    lease_token: Option<String>,
    /// A transient (monolithic) upload's staging area to discard on failure.
    transient: bool,
    /// The staging state of that area once its writer finished.
    transient_state: String,
}

impl Held {
    fn writer(&mut self) -> Result<&mut (dyn UploadWriter + 'static)> {
        self.writer
            .as_deref_mut()
            .ok_or_else(|| Error::internal("upload writer already closed"))
    }

    async fn finish_writer(&mut self) -> Result<String> {
        match self.writer.take() {
            Some(w) => w.finish().await,
            None => Err(Error::internal("upload writer already closed")),
        }
    }

    /// Returns everything now, awaiting each step.
    async fn give_back(mut self) {
        self.leftovers().give_back().await;
    }

    /// Takes what is still held, leaving this disarmed.
    fn leftovers(&mut self) -> Leftovers {
        Leftovers {
            blobs: self.blobs.clone(),
            meta: self.meta.clone(),
            id: self.id.clone(),
            writer: self.writer.take(),
            lease_token: self.lease_token.take(),
            transient: std::mem::take(&mut self.transient),
            transient_state: std::mem::take(&mut self.transient_state),
        }
    }

    /// Forgets the lease (it was released or the session deleted) and the writer.
    fn disarm(&mut self) {
        self.lease_token = None;
        self.transient = false;
        self.writer = None;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.writer.is_none() && self.lease_token.is_none() && !self.transient {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return; // The lease expires on its own.
        };
        // `Leftovers` has no `Drop`: if the runtime is shutting down and drops this task
        // unrun, nothing is spawned again (the lease expires or is released on restart).
        rt.spawn(self.leftovers().give_back());
    }
}

/// What a request held when it ended early, to give back in the background.
struct Leftovers {
    blobs: Arc<dyn BlobStore>,
    meta: Arc<dyn MetadataStore>,
    id: UploadId,
    writer: Option<Box<dyn UploadWriter>>,
    lease_token: Option<String>,
    transient: bool,
    transient_state: String,
}

impl Leftovers {
    async fn give_back(self) {
        if let Some(w) = self.writer {
            w.abort().await;
        }
        if self.transient
            && let Err(e) = self
                .blobs
                .abort_upload(&self.id, &self.transient_state)
                .await
        {
            tracing::warn!(upload = %self.id, error = %e, "failed to discard upload staging");
        }
        if let Some(token) = self.lease_token
            && let Err(e) = self.meta.release_upload(&self.id, &token).await
        {
            tracing::warn!(upload = %self.id, error = %e, "failed to release upload lease");
        }
    }
}

impl Registry {
    /// Releases every upload lease this process's owner holds (see
    /// [`RegistryConfig::lease_owner`](super::RegistryConfig::lease_owner)): at start-up,
    /// those a previous run on the same data directory left when it died; at shutdown,
    /// those of the requests it cut. Returns how many.
    pub async fn release_leases(&self) -> Result<u64> {
        self.meta.release_uploads_of(&self.config.lease_owner).await
    }

    fn new_lease(&self) -> Lease {
        let now = now_ms();
        Lease {
            token: format!(
                "{}.{}",
                self.config.lease_owner,
                uuid::Uuid::new_v4().simple()
            ),
            now,
            until: now + self.config.upload_lease.as_millis() as i64,
        }
    }

    fn status(&self, id: UploadId, offset: u64) -> UploadStatus {
        UploadStatus {
            id,
            offset,
            min_chunk_length: self.blobs.min_chunk_length(),
        }
    }

    /// Starts an upload session in `repo`.
    pub async fn start_upload(&self, repo: &RepositoryName) -> Result<UploadStatus> {
        let now = now_ms();
        let session = UploadSession {
            id: UploadId::generate(),
            repository: repo.clone(),
            offset: 0,
            hash_state: Hasher::new(Algorithm::Sha256).save(),
            store_state: String::new(),
            created_at: now,
            updated_at: now,
        };
        self.meta.create_upload(&session).await?;
        Ok(self.status(session.id, 0))
    }

    /// Where an upload session stands.
    pub async fn upload_status(&self, repo: &RepositoryName, id: &str) -> Result<UploadStatus> {
        let id = UploadId::parse(id)?;
        let session = self
            .meta
            .upload(repo, &id)
            .await?
            .ok_or(Error::BlobUploadUnknown)?;
        Ok(self.status(id, session.offset))
    }

    async fn claim(
        &self,
        repo: &RepositoryName,
        id: &UploadId,
        chunk: Option<ChunkRange>,
    ) -> Result<(UploadSession, Lease, Held)> {
        // A request that just ended may still be handing its lease back: wait briefly
        // before telling the client the session is busy.
        let mut attempts = 0;
        let (session, lease) = loop {
            let lease = self.new_lease();
            match self
                .meta
                .claim_upload(repo, id, &lease, chunk.map(|c| c.start))
                .await?
            {
                Claim::Claimed(s) => break (s, lease),
                Claim::Unknown => return Err(Error::BlobUploadUnknown),
                Claim::Busy if attempts < CLAIM_RETRIES => {
                    attempts += 1;
                    tokio::time::sleep(CLAIM_RETRY_DELAY).await;
                }
                Claim::Busy => return Err(Error::UploadBusy),
                Claim::OffsetMismatch(offset) => return Err(Error::ChunkOutOfOrder { offset }),
            }
        };
        let held = Held {
            blobs: self.blobs.clone(),
            meta: self.meta.clone(),
            id: id.clone(),
            writer: None,
            lease_token: Some(lease.token.clone()),
            transient: false,
            transient_state: String::new(),
        };
        Ok((session, lease, held))
    }

    /// Appends `body` to a claimed session; returns the new offset, hasher and staging state.
    async fn append(
        &self,
        session: &UploadSession,
        lease: Lease,
        held: &mut Held,
        body: ByteStream,
        expected: Option<u64>,
    ) -> Result<(u64, Hasher, String)> {
        let hasher = Hasher::restore(&session.hash_state)?;
        if expected == Some(0) {
            return Ok((session.offset, hasher, session.store_state.clone()));
        }
        held.writer = Some(
            self.blobs
                .open_upload(&session.id, &session.store_state, session.offset)
                .await?,
        );
        let keeper = LeaseKeeper {
            id: &session.id,
            lease,
            last_renewal: Instant::now(),
        };
        let pumped = self
            .pump(body, held.writer()?, hasher, expected, Some(keeper))
            .await?;
        let state = held.finish_writer().await?;
        Ok((session.offset + pumped.written, pumped.hasher, state))
    }

    /// Appends a chunk (with `Content-Range`) or a stream (without) to an upload.
    pub async fn patch_upload(
        &self,
        repo: &RepositoryName,
        id: &str,
        chunk: Option<ChunkRange>,
        content_length: Option<u64>,
        body: ByteStream,
    ) -> Result<UploadStatus> {
        let id = UploadId::parse(id)?;
        let expected = expected_len(chunk, content_length)?;
        let (session, lease, mut held) = self.claim(repo, &id, chunk).await?;
        let token = lease.token.clone();
        let result = self
            .append(&session, lease, &mut held, body, expected)
            .await;
        let (offset, hasher, state) = match result {
            Ok(v) => v,
            Err(e) => {
                held.give_back().await;
                return Err(e);
            }
        };
        let saved = self
            .meta
            .save_upload(&id, &token, offset, &hasher.save(), &state)
            .await;
        held.disarm();
        if !saved? {
            return Err(Error::UploadBusy);
        }
        Ok(self.status(id, offset))
    }

    /// Finishes an upload, with an optional last chunk, verifying the whole content
    /// against `digest`. On a mismatch the upload is discarded.
    pub async fn complete_upload(
        &self,
        repo: &RepositoryName,
        id: &str,
        digest: &Digest,
        chunk: Option<ChunkRange>,
        content_length: Option<u64>,
        body: ByteStream,
    ) -> Result<BlobInfo> {
        let id = UploadId::parse(id)?;
        let expected = expected_len(chunk, content_length)?;
        let (session, lease, mut held) = self.claim(repo, &id, chunk).await?;
        let result = async {
            let (len, hasher, mut state) = self
                .append(&session, lease, &mut held, body, expected)
                .await?;
            let actual = if hasher.algorithm() == digest.algorithm() {
                hasher.finalize()
            } else {
                // Another algorithm than the one hashed while streaming: read it all again.
                state = self.blobs.seal_upload(&id, &state, len).await?;
                self.rehash_upload(&id, &state, len, digest.algorithm())
                    .await?
            };
            if &actual != digest {
                self.blobs.abort_upload(&id, &state).await?;
                self.meta.delete_upload(&id).await?;
                return Err(Error::DigestMismatch {
                    expected: digest.clone(),
                    actual,
                });
            }
            let seen = self.settled_version(digest).await?;
            self.blobs.commit_upload(&id, &state, len, digest).await?;
            self.link_stored(Some(&id), repo, digest, len, seen).await?;
            Ok(BlobInfo {
                digest: digest.clone(),
                size: len,
            })
        }
        .await;
        match result {
            Ok(info) => {
                held.disarm();
                Ok(info)
            }
            Err(e) => {
                held.give_back().await;
                Err(e)
            }
        }
    }

    /// Re-reads staged bytes to compute a digest with another algorithm.
    async fn rehash_upload(
        &self,
        id: &UploadId,
        state: &str,
        len: u64,
        algorithm: Algorithm,
    ) -> Result<Digest> {
        let mut stream = self.blobs.read_upload(id, state, len).await?;
        let mut sink = HashSink::new(Hasher::new(algorithm));
        while let Some(chunk) = stream.next().await {
            sink.feed(&chunk.map_err(Error::internal)?).await?;
        }
        Ok(sink.finish().await?.finalize())
    }

    /// Cancels an upload and discards its data.
    pub async fn cancel_upload(&self, repo: &RepositoryName, id: &str) -> Result<()> {
        let id = UploadId::parse(id)?;
        let (session, _lease, mut held) = self.claim(repo, &id, None).await?;
        let deleted = self.meta.delete_upload(&id).await;
        held.disarm();
        deleted?;
        self.blobs.abort_upload(&id, &session.store_state).await
    }

    /// Pushes a whole blob in one request (`POST ?digest=`), verifying its digest.
    pub async fn upload_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        content_length: Option<u64>,
        body: ByteStream,
    ) -> Result<BlobInfo> {
        self.upload_verified_blob(repo, digest, content_length, body, None)
            .await
    }

    /// [`Registry::upload_blob`], telling `verified` as soon as the bytes are known to
    /// match `digest`, before they are committed (flushed to disk, recorded): for a
    /// caller that streams the same bytes elsewhere and holds their end back until then.
    /// `verified` is dropped unsent when they do not match.
    pub async fn upload_verified_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        content_length: Option<u64>,
        body: ByteStream,
        verified: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Result<BlobInfo> {
        let id = UploadId::generate();
        let mut held = Held {
            blobs: self.blobs.clone(),
            meta: self.meta.clone(),
            id: id.clone(),
            writer: None,
            lease_token: None,
            transient: true,
            transient_state: String::new(),
        };
        let result = async {
            held.writer = Some(self.blobs.open_upload(&id, "", 0).await?);
            let pumped = self
                .pump(
                    body,
                    held.writer()?,
                    Hasher::new(digest.algorithm()),
                    content_length,
                    None,
                )
                .await?;
            let state = held.finish_writer().await?;
            held.transient_state = state.clone();
            let actual = pumped.hasher.finalize();
            if &actual != digest {
                return Err(Error::DigestMismatch {
                    expected: digest.clone(),
                    actual,
                });
            }
            if let Some(tell) = verified {
                let _ = tell.send(());
            }
            let seen = self.settled_version(digest).await?;
            self.blobs
                .commit_upload(&id, &state, pumped.written, digest)
                .await?;
            held.transient = false;
            self.link_stored(None, repo, digest, pumped.written, seen)
                .await?;
            Ok(BlobInfo {
                digest: digest.clone(),
                size: pumped.written,
            })
        }
        .await;
        if result.is_err() {
            held.give_back().await;
        } else {
            held.disarm();
        }
        result
    }
}

/// The body length a request declares, checking `Content-Range` against `Content-Length`.
fn expected_len(chunk: Option<ChunkRange>, content_length: Option<u64>) -> Result<Option<u64>> {
    match chunk {
        Some(c) => {
            if c.end < c.start {
                return Err(Error::BlobUploadInvalid(format!(
                    "Content-Range {}-{} ends before it starts",
                    c.start, c.end
                )));
            }
            let len = c.end - c.start + 1;
            if let Some(cl) = content_length
                && cl != len
            {
                return Err(Error::SizeInvalid(format!(
                    "Content-Range {}-{} covers {len} bytes but Content-Length is {cl}",
                    c.start, c.end
                )));
            }
            Ok(Some(len))
        }
        None => Ok(content_length),
    }
}
