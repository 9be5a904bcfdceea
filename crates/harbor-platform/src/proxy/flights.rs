//! Blob fetches in flight: each blob a proxy-cache repository lacks is fetched from the
//! upstream once, streamed to the client that asked first and into storage at the same
//! time. Whoever asks for it meanwhile, for any repository, waits for that fetch, then
//! reads (or links) the stored copy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use harbor_core::ports::ByteStream;
use harbor_core::{Digest, Error, Registry, RepositoryName, Result};
use tokio::sync::watch;

/// Chunks buffered between the upstream and each reader (storage, the first client).
const BUFFERED_CHUNKS: usize = 16;

/// How a fetch ended: `None` while it runs, then whether the blob was stored.
type Outcome = watch::Receiver<Option<bool>>;

/// The fetches running in this process, by digest.
#[derive(Clone, Default)]
pub(super) struct Flights {
    running: Arc<Mutex<HashMap<Digest, Outcome>>>,
}

/// What [`Flights::fetch`] got.
pub(super) enum Fetch {
    /// This call started the fetch: the blob's size, its bytes streamed as they arrive
    /// (and stored as they pass; dropping them does not stop the fetch) and how the fetch
    /// ends.
    Leader(u64, ByteStream, Outcome),
    /// Another call is fetching it; this resolves once it ended.
    Follower(Outcome),
}

/// Removes the entry when the fetch ends, however it ends.
struct Landing {
    running: Arc<Mutex<HashMap<Digest, Outcome>>>,
    key: Digest,
    done: watch::Sender<Option<bool>>,
}

impl Landing {
    fn land(self, stored: bool) {
        let _ = self.done.send(Some(stored));
        drop(self);
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        self.done.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(false);
                true
            } else {
                false
            }
        });
        if let Ok(mut map) = self.running.lock() {
            map.remove(&self.key);
        }
    }
}

impl Flights {
    /// Joins the running fetch of `digest`, or starts one for `repo` with `open` (which
    /// opens the upstream stream: its size and bytes). A started fetch runs to its end
    /// even when the client that started it goes away: the blob is stored for the next.
    pub(super) async fn fetch<F, Fut>(
        &self,
        registry: &Registry,
        repo: &RepositoryName,
        digest: &Digest,
        open: F,
    ) -> Result<Fetch>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(u64, ByteStream)>>,
    {
        let key = digest.clone();
        let (landing, outcome) = {
            let mut map = self
                .running
                .lock()
                .map_err(|_| Error::internal("the proxy's fetch table is poisoned"))?;
            if let Some(outcome) = map.get(&key) {
                return Ok(Fetch::Follower(outcome.clone()));
            }
            let (done, outcome) = watch::channel(None);
            map.insert(key.clone(), outcome.clone());
            let landing = Landing {
                running: self.running.clone(),
                key,
                done,
            };
            (landing, outcome)
        };
        // A fetch that ended between the caller's look at the cache and now stored it
        // before it left the table: look again rather than fetch it twice (the caller
        // links it into its repository).
        if registry.metadata().blob_size(digest).await?.is_some() {
            landing.land(true);
            return Ok(Fetch::Follower(outcome));
        }
        // On failure `landing` drops here: followers learn the fetch failed.
        let (size, mut upstream) = open().await?;
        let (mut to_store, store_rx) = mpsc::channel::<std::io::Result<Bytes>>(BUFFERED_CHUNKS);
        let (mut to_client, client_rx) = mpsc::channel::<std::io::Result<Bytes>>(BUFFERED_CHUNKS);
        let (verified, verdict) = tokio::sync::oneshot::channel();
        let store = {
            let registry = registry.clone();
            let repo = repo.clone();
            let digest = digest.clone();
            tokio::spawn(async move {
                registry
                    .upload_verified_blob(
                        &repo,
                        &digest,
                        Some(size),
                        store_rx.boxed(),
                        Some(verified),
                    )
                    .await
            })
        };
        let digest = digest.clone();
        tokio::spawn(async move {
            // The client's last chunk waits until the store has verified the digest: the
            // bytes are hashed once, and a lying upstream's blob never arrives whole.
            let mut held: Option<Bytes> = None;
            let mut client_open = true;
            let mut store_open = true;
            let mut failed = false;
            while let Some(chunk) = upstream.next().await {
                let chunk = match chunk {
                    Ok(b) => b,
                    Err(e) => {
                        failed = true;
                        let kind = e.kind();
                        let text = e.to_string();
                        if store_open {
                            let _ = to_store.send(Err(std::io::Error::new(kind, text))).await;
                        }
                        if client_open {
                            let _ = to_client.send(Err(e)).await;
                        }
                        break;
                    }
                };
                if store_open && to_store.send(Ok(chunk.clone())).await.is_err() {
                    store_open = false;
                }
                if let Some(previous) = held.replace(chunk)
                    && client_open
                    && to_client.send(Ok(previous)).await.is_err()
                {
                    client_open = false;
                }
                if !store_open && !client_open {
                    break;
                }
            }
            drop(to_store);
            // Verified (size and digest) before it is committed: the client need not wait
            // for the flush to disk.
            let verified = verdict.await.is_ok();
            if client_open && !failed {
                let last = match held {
                    Some(last) if verified => Ok(last),
                    None if verified => Ok(Bytes::new()),
                    _ => Err(std::io::Error::other(format!(
                        "blob {digest} does not match its digest, or could not be stored"
                    ))),
                };
                let _ = to_client.send(last).await;
            }
            drop(to_client);
            let stored = match store.await {
                Ok(Ok(_)) => true,
                Ok(Err(e)) => {
                    tracing::warn!(%digest, error = %e, "proxy cache: the blob was not stored");
                    false
                }
                Err(e) => {
                    tracing::warn!(%digest, error = %e, "proxy cache: the store task failed");
                    false
                }
            };
            landing.land(stored);
        });
        Ok(Fetch::Leader(size, client_rx.boxed(), outcome))
    }
}

/// Waits for a fetch to end: whether it stored the blob.
pub(super) async fn landed(mut outcome: Outcome) -> bool {
    let done = outcome
        .wait_for(Option::is_some)
        .await
        .map(|v| v.unwrap_or(false));
    // The sender is gone: the fetch ended (its drop records a failure first).
    done.unwrap_or_else(|_| outcome.borrow().unwrap_or(false))
}

/// The outcome of a fetch that did not need to happen: the blob is stored.
pub(super) fn stored_already() -> Outcome {
    watch::channel(Some(true)).1
}
