//! Online garbage collection: the parameters, the progress report and the store port.
//!
//! The run itself is `Registry::collect_garbage` (`registry/gc.rs`); the safety argument
//! (why a push racing a run never ends with a manifest whose blobs are gone) is in
//! `docs/gc.md`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::model::BlobState;
use crate::names::RepositoryName;

/// The job kind of a garbage collection run (Harbor's job name).
pub const JOB_KIND: &str = "GARBAGE_COLLECTION";

/// Most deletion workers a run may use (Harbor's API allows 1 to 10).
pub const MAX_WORKERS: u32 = 10;

/// What a run does, as Harbor's `job_parameters`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GcParams {
    /// Delete artifacts that have no tag (and are no index's child nor a live artifact's
    /// accessory) first, so that their blobs become garbage too.
    pub delete_untagged: bool,
    /// Only report what would be deleted.
    pub dry_run: bool,
    /// Concurrent blob deletions (1 to [`MAX_WORKERS`]).
    pub workers: u32,
    /// Hours a blob (or an untagged artifact) must have gone untouched before it may go;
    /// 0 allowed. Protects pushes that upload blobs before their manifest.
    pub time_window: u64,
}

impl Default for GcParams {
    fn default() -> Self {
        GcParams {
            delete_untagged: true,
            dry_run: false,
            workers: 1,
            time_window: 2,
        }
    }
}

impl GcParams {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_WORKERS).contains(&self.workers) {
            return Err(Error::Invalid(format!(
                "workers must be between 1 and {MAX_WORKERS}, not {}",
                self.workers
            )));
        }
        if self.time_window > 24 * 365 {
            return Err(Error::Invalid(format!(
                "time_window is in hours and at most one year, not {}",
                self.time_window
            )));
        }
        Ok(())
    }

    /// The time window in milliseconds.
    pub fn window_ms(&self) -> i64 {
        i64::try_from(self.time_window)
            .unwrap_or(i64::MAX / 3_600_000)
            .saturating_mul(3_600_000)
    }
}

/// Where a run stands; stored as the job's progress while it runs and as its result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GcProgress {
    /// `untagged`, `mark`, `sweep` or `done`.
    pub phase: String,
    /// Whether this is a dry run.
    pub dry_run: bool,
    /// Untagged artifacts deleted (or that a dry run would delete).
    pub artifacts_deleted: u64,
    /// Blob records examined (all blobs the database holds when the run started).
    pub blobs_total: u64,
    /// Ranges of the digest space examined so far (of `ranges_total`): the run's share
    /// done.
    pub ranges_done: u64,
    /// Ranges in all (512).
    pub ranges_total: u64,
    /// Blobs found to be garbage.
    pub blobs_candidates: u64,
    /// Blobs deleted from storage (a dry run: that would be).
    pub blobs_deleted: u64,
    /// Bytes those blobs held.
    pub bytes_freed: u64,
    /// Blobs that could not be deleted from storage this time (retried next run).
    pub blobs_failed: u64,
    /// Unreferenced blobs kept because they were pushed or used within the time window
    /// (a later run takes them once they are older).
    pub blobs_kept_young: u64,
    /// Bytes those blobs hold.
    pub bytes_kept_young: u64,
    /// The time window of the run, in hours.
    pub time_window_hours: u64,
}

/// A blob garbage collection may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcCandidate {
    /// Its digest.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// [`BlobState::Live`] (unreferenced and untouched within the window) or
    /// [`BlobState::Deleting`] (left by a run that stopped midway).
    pub state: BlobState,
}

/// The digest space cut into `[from, to)` ranges by algorithm and first two hex digits
/// (512 ranges): small enough that one range's candidates fit in memory at any scale.
pub fn digest_ranges() -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(512);
    for alg in ["sha256:", "sha512:"] {
        for i in 0..256u32 {
            let from = format!("{alg}{i:02x}");
            // One past "ff" is "fg": 'g' sorts after every hex digit.
            let to = if i == 255 {
                format!("{alg}fg")
            } else {
                format!("{alg}{:02x}", i + 1)
            };
            out.push((from, to));
        }
    }
    out
}

/// What garbage collection needs from the metadata store: set operations in the
/// database, never a walk over storage.
#[async_trait]
pub trait GcStore: Send + Sync {
    /// Number of blob records (any state but deleted).
    async fn blob_count(&self) -> Result<u64>;

    /// Up to `limit` manifests, after `after` in `(repository, digest)` order, that no
    /// tag points at, that no manifest of their repository lists as a child, whose
    /// subject (if any) is not in their repository, and that were pushed before
    /// `cutoff_ms`.
    async fn untagged_manifests(
        &self,
        cutoff_ms: i64,
        after: Option<&(RepositoryName, Digest)>,
        limit: usize,
    ) -> Result<Vec<(RepositoryName, Digest)>>;

    /// Deletes a manifest as `MetadataStore::delete_manifest` does, but only if it is
    /// still untagged and no index's child, checked after locking it; false otherwise.
    /// `events` are appended in the same transaction when it is deleted.
    async fn delete_untagged_manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        events: &[crate::events::NewEvent],
    ) -> Result<bool>;

    /// The candidates with a digest in `[from, to)`, in digest order: live blobs that no
    /// manifest references (nor is), touched before `cutoff_ms`, and blobs left deleting
    /// by an earlier run. A run walks the digest space in [`digest_ranges`], so each
    /// blob record is examined once and each query is a bounded anti-join.
    async fn gc_candidates(&self, cutoff_ms: i64, from: &str, to: &str)
    -> Result<Vec<GcCandidate>>;

    /// In one transaction: locks the live `candidates`, drops those that became
    /// referenced or were touched at or after `cutoff_ms`, marks the rest deleting
    /// (version + 1), removes their repository links and releases them from project
    /// quotas. Returns the marked ones with those already deleting among `candidates`:
    /// the blobs whose bytes may now be removed.
    async fn mark_blobs(
        &self,
        candidates: &[GcCandidate],
        cutoff_ms: i64,
    ) -> Result<Vec<GcCandidate>>;

    /// The number and total size of live blobs no manifest references (nor is) that
    /// were touched at or after `cutoff_ms`: garbage a run keeps for its time window.
    async fn young_garbage(&self, cutoff_ms: i64) -> Result<(u64, u64)>;

    /// Marks blobs whose bytes are gone as deleted (version + 1).
    async fn finish_blobs(&self, digests: &[Digest]) -> Result<()>;

    /// Up to `limit` blob records after `after` in digest order, with size and state
    /// (for the consistency check).
    async fn blob_records(
        &self,
        after: Option<&Digest>,
        limit: usize,
    ) -> Result<Vec<(Digest, u64, BlobState)>>;

    /// Takes objects storage holds without a live record (orphans) for deletion, with
    /// the same compare-and-set as a mark: each gets (or its tombstone becomes) a
    /// deleting record, so an upload racing the repair can tell. Returns those taken;
    /// an orphan that became live meanwhile is left alone. Finish with
    /// [`GcStore::finish_blobs`].
    async fn claim_orphans(&self, orphans: &[(Digest, u64)]) -> Result<Vec<Digest>>;

    /// Up to `limit` upload sessions not written to since `before_ms` and not held by a
    /// request (no lease, or an expired one at `now_ms`).
    async fn stale_uploads(
        &self,
        before_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<crate::model::UploadSession>>;

    /// Whether an upload session with this id exists (in any repository).
    async fn upload_session_exists(&self, id: &crate::model::UploadId) -> Result<bool>;
}

/// The job kind of a storage consistency check.
pub const FSCK_JOB_KIND: &str = "FSCK";

/// The job kind of the abandoned-upload cleanup.
pub const UPLOAD_CLEANUP_JOB_KIND: &str = "UPLOAD_CLEANUP";

/// Most problems of each kind a consistency report lists by name (all are counted).
pub const FSCK_LIST_LIMIT: usize = 1000;

/// What the storage consistency check found (and repaired).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FsckReport {
    /// Blob records examined: live ones and those being deleted (the tombstones of
    /// deleted blobs are not counted).
    pub records: u64,
    /// Objects storage holds under the blob directory.
    pub objects: u64,
    /// Live records whose object is missing (content a pull would fail on).
    pub missing_count: u64,
    /// Their digests (the first [`FSCK_LIST_LIMIT`]).
    pub missing: Vec<String>,
    /// Objects with no live record (left by a crash, or by a run that lost its record).
    pub orphan_count: u64,
    /// Bytes those orphans hold.
    pub orphan_bytes: u64,
    /// Their digests (the first [`FSCK_LIST_LIMIT`]).
    pub orphans: Vec<String>,
    /// Orphans younger than the grace period: skipped (an upload may be recording them).
    pub orphans_too_young: u64,
    /// Live records whose object has another size.
    pub size_mismatch_count: u64,
    /// `digest: recorded != stored` lines (the first [`FSCK_LIST_LIMIT`]).
    pub size_mismatches: Vec<String>,
    /// Orphans removed by a repair.
    pub orphans_removed: u64,
}

impl FsckReport {
    /// True if nothing is missing, orphaned or of the wrong size.
    pub fn clean(&self) -> bool {
        self.missing_count == 0 && self.orphan_count == 0 && self.size_mismatch_count == 0
    }
}

/// What the abandoned-upload cleanup removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadCleanup {
    /// Upload sessions removed with their staged data.
    pub sessions: u64,
    /// Staging areas with no session (a crashed single-request upload) removed.
    pub orphan_staging: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ranges_cover_every_digest_once() {
        let ranges = digest_ranges();
        assert_eq!(ranges.len(), 512);
        for d in [
            Digest::sha256(b"a"),
            Digest::sha256(b"b"),
            Digest::parse(&format!("sha512:{}", "c".repeat(128))).unwrap(),
            Digest::parse(&format!("sha256:{}", "f".repeat(64))).unwrap(),
            Digest::parse(&format!("sha256:{}", "0".repeat(64))).unwrap(),
        ] {
            let hits = ranges
                .iter()
                .filter(|(from, to)| d.as_str() >= from.as_str() && d.as_str() < to.as_str())
                .count();
            assert_eq!(hits, 1, "{d}");
        }
    }

    #[test]
    fn params_are_checked() {
        assert!(GcParams::default().validate().is_ok());
        for bad in [
            GcParams {
                workers: 0,
                ..GcParams::default()
            },
            GcParams {
                workers: 11,
                ..GcParams::default()
            },
            GcParams {
                time_window: 24 * 366,
                ..GcParams::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert_eq!(
            GcParams {
                time_window: 2,
                ..GcParams::default()
            }
            .window_ms(),
            7_200_000
        );
    }
}
