//! Moving a request body into an upload's staging area while hashing it.
//!
//! Small bodies are hashed inline. Past [`OFFLOAD_AFTER`] bytes the hasher moves to a
//! blocking thread fed through a bounded channel, so hashing (CPU-bound, ~1 GB/s) runs in
//! parallel with reading the socket and writing storage instead of stalling the reactor.

use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Registry;
use crate::digest::Hasher;
use crate::error::{Error, Result};
use crate::model::{Lease, UploadId, now_ms};
use crate::ports::{ByteStream, UploadWriter};

/// Bytes hashed inline before hashing moves to a blocking thread.
const OFFLOAD_AFTER: u64 = 256 * 1024;
/// Chunks in flight between the reader and the hashing thread.
const HASH_QUEUE: usize = 16;

/// A hasher that starts inline and moves to a blocking thread for large inputs.
pub(crate) enum HashSink {
    Inline(Hasher, u64),
    Offloaded {
        tx: mpsc::Sender<Bytes>,
        task: JoinHandle<Hasher>,
    },
    Poisoned,
}

impl HashSink {
    pub(crate) fn new(hasher: Hasher) -> Self {
        HashSink::Inline(hasher, 0)
    }

    pub(crate) async fn feed(&mut self, chunk: &Bytes) -> Result<()> {
        if let HashSink::Inline(h, seen) = self {
            if *seen + chunk.len() as u64 <= OFFLOAD_AFTER {
                h.update(chunk);
                *seen += chunk.len() as u64;
                return Ok(());
            }
            let HashSink::Inline(h, _) = std::mem::replace(self, HashSink::Poisoned) else {
                unreachable!("checked above")
            };
            let (tx, mut rx) = mpsc::channel::<Bytes>(HASH_QUEUE);
            let task = tokio::task::spawn_blocking(move || {
                let mut h = h;
                while let Some(b) = rx.blocking_recv() {
                    h.update(&b);
                }
                h
            });
            *self = HashSink::Offloaded { tx, task };
        }
        match self {
            HashSink::Offloaded { tx, .. } => tx
                .send(chunk.clone())
                .await
                .map_err(|_| Error::internal("hashing thread stopped")),
            _ => Err(Error::internal("hasher used after failure")),
        }
    }

    pub(crate) async fn finish(self) -> Result<Hasher> {
        match self {
            HashSink::Inline(h, _) => Ok(h),
            HashSink::Offloaded { tx, task } => {
                drop(tx);
                task.await
                    .map_err(|e| Error::internal(format!("hashing thread failed: {e}")))
            }
            HashSink::Poisoned => Err(Error::internal("hasher used after failure")),
        }
    }
}

/// What a pump moved.
pub(crate) struct Pumped {
    pub hasher: Hasher,
    pub written: u64,
}

/// Keeps an upload lease alive while a long body streams in.
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
        let renew_every = self.config.upload_lease / 4;
        let mut sink = HashSink::new(hasher);
        let mut written: u64 = 0;
        let outcome: Result<()> = async {
            loop {
                let next = tokio::time::timeout(idle, body.next()).await.map_err(|_| {
                    Error::BlobUploadInvalid(format!(
                        "no data received for {}s; upload aborted",
                        idle.as_secs()
                    ))
                })?;
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
                writer.write(chunk).await?;
                if let Some(k) = keeper.as_mut()
                    && k.last_renewal.elapsed() >= renew_every
                {
                    self.renew(k).await?;
                }
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
