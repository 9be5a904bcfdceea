//! Delivery of outbox events to subscribers.
//!
//! Each subscriber gets one task that reads the outbox after its cursor, hands the events
//! to [`Subscriber::deliver`] in batches, in id order, and moves the cursor once the batch
//! is handled: a crash between the two delivers the batch again (at least once); a
//! subscriber that records its effect and the cursor in one transaction (the audit log)
//! gets exactly once. Among replicas, a lease on the cursor lets one deliver at a time;
//! when it stops renewing (a crash), another takes over after the lease runs out.
//!
//! A task wakes when this process writes events ([`EventSignal`]), and polls the outbox
//! every [`DispatcherConfig::poll_interval`] for other replicas' events. A failed
//! delivery is retried with exponential backoff (up to a minute); later events of that
//! subscriber wait, which keeps the order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{RwLock, watch};

use super::{EventStore, StartAt, StoredEvent};
use crate::error::Result;
use crate::model::{Lease, now_ms};

/// Wakes the dispatcher when events were written; cheap to clone.
#[derive(Clone, Debug)]
pub struct EventSignal(Arc<watch::Sender<u64>>);

impl Default for EventSignal {
    fn default() -> Self {
        EventSignal(Arc::new(watch::channel(0).0))
    }
}

impl EventSignal {
    /// Tells the dispatcher that events were committed.
    pub fn written(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// A batch handed to a subscriber, with what it needs to move its cursor itself.
#[derive(Debug)]
pub struct Batch<'a> {
    /// The events, in id order.
    pub events: &'a [StoredEvent],
    /// The subscriber's name (its cursor).
    pub subscriber: &'a str,
    /// The lease token the cursor is held with.
    pub token: &'a str,
    /// The cursor's position before the batch.
    pub from: i64,
    /// The id of the batch's last event.
    pub to: i64,
}

/// What a subscriber did with a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Handled; the dispatcher moves the cursor.
    Handled,
    /// The subscriber moved the cursor itself, in the transaction that recorded its
    /// effect; `false` if the lease was lost (nothing was recorded).
    Committed(bool),
}

/// A consumer of the outbox.
#[async_trait]
pub trait Subscriber: Send + Sync + 'static {
    /// Unique, stable name: the key of its cursor.
    fn name(&self) -> &str;

    /// Where its cursor starts the first time it is seen.
    fn start_at(&self) -> StartAt;

    /// Handles a batch. An error makes the dispatcher retry the same batch later.
    async fn deliver(&self, batch: &Batch<'_>) -> Result<Delivered>;
}

/// Settings of a [`Dispatcher`].
#[derive(Clone, Debug)]
pub struct DispatcherConfig {
    /// Prefix of lease tokens: this process's instance id.
    pub owner: String,
    /// Events per batch, at most.
    pub batch: usize,
    /// How often the outbox is read when nothing local wakes the dispatcher.
    pub poll_interval: Duration,
    /// How long a cursor lease lasts without renewal (it is renewed once half of it has
    /// passed).
    pub lease: Duration,
    /// After a local wake-up, how long events gather before they are read: under load,
    /// one batch carries many events instead of one round trip each.
    pub gather: Duration,
    /// How long delivered events stay in the outbox.
    pub retention: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            owner: uuid::Uuid::new_v4().simple().to_string(),
            batch: 256,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            gather: Duration::from_millis(100),
            retention: Duration::from_secs(24 * 3600),
        }
    }
}

/// Runs subscribers over the outbox.
#[derive(Clone)]
pub struct Dispatcher {
    store: Arc<dyn EventStore>,
    config: Arc<DispatcherConfig>,
    signal: EventSignal,
    positions: Arc<std::sync::Mutex<Vec<watch::Receiver<i64>>>>,
    /// True once stopped; delivery rounds hold it for reading.
    gate: Arc<RwLock<bool>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher over `store`, woken by `signal` (the registry's,
    /// [`crate::Registry::event_signal`]). Subscribers start with [`Dispatcher::start`].
    pub fn new(store: Arc<dyn EventStore>, signal: EventSignal, config: DispatcherConfig) -> Self {
        Dispatcher {
            store,
            config: Arc::new(config),
            signal,
            positions: Arc::default(),
            gate: Arc::default(),
        }
    }

    /// Starts delivering to `subscriber` on the current runtime; also starts the pruning
    /// of delivered events with the first subscriber.
    pub fn start(&self, subscriber: Arc<dyn Subscriber>) {
        let (tx, rx) = watch::channel(i64::MIN);
        let first = match self.positions.lock() {
            Ok(mut p) => {
                p.push(rx);
                p.len() == 1
            }
            Err(_) => false,
        };
        tokio::spawn(run(
            self.store.clone(),
            self.config.clone(),
            self.signal.subscribe(),
            subscriber,
            tx,
            self.gate.clone(),
        ));
        if first {
            tokio::spawn(prune(self.store.clone(), self.config.clone()));
        }
    }

    /// Waits until every subscriber started here has handled every event written before
    /// the call, or `limit` passes; true if they did. Used at shutdown and by tests.
    pub async fn drain(&self, limit: Duration) -> bool {
        let Ok(last) = self.store.last_event_id().await else {
            return false;
        };
        let receivers = match self.positions.lock() {
            Ok(p) => p.clone(),
            Err(_) => return false,
        };
        let all = async {
            for mut rx in receivers {
                if rx.wait_for(|p| *p >= last).await.is_err() {
                    return false;
                }
            }
            true
        };
        tokio::time::timeout(limit, all).await.unwrap_or(false)
    }

    /// Releases the cursor leases a previous run of this owner left (a process restarted
    /// on the same data directory after a crash), so delivery resumes at once rather
    /// than after the lease time; returns how many. Call it before [`Dispatcher::start`].
    pub async fn release_leases(&self) -> Result<u64> {
        self.store.release_cursors_of(&self.config.owner).await
    }

    /// Stops delivery: waits (at most `limit`) for the events written so far to be
    /// handled, ends the delivery tasks after their current round and releases their
    /// leases, so another replica or the next start takes over at once. True if every
    /// event was handled.
    pub async fn shutdown(&self, limit: Duration) -> bool {
        let drained = self.drain(limit).await;
        *self.gate.write().await = true;
        if let Err(err) = self.release_leases().await {
            tracing::warn!(error = %err, "cannot release event cursor leases");
        }
        drained
    }
}

/// Longest wait between two attempts at a failing delivery.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What a delivery task does before its next round.
enum Pause {
    None,
    /// Wait for local events or the poll interval.
    Idle,
    /// Wait this long after a failure.
    Backoff(Duration),
}

async fn run(
    store: Arc<dyn EventStore>,
    config: Arc<DispatcherConfig>,
    mut wake: watch::Receiver<u64>,
    sub: Arc<dyn Subscriber>,
    position: watch::Sender<i64>,
    gate: Arc<RwLock<bool>>,
) {
    let token = format!("{}.{}", config.owner, uuid::Uuid::new_v4().simple());
    let lease_ms = i64::try_from(config.lease.as_millis()).unwrap_or(i64::MAX);
    let claim = || {
        let now = now_ms();
        let lease = Lease {
            token: token.clone(),
            now,
            until: now.saturating_add(lease_ms),
        };
        let store = store.clone();
        let sub = sub.clone();
        async move { store.claim_cursor(sub.name(), sub.start_at(), &lease).await }
    };
    let mut backoff = Duration::ZERO;
    let mut pause = Pause::None;
    // Our idea of the cursor; authoritative only right after a claim.
    let mut at: Option<i64> = None;
    // When our lease should be renewed (half its time), if we hold one.
    let mut renew_at: Option<Instant> = None;
    loop {
        match pause {
            Pause::None => {}
            Pause::Idle => {
                if let Ok(Ok(())) = tokio::time::timeout(config.poll_interval, wake.changed()).await
                {
                    tokio::time::sleep(config.gather).await;
                }
            }
            Pause::Backoff(d) => tokio::time::sleep(d).await,
        }
        pause = Pause::None;
        // Held for the round: [`Dispatcher::shutdown`] waits for it, then stops us.
        let stopped = gate.read().await;
        if *stopped {
            return;
        }
        let from = match at {
            Some(p) => p,
            None => match claim().await {
                Ok(Some(p)) => {
                    renew_at = Some(Instant::now() + config.lease / 2);
                    p
                }
                Ok(None) => {
                    renew_at = None;
                    // Another replica delivers; look again later.
                    pause = Pause::Idle;
                    continue;
                }
                Err(err) => {
                    tracing::warn!(subscriber = sub.name(), error = %err, "cannot claim event cursor");
                    backoff = next_backoff(backoff);
                    pause = Pause::Backoff(backoff);
                    continue;
                }
            },
        };
        at = Some(from);
        position.send_replace(from);
        let events = match store.events_after(from, config.batch).await {
            Ok(e) => e,
            Err(err) => {
                tracing::warn!(subscriber = sub.name(), error = %err, "cannot read events");
                backoff = next_backoff(backoff);
                pause = Pause::Backoff(backoff);
                continue;
            }
        };
        let Some(to) = events.last().map(|e| e.id) else {
            // The claim before the next delivery renews the lease and learns of moves
            // another replica made meanwhile; an idle subscriber writes nothing.
            backoff = Duration::ZERO;
            pause = Pause::Idle;
            continue;
        };
        // Renew the lease (and check the position) before delivering, unless it is fresh.
        // Moving the cursor checks both anyway; this keeps a stale holder from
        // delivering a batch it could not acknowledge.
        if renew_at.is_none_or(|t| Instant::now() >= t) {
            match claim().await {
                Ok(Some(p)) if p == from => renew_at = Some(Instant::now() + config.lease / 2),
                Ok(_) => {
                    renew_at = None;
                    at = None;
                    continue;
                }
                Err(err) => {
                    tracing::warn!(subscriber = sub.name(), error = %err, "cannot renew event cursor");
                    backoff = next_backoff(backoff);
                    pause = Pause::Backoff(backoff);
                    continue;
                }
            }
        }
        let batch = Batch {
            events: &events,
            subscriber: sub.name(),
            token: &token,
            from,
            to,
        };
        let moved = match sub.deliver(&batch).await {
            Ok(Delivered::Committed(moved)) => Ok(moved),
            Ok(Delivered::Handled) => store.advance_cursor(sub.name(), &token, from, to).await,
            Err(err) => Err(err),
        };
        match moved {
            Ok(true) => {
                backoff = Duration::ZERO;
                at = Some(to);
                position.send_replace(to);
            }
            Ok(false) => {
                tracing::info!(subscriber = sub.name(), "event cursor lease lost");
                renew_at = None;
                at = None;
            }
            Err(err) => {
                tracing::warn!(subscriber = sub.name(), first = from + 1, last = to, error = %err, "event delivery failed; will retry");
                at = None;
                backoff = next_backoff(backoff);
                pause = Pause::Backoff(backoff);
            }
        }
    }
}

fn next_backoff(current: Duration) -> Duration {
    (current * 2).clamp(Duration::from_millis(100), MAX_BACKOFF)
}

/// Deletes delivered events older than the retention, hourly.
async fn prune(store: Arc<dyn EventStore>, config: Arc<DispatcherConfig>) {
    let retention = i64::try_from(config.retention.as_millis()).unwrap_or(i64::MAX);
    loop {
        match store.prune_events(now_ms().saturating_sub(retention)).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(events = n, "pruned delivered events"),
            Err(err) => tracing::warn!(error = %err, "cannot prune delivered events"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
