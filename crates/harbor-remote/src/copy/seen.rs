//! [`Seen`]: which blobs a copy session has placed in which repositories of one
//! destination, so that a blob shared by many images is fetched once and mounted elsewhere.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use harbor_core::{Digest, RepositoryName};

/// Blobs known to be in repositories of **one** destination registry. Share one (through
/// an `Arc` or a reference) between the copies of a task; use one per destination.
#[derive(Debug, Default)]
pub struct Seen {
    blobs: Mutex<HashMap<Digest, Entry>>,
}

#[derive(Debug, Default)]
struct Entry {
    repos: BTreeSet<RepositoryName>,
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl Seen {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<Digest, Entry>) -> T) -> T {
        match self.blobs.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// The lock that serialises work on one digest (a second copy of a blob waits for
    /// the first, then finds it done).
    pub(crate) fn gate(&self, digest: &Digest) -> Arc<tokio::sync::Mutex<()>> {
        self.with(|m| m.entry(digest.clone()).or_default().gate.clone())
    }

    /// Whether `repo` is known to hold the blob.
    pub fn holds(&self, digest: &Digest, repo: &RepositoryName) -> bool {
        self.with(|m| m.get(digest).is_some_and(|e| e.repos.contains(repo)))
    }

    /// The repositories known to hold the blob.
    pub fn holders(&self, digest: &Digest) -> Vec<RepositoryName> {
        self.with(|m| {
            m.get(digest)
                .map(|e| e.repos.iter().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Records that `repo` holds the blob.
    pub fn record(&self, digest: &Digest, repo: &RepositoryName) {
        self.with(|m| {
            m.entry(digest.clone())
                .or_default()
                .repos
                .insert(repo.clone());
        });
    }

    /// How many distinct blobs are recorded.
    pub fn len(&self) -> usize {
        self.with(|m| m.values().filter(|e| !e.repos.is_empty()).count())
    }

    /// Whether no blob is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
