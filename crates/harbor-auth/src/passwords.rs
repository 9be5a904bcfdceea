//! Password hashing as a bounded resource.
//!
//! Argon2id is slow and memory-hard on purpose (19 MiB and tens of milliseconds per
//! check), which makes an unbounded number of concurrent checks a way to exhaust the
//! server: every wrong password from anyone costs one. Here at most `workers` checks run
//! at once on the blocking pool, each in working memory taken from a small free list,
//! and at most `max_waiting` more wait for their turn; beyond that a check is refused
//! with [`Error::Busy`] (after a short delay, so that refused clients cannot spin)
//! instead of queueing without bound. When no check is running
//! or waiting, the free list is trimmed to one buffer, so a burst's memory is given back.
//!
//! The limit is per process (the resource is the machine's cores and memory), shared by
//! every [`crate::Accounts`] in it: [`configure`] it once at start-up, else the defaults
//! of [`PasswordWork::default_workers`] apply.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use harbor_core::{Error, Result};
use tokio::sync::Semaphore;

use crate::secret::{self, Memory};

/// Checks that may wait for a worker by default. A waiting check costs little memory (a
/// request and its connection); refusing early would only invite clients to retry at
/// once, so the queue is deep and refusals are slow.
const DEFAULT_MAX_WAITING: usize = 1024;

/// How long a refusal waits before it is answered, so that a refused client cannot
/// retry in a tight loop.
const REFUSAL_DELAY: Duration = Duration::from_millis(500);

/// A bounded pool of Argon2 workers (see the module docs).
pub struct PasswordWork {
    permits: Semaphore,
    workers: usize,
    max_waiting: usize,
    /// Checks waiting for or holding a permit.
    pending: AtomicUsize,
    spare: Mutex<Vec<Memory>>,
}

impl std::fmt::Debug for PasswordWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordWork")
            .field("workers", &self.workers)
            .field("max_waiting", &self.max_waiting)
            .finish_non_exhaustive()
    }
}

impl PasswordWork {
    /// At most `workers` (at least 1) checks at a time, and `max_waiting` more waiting.
    pub fn new(workers: usize, max_waiting: usize) -> Self {
        let workers = workers.max(1);
        PasswordWork {
            permits: Semaphore::new(workers),
            workers,
            max_waiting,
            pending: AtomicUsize::new(0),
            spare: Mutex::new(Vec::new()),
        }
    }

    /// The default number of workers: the number of CPU cores.
    pub fn default_workers() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }

    /// The default number of waiting checks.
    pub fn default_max_waiting() -> usize {
        DEFAULT_MAX_WAITING
    }

    /// Hashes a password or secret with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move |m| secret::hash_in(m, &password))
            .await?
            .map_err(Error::internal)
    }

    /// Whether `candidate` matches the stored hash.
    pub async fn verify(&self, stored: String, candidate: String) -> Result<bool> {
        self.run(move |m| secret::verify_in(m, &stored, &candidate))
            .await
    }

    /// Bytes of working memory held now for future checks.
    pub fn spare_bytes(&self) -> usize {
        self.spare
            .lock()
            .map_or(0, |s| s.iter().map(Memory::len_bytes).sum())
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T> {
        let pending = match Pending::enter(self) {
            Ok(p) => p,
            Err(e) => {
                tokio::time::sleep(REFUSAL_DELAY).await;
                return Err(e);
            }
        };
        let _permit = self.permits.acquire().await.map_err(Error::internal)?;
        let mut memory = self
            .spare
            .lock()
            .ok()
            .and_then(|mut s| s.pop())
            .unwrap_or_default();
        let (out, memory) = tokio::task::spawn_blocking(move || {
            let out = job(&mut memory);
            (out, memory)
        })
        .await
        .map_err(Error::internal)?;
        if let Ok(mut spare) = self.spare.lock() {
            spare.push(memory);
            // The last check of a burst: keep one buffer, give the others back.
            if pending.is_last() {
                spare.truncate(1);
            }
        }
        Ok(out)
    }
}

/// Counts a check from its arrival until it is done; refuses one over the bound.
struct Pending<'a>(&'a PasswordWork);

impl<'a> Pending<'a> {
    fn enter(work: &'a PasswordWork) -> Result<Self> {
        let before = work.pending.fetch_add(1, Ordering::AcqRel);
        if before >= work.workers + work.max_waiting {
            work.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Busy(
                "too many sign-ins are being checked at once: try again in a moment".into(),
            ));
        }
        Ok(Pending(work))
    }

    fn is_last(&self) -> bool {
        self.0.pending.load(Ordering::Acquire) == 1
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

static GLOBAL: OnceLock<PasswordWork> = OnceLock::new();

/// Sets this process's bounds; the first call wins (later ones return `false`).
pub fn configure(workers: usize, max_waiting: usize) -> bool {
    GLOBAL.set(PasswordWork::new(workers, max_waiting)).is_ok()
}

/// This process's password workers.
pub fn global() -> &'static PasswordWork {
    GLOBAL.get_or_init(|| {
        let workers = PasswordWork::default_workers();
        PasswordWork::new(workers, PasswordWork::default_max_waiting())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bounds_concurrency_and_memory_and_refuses_beyond_the_queue() {
        let work = Arc::new(PasswordWork::new(2, 4));
        let stored = work.hash("Harbor12345".into()).await.unwrap();
        assert!(
            work.verify(stored.clone(), "Harbor12345".into())
                .await
                .unwrap()
        );
        assert!(
            !work
                .verify(stored.clone(), "Harbor12346".into())
                .await
                .unwrap()
        );
        // 40 at once: 2 run, 4 wait, the others are refused at once (unless some of the
        // first ones are done before the last ones arrive).
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (w, s) = (work.clone(), stored.clone());
                tokio::spawn(async move { w.verify(s, "wrong-Passw0rd".into()).await })
            })
            .collect();
        let mut ok = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(false) => ok += 1,
                Err(Error::Busy(_)) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(
            ok >= 6 && busy >= 1 && ok + busy == 40,
            "{ok} checked, {busy} refused"
        );
        // After the burst one buffer is kept, never more than the workers in between.
        assert_eq!(work.spare_bytes(), 19 * 1024 * 1024);
        assert_eq!(work.pending.load(Ordering::Acquire), 0);
    }
}
