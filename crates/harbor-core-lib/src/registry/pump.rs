//! Moving a request body into an upload's staging area while hashing it.
//!
//! The first [`INLINE_LIMIT`] bytes are hashed inline. After that, chunks are gathered into
//! batches of [`BATCH`] bytes and each batch is hashed on the blocking pool while the next
//! one is read, with one batch in flight: hashing (CPU-bound, ~1 GB/s) overlaps with
//! reading the socket and writing storage, the reactor never hashes for long, and no
//! thread is held while a slow client trickles data in.

use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use tokio::task::JoinHandle;

use super::Registry;
use crate::digest::Hasher;
use crate::error::{Error, Result};
use crate::model::{Lease, UploadId, now_ms};
use crate::ports::{ByteStream, UploadWriter};

/// Bytes hashed inline before hashing moves to the blocking pool.
const INLINE_LIMIT: u64 = 256 * 1024;
/// Bytes per batch hashed on the blocking pool.
const BATCH: usize = 256 * 1024;

/// A hasher that hashes small inputs inline and large ones in pipelined batches.
pub(crate) struct HashSink {
    /// The hasher, unless it is away hashing a batch.
    hasher: Option<Hasher>,
    in_flight: Option<JoinHandle<Hasher>>,
    batch: Vec<Bytes>,
    batch_len: usize,
    seen: u64,
}

impl HashSink {
    pub(crate) fn new(hasher: Hasher) -> Self {
        HashSink {
            hasher: Some(hasher),
            in_flight: None,
            batch: Vec::new(),
            batch_len: 0,
            seen: 0,
        }
    }

    pub(crate) async fn feed(&mut self, chunk: &Bytes) -> Result<()> {
        self.seen += chunk.len() as u64;
        if self.in_flight.is_none()
            && self.batch.is_empty()
            && self.seen <= INLINE_LIMIT
            && let Some(h) = self.hasher.as_mut()
        {
            h.update(chunk);
            return Ok(());
        }
        self.batch.push(chunk.clone());
        self.batch_len += chunk.len();
        if self.batch_len >= BATCH {
            self.dispatch().await?;
        }
        Ok(())
    }

    /// Waits for the batch in flight and gets the hasher back.
    async fn take_hasher(&mut self) -> Result<Hasher> {
        match self.in_flight.take() {
            Some(task) => task
                .await
                .map_err(|e| Error::internal(format!("hashing task failed: {e}"))),
            None => self
                .hasher
                .take()
                .ok_or_else(|| Error::internal("hasher lost")),
        }
    }

    async fn dispatch(&mut self) -> Result<()> {
        let mut hasher = self.take_hasher().await?;
        let batch = std::mem::take(&mut self.batch);
        self.batch_len = 0;
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            for b in &batch {
                hasher.update(b);
            }
            hasher
        }));
        Ok(())
    }

    pub(crate) async fn finish(mut self) -> Result<Hasher> {
        let mut hasher = self.take_hasher().await?;
        for b in &self.batch {
            hasher.update(b); // At most one batch: hash the rest inline.
        }
        Ok(hasher)
    }
}

/// What a pump moved.
pub(crate) struct Pumped {
    pub hasher: Hasher,
    pub written: u64,
}

/// Keeps an upload lease alive while a request streams its body in.
pub(crate) struct LeaseKeeper<'a> {
    pub id: &'a UploadId,
    pub lease: Lease,
    pub last_renewal: Instant,
}

impl Registry {
    /// Streams `body` into `writer`, hashing it, until the body ends. With `expected`,
    /// the body must be exactly that long. Fails on body errors, idle timeouts, a
    /// lost lease or storage errors; the caller then discards what was written.
    pub(crate) async fn pump(
        &self,
        mut body: ByteStream,
        writer: &mut dyn UploadWriter,
        hasher: Hasher,
        expected: Option<u64>,
        mut keeper: Option<LeaseKeeper<'_>>,
    ) -> Result<Pumped> {
        let idle = self.config.upload_idle_timeout;
        let mut sink = HashSink::new(hasher);
        let mut written: u64 = 0;
        let outcome: Result<()> = async {
            loop {
                let next = tokio::time::timeout(idle, self.beating(body.next(), &mut keeper))
                    .await
                    .map_err(|_| {
                        Error::BlobUploadInvalid(format!(
                            "no data received for {}s; upload aborted",
                            idle.as_secs()
                        ))
                    })??;
                let Some(chunk) = next else { break };
                let chunk = chunk.map_err(|e| {
                    Error::BlobUploadInvalid(format!("failed to read request body: {e}"))
                })?;
                if chunk.is_empty() {
                    continue;
                }
                written += chunk.len() as u64;
                if let Some(limit) = expected
                    && written > limit
                {
                    return Err(Error::SizeInvalid(format!(
                        "body is longer than the declared {limit} bytes"
                    )));
                }
                sink.feed(&chunk).await?;
                self.beating(writer.write(chunk), &mut keeper).await??;
            }
            if let Some(limit) = expected
                && written != limit
            {
                return Err(Error::SizeInvalid(format!(
                    "body has {written} bytes but {limit} were declared"
                )));
            }
            Ok(())
        }
        .await;
        let hasher = sink.finish().await;
        outcome?;
        Ok(Pumped {
            hasher: hasher?,
            written,
        })
    }

    /// Awaits `fut` while renewing the lease (if any) every third of its length, whether
    /// or not data flows: a live request keeps its upload, a dead process loses it within
    /// one lease. A lost lease fails the request.
    async fn beating<T>(
        &self,
        fut: impl Future<Output = T>,
        keeper: &mut Option<LeaseKeeper<'_>>,
    ) -> Result<T> {
        let Some(k) = keeper.as_mut() else {
            return Ok(fut.await);
        };
        let every = self.config.upload_lease / 3;
        tokio::pin!(fut);
        loop {
            let due = tokio::time::Instant::from_std(k.last_renewal + every);
            tokio::select! {
                out = &mut fut => return Ok(out),
                () = tokio::time::sleep_until(due) => self.renew(k).await?,
            }
        }
    }

    async fn renew(&self, k: &mut LeaseKeeper<'_>) -> Result<()> {
        let now = now_ms();
        k.lease.now = now;
        k.lease.until = now + self.config.upload_lease.as_millis() as i64;
        if !self.meta.renew_upload(k.id, &k.lease).await? {
            return Err(Error::UploadBusy);
        }
        k.last_renewal = Instant::now();
        Ok(())
    }
}
