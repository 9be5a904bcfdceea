//! The copy engine: one artifact from a source to a destination, with every platform of
//! an index (children before their parent), its referrers after it, and its blobs
//! de-duplicated across the session, checked at the destination, mounted when another
//! repository there holds them, else streamed GET → PUT with bounded concurrency and
//! per-blob retries.

mod end;
mod report;
mod seen;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use harbor_core::manifest::{self, BlobRef, ManifestKind};
use harbor_core::{Digest, Reference, RepositoryName};
use tokio_util::sync::CancellationToken;

pub use end::RegistryEnd;
pub use report::{CopyError, CopyReport, Outcome};
pub use seen::Seen;

use crate::client::Manifest;
use crate::error::Error;
use crate::ratelimit::{RateLimiter, throttle};
use crate::stream::ByteStream;
use report::{Counters, bump};

/// Referrers of referrers are followed this deep (a signature of an SBOM of an image).
const MAX_REFERRER_DEPTH: usize = 3;

/// How a copy behaves.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// Replace a destination tag that points at another digest (Harbor's `override`).
    pub override_existing: bool,
    /// Copy the manifests referring to each copied manifest (signatures, SBOMs).
    pub referrers: bool,
    /// Blobs of one manifest transferred at once.
    pub concurrency: usize,
    /// Attempts per blob (the first included) on transient failures.
    pub blob_attempts: u32,
    /// Wait before the second attempt of a blob; doubled for each further one.
    pub blob_backoff: Duration,
    /// Bandwidth limit for the blobs of this copy (shared with other copies of the task
    /// through its `Arc`). It paces the one stream that is both read and written, so it
    /// limits both directions; do not also set it on the clients.
    pub rate_limiter: Option<Arc<RateLimiter>>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            override_existing: false,
            referrers: true,
            concurrency: 4,
            blob_attempts: 5,
            blob_backoff: Duration::from_secs(2),
            rate_limiter: None,
        }
    }
}

/// A repository and reference on one side of a copy.
#[derive(Clone, Copy)]
pub struct Location<'a> {
    /// The registry.
    pub end: &'a dyn RegistryEnd,
    /// The repository.
    pub repo: &'a RepositoryName,
    /// A tag or digest.
    pub reference: &'a Reference,
}

/// Copies the artifact at `from` to `to`. `seen` remembers the blobs placed in the
/// destination across the copies of a session; `cancel` is checked before each manifest
/// and blob and interrupts transfers.
pub async fn copy_artifact(
    from: Location<'_>,
    to: Location<'_>,
    options: &CopyOptions,
    seen: &Seen,
    cancel: &CancellationToken,
) -> Result<CopyReport, CopyError> {
    let run = Run {
        src: from.end,
        src_repo: from.repo,
        dst: to.end,
        dst_repo: to.repo,
        options,
        seen,
        cancel,
        counters: Counters::default(),
        visited: Mutex::new(HashSet::new()),
    };
    let outcome = run.copy(from.reference, to.reference).await?;
    Ok(run.counters.report(outcome))
}

struct Run<'a> {
    src: &'a dyn RegistryEnd,
    src_repo: &'a RepositoryName,
    dst: &'a dyn RegistryEnd,
    dst_repo: &'a RepositoryName,
    options: &'a CopyOptions,
    seen: &'a Seen,
    cancel: &'a CancellationToken,
    counters: Counters,
    /// Manifests handled in this copy (an index may list a child twice; referrers may loop).
    visited: Mutex<HashSet<Digest>>,
}

impl Run<'_> {
    fn check_cancel(&self) -> Result<(), CopyError> {
        if self.cancel.is_cancelled() {
            Err(CopyError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn first_visit(&self, digest: &Digest) -> bool {
        match self.visited.lock() {
            Ok(mut v) => v.insert(digest.clone()),
            Err(p) => p.into_inner().insert(digest.clone()),
        }
    }

    fn src_subject(&self, what: impl std::fmt::Display) -> String {
        format!("{} {what}", self.src_repo)
    }

    fn dst_subject(&self, what: impl std::fmt::Display) -> String {
        format!("{} {what}", self.dst_repo)
    }

    async fn copy(
        &self,
        reference: &Reference,
        dst_reference: &Reference,
    ) -> Result<Outcome, CopyError> {
        self.check_cancel()?;
        let top = self
            .src
            .get_manifest(self.src_repo, reference)
            .await
            .map_err(|e| CopyError::source(self.src_subject(format!("manifest {reference}")), e))?;
        let existing = self
            .dst
            .head_manifest(self.dst_repo, dst_reference)
            .await
            .map_err(|e| {
                CopyError::destination(self.dst_subject(format!("manifest {dst_reference}")), e)
            })?;
        match existing {
            Some(d) if d.digest == top.digest => {
                bump(&self.counters.manifests_skipped, 1);
                self.first_visit(&top.digest);
                self.copy_referrers(&top.digest, 0).await?;
                return Ok(Outcome::UpToDate { digest: top.digest });
            }
            Some(d) if !self.options.override_existing => {
                return Ok(Outcome::SkippedExisting {
                    source: top.digest,
                    existing: d.digest,
                });
            }
            _ => {}
        }
        self.first_visit(&top.digest);
        let digest = top.digest.clone();
        self.copy_tree(top, dst_reference, 0).await?;
        Ok(Outcome::Copied { digest })
    }

    /// Copies a manifest's children or blobs, then the manifest (under `put_as`), then its
    /// referrers.
    async fn copy_tree(
        &self,
        m: Manifest,
        put_as: &Reference,
        depth: usize,
    ) -> Result<(), CopyError> {
        self.check_cancel()?;
        let parsed = manifest::parse(Some(&m.media_type), &m.bytes).map_err(|e| {
            CopyError::source(
                self.src_subject(format!("manifest {}", m.digest)),
                Error::UnsupportedManifest(e.to_string()),
            )
        })?;
        match parsed.kind {
            ManifestKind::Index => {
                for child in &parsed.manifests {
                    self.check_cancel()?;
                    if !self.first_visit(&child.digest) {
                        continue;
                    }
                    self.copy_by_digest(&child.digest, depth).await?;
                }
            }
            ManifestKind::Image => self.copy_blobs(&parsed.blobs).await?,
        }
        self.check_cancel()?;
        self.dst
            .put_manifest(self.dst_repo, put_as, &m)
            .await
            .map_err(|e| {
                CopyError::destination(self.dst_subject(format!("manifest {put_as}")), e)
            })?;
        bump(&self.counters.manifests_copied, 1);
        self.copy_referrers(&m.digest, depth).await
    }

    /// Copies the manifest `digest` unless the destination has it (then only its
    /// referrers are looked at).
    async fn copy_by_digest(&self, digest: &Digest, depth: usize) -> Result<(), CopyError> {
        let reference = Reference::Digest(digest.clone());
        let present = self
            .dst
            .head_manifest(self.dst_repo, &reference)
            .await
            .map_err(|e| {
                CopyError::destination(self.dst_subject(format!("manifest {digest}")), e)
            })?;
        if present.is_some() {
            bump(&self.counters.manifests_skipped, 1);
            return self.copy_referrers(digest, depth).await;
        }
        let m = self
            .src
            .get_manifest(self.src_repo, &reference)
            .await
            .map_err(|e| CopyError::source(self.src_subject(format!("manifest {digest}")), e))?;
        Box::pin(self.copy_tree(m, &reference, depth)).await
    }

    /// Copies the referrers of `subject` (and theirs, up to [`MAX_REFERRER_DEPTH`]).
    async fn copy_referrers(&self, subject: &Digest, depth: usize) -> Result<(), CopyError> {
        if !self.options.referrers || depth >= MAX_REFERRER_DEPTH {
            return Ok(());
        }
        let referrers = match self.src.referrers(self.src_repo, subject).await {
            Ok(r) => r,
            Err(Error::NotFound(_)) => Vec::new(),
            Err(e) => {
                return Err(CopyError::source(
                    self.src_subject(format!("referrers of {subject}")),
                    e,
                ));
            }
        };
        for r in referrers {
            self.check_cancel()?;
            if !self.first_visit(&r.descriptor.digest) {
                continue;
            }
            let before = self
                .counters
                .manifests_copied
                .load(std::sync::atomic::Ordering::Relaxed);
            Box::pin(self.copy_by_digest(&r.descriptor.digest, depth + 1)).await?;
            if self
                .counters
                .manifests_copied
                .load(std::sync::atomic::Ordering::Relaxed)
                > before
            {
                bump(&self.counters.referrers_copied, 1);
            }
        }
        Ok(())
    }

    /// Copies an image's blobs, `concurrency` at a time; foreign layers are left out.
    async fn copy_blobs(&self, blobs: &[BlobRef]) -> Result<(), CopyError> {
        let mut unique = HashSet::new();
        let mut todo = Vec::new();
        for b in blobs {
            if !b.distributable {
                bump(&self.counters.blobs_foreign, 1);
            } else if unique.insert(b.descriptor.digest.clone()) {
                todo.push(b);
            }
        }
        futures::stream::iter(todo.into_iter().map(Ok))
            .try_for_each_concurrent(self.options.concurrency.max(1), |b| {
                self.copy_blob(&b.descriptor.digest, b.descriptor.size)
            })
            .await
    }

    /// One blob: skip if the session placed it or the destination has it, else mount it
    /// from a repository known to hold it, else transfer it (with retries).
    async fn copy_blob(&self, digest: &Digest, size: u64) -> Result<(), CopyError> {
        self.check_cancel()?;
        let gate = self.seen.gate(digest);
        let _turn = gate.lock().await;
        self.check_cancel()?;
        if self.seen.holds(digest, self.dst_repo) {
            bump(&self.counters.blobs_skipped, 1);
            return Ok(());
        }
        let subject = || self.dst_subject(format!("blob {digest}"));
        if self
            .dst
            .blob_exists(self.dst_repo, digest)
            .await
            .map_err(|e| CopyError::destination(subject(), e))?
            .is_some()
        {
            self.seen.record(digest, self.dst_repo);
            bump(&self.counters.blobs_skipped, 1);
            return Ok(());
        }
        for from in self.seen.holders(digest) {
            if &from == self.dst_repo {
                continue;
            }
            match self.dst.mount_blob(self.dst_repo, digest, &from).await {
                Ok(true) => {
                    self.seen.record(digest, self.dst_repo);
                    bump(&self.counters.blobs_mounted, 1);
                    return Ok(());
                }
                Ok(false) => {}
                Err(e) => tracing::debug!(%digest, %from, error = %e, "mount failed; copying"),
            }
        }
        let attempts = self.options.blob_attempts.max(1);
        let mut attempt = 1;
        loop {
            self.check_cancel()?;
            let result = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => Err(CopyError::Cancelled),
                r = self.transfer(digest, size) => r,
            };
            match result {
                Ok(()) => {
                    self.seen.record(digest, self.dst_repo);
                    bump(&self.counters.blobs_copied, 1);
                    bump(&self.counters.bytes_copied, size);
                    return Ok(());
                }
                Err(e) if attempt < attempts && retry_blob(&e) => {
                    let wait = self
                        .options
                        .blob_backoff
                        .saturating_mul(1 << (attempt - 1).min(16));
                    tracing::info!(%digest, attempt, error = %e, ?wait, "blob copy failed; retrying");
                    tokio::select! {
                        _ = self.cancel.cancelled() => return Err(CopyError::Cancelled),
                        _ = tokio::time::sleep(wait) => {}
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Streams one blob from the source into the destination.
    async fn transfer(&self, digest: &Digest, size: u64) -> Result<(), CopyError> {
        let src_subject = || self.src_subject(format!("blob {digest}"));
        let blob = self
            .src
            .get_blob(self.src_repo, digest)
            .await
            .map_err(|e| CopyError::source(src_subject(), e))?;
        if blob.size != size {
            return Err(CopyError::source(
                src_subject(),
                Error::SizeMismatch {
                    digest: digest.clone(),
                    expected: size,
                    actual: blob.size,
                },
            ));
        }
        // The source's own failure, kept to tell it from the destination's.
        let failure: Arc<Mutex<Option<Error>>> = Arc::new(Mutex::new(None));
        let slot = failure.clone();
        let body = blob.stream.map(move |item| {
            item.inspect_err(|e| {
                if let Ok(mut s) = slot.lock() {
                    s.get_or_insert_with(|| e.clone());
                }
            })
        });
        let body: ByteStream = match &self.options.rate_limiter {
            Some(l) => Box::pin(throttle(body, l.clone())),
            None => Box::pin(body),
        };
        let pushed = self.dst.push_blob(self.dst_repo, digest, size, body).await;
        let source_failure = failure.lock().ok().and_then(|mut s| s.take());
        match (pushed, source_failure) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(e)) => Err(CopyError::source(src_subject(), e)),
            (Err(e), None) => Err(CopyError::destination(
                self.dst_subject(format!("blob {digest}")),
                e,
            )),
        }
    }
}

/// Whether a failed blob copy is worth another attempt: transient failures, and a body
/// that did not match its digest (a transfer corrupted on the way).
fn retry_blob(e: &CopyError) -> bool {
    e.is_transient()
        || matches!(
            e,
            CopyError::Source {
                error: Error::DigestMismatch { .. },
                ..
            }
        )
}
