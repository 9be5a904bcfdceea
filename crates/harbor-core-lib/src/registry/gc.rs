//! Online garbage collection (docs/gc.md): untagged artifacts first (optional), then
//! mark & sweep of unreferenced blobs, batch by batch, while pushes and pulls go on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::Registry;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::gc::{GcCandidate, GcParams, GcProgress, digest_ranges};
use crate::model::{BlobState, UploadId, now_ms};
use crate::names::{Reference, RepositoryName};

/// Candidates marked per transaction: small enough that a mark never holds the
/// database for long (SQLite has one writer), large enough to keep round trips few.
const MARK_BATCH: usize = 500;
/// Untagged manifests listed per query.
const UNTAGGED_PAGE: usize = 500;
/// Passes over untagged manifests: deleting an index or a subject can leave its
/// children or referrers untagged, which the next pass takes.
const UNTAGGED_PASSES: usize = 4;
/// How long a push waits for a run to finish deleting the blob it is storing.
const DELETING_WAIT: Duration = Duration::from_secs(30);
/// How often it looks meanwhile.
const DELETING_POLL: Duration = Duration::from_millis(25);
/// A HEAD restarts a blob's GC time window at most this often (one write per blob per
/// period rather than one per request).
pub(super) const TOUCH_PERIOD_MS: i64 = 60_000;

/// What a running collection reports to, and hears from, whoever runs it (the job
/// runner in the server; a test).
pub trait GcObserver: Send + Sync {
    /// A line for the run's log.
    fn log(&self, line: String);
    /// The progress so far.
    fn progress(&self, progress: &GcProgress);
    /// True once the run should stop (it stops between batches).
    fn stopped(&self) -> bool;
}

/// An observer that records nothing and never stops.
#[derive(Debug, Default)]
pub struct QuietGc {
    stop: AtomicBool,
}

impl QuietGc {
    /// Asks the run to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl GcObserver for QuietGc {
    fn log(&self, _line: String) {}
    fn progress(&self, _progress: &GcProgress) {}
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl Registry {
    /// Runs one garbage collection. Returns the final progress; a stopped run returns
    /// [`Error::Precondition`]-free `Ok` with what it did so far (check
    /// [`GcObserver::stopped`]).
    pub async fn collect_garbage(
        &self,
        params: &GcParams,
        observer: &dyn GcObserver,
    ) -> Result<GcProgress> {
        params.validate()?;
        let started = Instant::now();
        let cutoff = now_ms().saturating_sub(params.window_ms());
        let mut p = GcProgress {
            phase: "untagged".into(),
            dry_run: params.dry_run,
            time_window_hours: params.time_window,
            ..GcProgress::default()
        };
        observer.log(format!(
            "start: delete_untagged={} dry_run={} workers={} time_window={}h",
            params.delete_untagged, params.dry_run, params.workers, params.time_window
        ));
        if params.delete_untagged {
            self.delete_untagged(params, cutoff, &mut p, observer)
                .await?;
            observer.log(format!(
                "untagged artifacts {}: {}",
                if params.dry_run {
                    "to delete"
                } else {
                    "deleted"
                },
                p.artifacts_deleted
            ));
        }
        if observer.stopped() {
            return Ok(p);
        }
        p.phase = "mark".into();
        p.blobs_total = self.meta.blob_count().await?;
        observer.progress(&p);
        let ranges = digest_ranges();
        p.ranges_total = ranges.len() as u64;
        for (from, to) in &ranges {
            if observer.stopped() {
                observer.log("stopped".into());
                return Ok(p);
            }
            let found = self.meta.gc_candidates(cutoff, from, to).await?;
            p.ranges_done += 1;
            p.blobs_candidates += found.len() as u64;
            if params.dry_run {
                p.blobs_deleted += found.len() as u64;
                p.bytes_freed += found.iter().map(|c| c.size).sum::<u64>();
            } else {
                if !found.is_empty() {
                    p.phase = "sweep".into();
                }
                for batch in found.chunks(MARK_BATCH) {
                    let marked = self.meta.mark_blobs(batch, cutoff).await?;
                    self.sweep(&marked, params.workers, &mut p, observer)
                        .await?;
                }
            }
            if p.ranges_done.is_multiple_of(16) || !found.is_empty() {
                observer.progress(&p);
            }
        }
        (p.blobs_kept_young, p.bytes_kept_young) = self.meta.young_garbage(cutoff).await?;
        p.phase = "done".into();
        observer.progress(&p);
        observer.log(format!(
            "done in {:.1}s: {} of {} blobs {}, {} bytes, {} failed",
            started.elapsed().as_secs_f64(),
            p.blobs_deleted,
            p.blobs_total,
            if params.dry_run {
                "collectable"
            } else {
                "deleted"
            },
            p.bytes_freed,
            p.blobs_failed
        ));
        if p.blobs_kept_young > 0 {
            observer.log(format!(
                "{} blobs kept ({} bytes): younger than the time window of {} h",
                p.blobs_kept_young, p.bytes_kept_young, params.time_window
            ));
        }
        Ok(p)
    }

    /// Deletes the bytes of marked blobs with `workers` requests in flight, then records
    /// the ones gone. A failed delete stays marked and is retried by the next run.
    async fn sweep(
        &self,
        marked: &[GcCandidate],
        workers: u32,
        p: &mut GcProgress,
        observer: &dyn GcObserver,
    ) -> Result<()> {
        // Owned values in the futures: a borrowed stream here makes the whole run's
        // future not `Send` (rust-lang/rust#102211).
        let results: Vec<(GcCandidate, Result<()>)> = futures::stream::iter(marked.iter().cloned())
            .map(|c| {
                let blobs = self.blobs.clone();
                async move {
                    let r = blobs.delete(&c.digest).await;
                    (c, r)
                }
            })
            .buffer_unordered(workers.max(1) as usize)
            .collect()
            .await;
        let mut gone = Vec::with_capacity(results.len());
        for (c, r) in results {
            match r {
                Ok(()) => {
                    p.blobs_deleted += 1;
                    p.bytes_freed += c.size;
                    gone.push(c.digest.clone());
                }
                Err(e) => {
                    p.blobs_failed += 1;
                    observer.log(format!("could not delete {}: {e}", c.digest));
                }
            }
        }
        self.meta.finish_blobs(&gone).await
    }

    /// Deletes untagged artifacts pushed before `cutoff` (their accessories with them),
    /// each only if still untagged when its row is locked.
    async fn delete_untagged(
        &self,
        params: &GcParams,
        cutoff: i64,
        p: &mut GcProgress,
        observer: &dyn GcObserver,
    ) -> Result<()> {
        for _ in 0..UNTAGGED_PASSES {
            let mut deleted_this_pass = 0u64;
            let mut after: Option<(RepositoryName, Digest)> = None;
            loop {
                if observer.stopped() {
                    return Ok(());
                }
                let page = self
                    .meta
                    .untagged_manifests(cutoff, after.as_ref(), UNTAGGED_PAGE)
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.clone());
                for (repo, digest) in &page {
                    if params.dry_run {
                        p.artifacts_deleted += 1;
                        continue;
                    }
                    if self.delete_untagged_one(repo, digest, observer).await? {
                        deleted_this_pass += 1;
                        p.artifacts_deleted += 1;
                    }
                }
                observer.progress(p);
            }
            if params.dry_run || deleted_this_pass == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Deletes one untagged artifact and its tagged accessories (cosign `.sig`/`.att`/
    /// `.sbom` tags); untagged accessories (referrers) go in the next pass.
    async fn delete_untagged_one(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        observer: &dyn GcObserver,
    ) -> Result<bool> {
        let record = self
            .meta
            .artifact(repo, &Reference::Digest(digest.clone()))
            .await?;
        let accessories = match &record {
            Some(r) => {
                self.meta
                    .accessories(r.repository_id, &[(r.id, r.digest.clone())])
                    .await?
            }
            None => Vec::new(),
        };
        let event = crate::events::NewEvent::now(
            crate::events::SYSTEM,
            crate::events::DomainEvent::ArtifactDeleted {
                repository: repo.to_string(),
                digest: digest.to_string(),
            },
        );
        if !self
            .meta
            .delete_untagged_manifest(repo, digest, std::slice::from_ref(&event))
            .await?
        {
            return Ok(false);
        }
        self.signal.written();
        observer.log(format!("deleted untagged {repo}@{digest}"));
        for acc in accessories {
            match self
                .delete_artifact(crate::events::SYSTEM, repo, acc.digest.as_str())
                .await
            {
                Ok(_) | Err(Error::ManifestUnknown(_)) | Err(Error::NotFound(_)) => {}
                Err(e) => observer.log(format!(
                    "kept accessory {repo}@{} of a deleted artifact: {e}",
                    acc.digest
                )),
            }
        }
        Ok(true)
    }

    /// Waits until no collection is deleting `digest` and returns the version of its row
    /// to vouch with after storing its bytes ([`Error::BlobChanged`] if that takes too
    /// long: a run that died midway leaves the blob deleting until the next run).
    pub(super) async fn settled_version(&self, digest: &Digest) -> Result<i64> {
        let deadline = Instant::now() + DELETING_WAIT;
        loop {
            let v = self.meta.blob_version(digest).await?;
            if v.state != BlobState::Deleting {
                return Ok(v.version);
            }
            if Instant::now() >= deadline {
                return Err(Error::BlobChanged(digest.clone()));
            }
            tokio::time::sleep(DELETING_POLL).await;
        }
    }

    /// Records bytes just committed as `digest` and links them to `repo`, deleting the
    /// upload session `session` (if any). `seen` is [`Registry::settled_version`] from
    /// before the commit. If a collection marked the row since, our bytes may have been
    /// deleted after we stored them: wait for it to finish, and vouch again only for
    /// bytes storage still holds.
    pub(super) async fn link_stored(
        &self,
        session: Option<&UploadId>,
        repo: &RepositoryName,
        digest: &Digest,
        len: u64,
        seen: i64,
    ) -> Result<()> {
        let mut seen = seen;
        for _ in 0..3 {
            match self
                .meta
                .finish_upload(session, repo, digest, len, seen)
                .await
            {
                Err(Error::BlobChanged(_)) => {
                    seen = self.settled_version(digest).await?;
                    if self.blobs.size(digest).await? != Some(len) {
                        break;
                    }
                }
                other => return other,
            }
        }
        if let Some(id) = session {
            self.meta.delete_upload(id).await?;
        }
        Err(Error::BlobChanged(digest.clone()))
    }
}
