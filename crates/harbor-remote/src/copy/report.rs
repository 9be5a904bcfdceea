//! What a copy did ([`CopyReport`]) and why it failed ([`CopyError`]).

use std::sync::atomic::{AtomicU64, Ordering};

use harbor_core::Digest;

use crate::error::Error;

/// The fate of the artifact asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Copied (some of its parts may already have been there).
    Copied {
        /// The digest now at the destination reference.
        digest: Digest,
    },
    /// The destination reference already points at the same digest.
    UpToDate {
        /// The shared digest.
        digest: Digest,
    },
    /// The destination reference points at another digest and overriding is off.
    SkippedExisting {
        /// The source's digest.
        source: Digest,
        /// The destination's digest, left in place.
        existing: Digest,
    },
}

impl Outcome {
    /// A short explanation for logs and task records.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Copied { digest } => format!("copied {digest}"),
            Outcome::UpToDate { digest } => format!("up to date ({digest})"),
            Outcome::SkippedExisting { source, existing } => format!(
                "skipped: the destination tag points at {existing}, not {source}, and override is off"
            ),
        }
    }
}

/// What one copy did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// The artifact's fate.
    pub outcome: Outcome,
    /// Manifests (images, indexes, referrers) written to the destination.
    pub manifests_copied: u64,
    /// Manifests already at the destination.
    pub manifests_skipped: u64,
    /// Referrer manifests among those written.
    pub referrers_copied: u64,
    /// Blobs streamed from the source to the destination.
    pub blobs_copied: u64,
    /// Blobs already at the destination (found there, or placed earlier in the session).
    pub blobs_skipped: u64,
    /// Blobs mounted from another repository of the destination.
    pub blobs_mounted: u64,
    /// Foreign (non-distributable) layers left out.
    pub blobs_foreign: u64,
    /// Blob bytes transferred.
    pub bytes_copied: u64,
}

/// Counters updated by concurrent blob copies.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) manifests_copied: AtomicU64,
    pub(crate) manifests_skipped: AtomicU64,
    pub(crate) referrers_copied: AtomicU64,
    pub(crate) blobs_copied: AtomicU64,
    pub(crate) blobs_skipped: AtomicU64,
    pub(crate) blobs_mounted: AtomicU64,
    pub(crate) blobs_foreign: AtomicU64,
    pub(crate) bytes_copied: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn report(&self, outcome: Outcome) -> CopyReport {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CopyReport {
            outcome,
            manifests_copied: get(&self.manifests_copied),
            manifests_skipped: get(&self.manifests_skipped),
            referrers_copied: get(&self.referrers_copied),
            blobs_copied: get(&self.blobs_copied),
            blobs_skipped: get(&self.blobs_skipped),
            blobs_mounted: get(&self.blobs_mounted),
            blobs_foreign: get(&self.blobs_foreign),
            bytes_copied: get(&self.bytes_copied),
        }
    }
}

/// Why a copy failed, and on which side.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CopyError {
    /// Stopped through the cancellation token.
    #[error("copy cancelled")]
    Cancelled,
    /// The source failed (not found, unauthorized, address refused, bad content...).
    #[error("source: {subject}: {error}")]
    Source {
        /// What was being read.
        subject: String,
        /// Why it failed.
        error: Error,
    },
    /// The destination failed (denied, quota exceeded, unauthorized...).
    #[error("destination: {subject}: {error}")]
    Destination {
        /// What was being written.
        subject: String,
        /// Why it failed.
        error: Error,
    },
}

impl CopyError {
    /// The underlying client error (`None` when cancelled).
    pub fn error(&self) -> Option<&Error> {
        match self {
            CopyError::Cancelled => None,
            CopyError::Source { error, .. } | CopyError::Destination { error, .. } => Some(error),
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.error().is_some_and(|e| e.is_transient())
    }

    pub(crate) fn source(subject: impl Into<String>, error: Error) -> Self {
        match error {
            Error::Cancelled => CopyError::Cancelled,
            error => CopyError::Source {
                subject: subject.into(),
                error,
            },
        }
    }

    pub(crate) fn destination(subject: impl Into<String>, error: Error) -> Self {
        match error {
            Error::Cancelled => CopyError::Cancelled,
            error => CopyError::Destination {
                subject: subject.into(),
                error,
            },
        }
    }
}
