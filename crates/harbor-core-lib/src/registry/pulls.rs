//! Pull counts, recorded without making a pull wait for the database.
//!
//! A pull only bumps a per-repository counter in memory. One background task (started on
//! the first pull) waits for the first count, lets more gather for
//! [`RegistryConfig::pull_flush_interval`](super::RegistryConfig), then writes all of them
//! in one transaction ([`MetadataStore::record_pulls`]), with the last pull time of
//! each manifest and tag pulled (an artifact's `pull_time`). A burst of pulls therefore costs one
//! write per interval, not one per pull, memory is bounded by the number of distinct
//! repositories pulled in an interval, and a failed write puts its counts back to be
//! retried with the next batch. [`PullCounter::flush`] writes whatever is pending and
//! waits for it (the server calls it on shutdown, tests to observe counts).
//!
//! Pull events ([`DomainEvent::ArtifactPulled`](crate::events::DomainEvent)) ride along:
//! they are kept in memory (at most [`MAX_PENDING_EVENTS`]; beyond that they are dropped
//! with a warning, the counts still kept) and appended to the outbox in the same
//! transaction as the counts. So a pull costs no database write, and a crash loses at
//! most the last interval's pull events, as it loses their counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

use crate::artifact::RepositoryPulls;
use crate::digest::Digest;
use crate::events::{EventSignal, NewEvent};
use crate::names::{RepositoryName, Tag};
use crate::ports::MetadataStore;

/// What one repository's pulls gathered so far.
#[derive(Default)]
struct Pending {
    count: u64,
    manifests: HashMap<Digest, i64>,
    tags: HashMap<Tag, i64>,
}

impl Pending {
    fn merge(&mut self, other: RepositoryPulls) {
        self.count += other.count;
        for (d, t) in other.manifests {
            let e = self.manifests.entry(d).or_insert(t);
            *e = (*e).max(t);
        }
        for (tag, t) in other.tags {
            let e = self.tags.entry(tag).or_insert(t);
            *e = (*e).max(t);
        }
    }
}

/// Pull events held between two writes, at most.
pub const MAX_PENDING_EVENTS: usize = 65_536;

struct Shared {
    meta: Arc<dyn MetadataStore>,
    interval: Duration,
    signal: EventSignal,
    pending: Mutex<HashMap<RepositoryName, Pending>>,
    events: Mutex<Vec<NewEvent>>,
    /// Pull events dropped because [`MAX_PENDING_EVENTS`] were waiting.
    dropped: std::sync::atomic::AtomicU64,
    wake: Notify,
    /// Held while a batch is written, so that [`PullCounter::flush`] returns only once
    /// everything taken before it is stored.
    writing: tokio::sync::Mutex<()>,
    started: OnceLock<()>,
}

/// Batched pull counts of a registry; cheap to clone (clones share the counts).
#[derive(Clone)]
pub(crate) struct PullCounter(Arc<Shared>);

impl PullCounter {
    pub(crate) fn new(
        meta: Arc<dyn MetadataStore>,
        interval: Duration,
        signal: EventSignal,
    ) -> Self {
        PullCounter(Arc::new(Shared {
            meta,
            interval,
            signal,
            pending: Mutex::new(HashMap::new()),
            events: Mutex::new(Vec::new()),
            dropped: std::sync::atomic::AtomicU64::new(0),
            wake: Notify::new(),
            writing: tokio::sync::Mutex::new(()),
            started: OnceLock::new(),
        }))
    }

    /// Counts one pull of `repo`; never waits for I/O.
    pub(crate) fn record(&self, repo: &RepositoryName) {
        self.count(repo, None, None, 0);
        self.wake();
    }

    /// Counts one pull of `repo`, remembers the event's time as the last pull of the
    /// manifest `digest` (and of `tag`, when pulled by tag) and queues the event; never
    /// waits for I/O.
    pub(crate) fn record_manifest(
        &self,
        repo: &RepositoryName,
        digest: Option<&Digest>,
        tag: Option<&Tag>,
        event: NewEvent,
    ) {
        self.count(repo, digest, tag, event.occurred_ms);
        if let Ok(mut events) = self.0.events.lock() {
            if events.len() < MAX_PENDING_EVENTS {
                events.push(event);
            } else {
                self.0
                    .dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        self.wake();
    }

    fn count(&self, repo: &RepositoryName, digest: Option<&Digest>, tag: Option<&Tag>, at_ms: i64) {
        if let Ok(mut pending) = self.0.pending.lock() {
            let p = pending.entry(repo.clone()).or_default();
            p.count += 1;
            if let Some(d) = digest {
                let e = p.manifests.entry(d.clone()).or_insert(at_ms);
                *e = (*e).max(at_ms);
            }
            if let Some(t) = tag {
                let e = p.tags.entry(t.clone()).or_insert(at_ms);
                *e = (*e).max(at_ms);
            }
        }
    }

    fn wake(&self) {
        self.start();
        self.0.wake.notify_one();
    }

    /// Starts the writer on the current Tokio runtime, once.
    fn start(&self) {
        if self.0.started.get().is_some() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.0.started.set(()).is_ok() {
            rt.spawn(writer(self.0.clone()));
        }
    }

    /// Writes every pull counted so far and waits until it is stored.
    pub(crate) async fn flush(&self) {
        write_pending(&self.0).await;
    }
}

async fn writer(shared: Arc<Shared>) {
    loop {
        shared.wake.notified().await;
        tokio::time::sleep(shared.interval).await;
        write_pending(&shared).await;
    }
}

async fn write_pending(shared: &Shared) {
    let _writing = shared.writing.lock().await;
    let batch: Vec<RepositoryPulls> = match shared.pending.lock() {
        Ok(mut pending) => pending
            .drain()
            .map(|(repository, p)| RepositoryPulls {
                repository,
                count: p.count,
                manifests: p.manifests.into_iter().collect(),
                tags: p.tags.into_iter().collect(),
            })
            .collect(),
        Err(_) => return,
    };
    let events = match shared.events.lock() {
        Ok(mut events) => std::mem::take(&mut *events),
        Err(_) => Vec::new(),
    };
    let dropped = shared.dropped.swap(0, std::sync::atomic::Ordering::Relaxed);
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "pull events dropped: more than {MAX_PENDING_EVENTS} waited for one write"
        );
    }
    // A pull counted after the counts were taken may have queued its event already: the
    // events go out even when no counts do (they are counted with the next batch).
    if batch.is_empty() && events.is_empty() {
        return;
    }
    match shared.meta.record_pulls_emitting(&batch, &events).await {
        Ok(()) if !events.is_empty() => shared.signal.written(),
        Ok(()) => {}
        Err(err) => {
            tracing::warn!(error = %err, repositories = batch.len(), "cannot record pull counts; retrying later");
            if let Ok(mut pending) = shared.pending.lock() {
                for p in batch {
                    pending.entry(p.repository.clone()).or_default().merge(p);
                }
            }
            if let Ok(mut pending) = shared.events.lock() {
                let newer = std::mem::replace(&mut *pending, events);
                let room = MAX_PENDING_EVENTS.saturating_sub(pending.len());
                pending.extend(newer.into_iter().take(room));
            }
            shared.wake.notify_one();
        }
    }
}
