//! Storage quotas: the records, Harbor's size formatting and its "exceeded" message.
//!
//! A project's usage is the sum of the sizes of the distinct digests (blobs and
//! manifests) it holds, each counted once per project; `docs/quotas.md` defines it
//! precisely. The accounting itself happens in the metadata store, in the same
//! transaction as the link or insert that changes the usage.

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::events::NewEvent;
use crate::identity::Page;

/// A hard limit meaning "no limit".
pub const UNLIMITED: i64 = -1;

/// A project's storage quota.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Quota id (Harbor's `Quota.id`, distinct from the project id).
    pub id: i64,
    /// The project it limits.
    pub project_id: i64,
    /// The project's name.
    pub project_name: String,
    /// The project owner's username (empty once the owner is deleted).
    pub owner_name: String,
    /// Hard limit in bytes; [`UNLIMITED`] for none.
    pub hard: i64,
    /// Bytes in use.
    pub used: i64,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// Last change of the limit or the usage, ms since the epoch.
    pub updated_ms: i64,
}

/// Sort keys of a quota listing (Harbor: `sort=hard.storage`, `-used.storage`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaSortKey {
    /// Quota id.
    Id,
    /// Hard limit (unlimited sorts last ascending).
    Hard,
    /// Usage.
    Used,
    /// Creation time.
    CreationTime,
    /// Update time.
    UpdateTime,
}

/// Filters of a quota listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaQuery {
    /// Only the quota of this project.
    pub project_id: Option<i64>,
    /// Sort keys with `true` for descending; by id when empty.
    pub sort: Vec<(QuotaSortKey, bool)>,
}

/// What a recount found: the usage stored, the usage counted from scratch, and how many
/// digests the charged set and the counted set disagree on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaRecount {
    /// The project.
    pub project_id: i64,
    /// `used` as stored (before a repair).
    pub stored: i64,
    /// Sum of the sizes in the charged set (before a repair).
    pub charged: i64,
    /// Usage counted from the repositories, manifests and blob links.
    pub recounted: i64,
    /// Digests charged but not referenced, plus digests referenced but not charged.
    pub drifted_digests: u64,
}

impl QuotaRecount {
    /// True when the stored usage, the charged set and the recount all agree.
    pub fn consistent(&self) -> bool {
        self.stored == self.recounted && self.charged == self.recounted && self.drifted_digests == 0
    }
}

/// Storage quotas in the metadata store (a supertrait of
/// [`MetadataStore`](crate::ports::MetadataStore)). Charges and releases are not here:
/// they happen inside the store's link, upload, manifest and delete transactions.
#[async_trait]
pub trait QuotaStore: Send + Sync + 'static {
    /// One page of quotas (of projects that exist) and the number of matches.
    async fn quotas(&self, query: &QuotaQuery, page: Page) -> Result<(Vec<Quota>, u64)>;
    /// The quota with this id.
    async fn quota(&self, id: i64) -> Result<Option<Quota>>;
    /// The quota of a project.
    async fn project_quota(&self, project_id: i64) -> Result<Option<Quota>>;
    /// Sets a quota's hard limit (bytes, or [`UNLIMITED`]); usage may stay above a lowered
    /// limit, as in Harbor. [`Error::NotFound`] if there is no such quota.
    async fn set_quota_limit(&self, id: i64, hard: i64) -> Result<Quota> {
        self.set_quota_limit_emitting(id, hard, &[]).await
    }
    /// [`set_quota_limit`](Self::set_quota_limit), appending `events` in its transaction.
    async fn set_quota_limit_emitting(
        &self,
        id: i64,
        hard: i64,
        events: &[NewEvent],
    ) -> Result<Quota>;
    /// Counts a project's usage from scratch and compares it with what is stored,
    /// changing nothing.
    async fn recount_quota(&self, project_id: i64) -> Result<QuotaRecount>;
    /// Like [`QuotaStore::recount_quota`], then replaces the charged set and the usage
    /// with the recount, in one transaction; returns what was found before the repair.
    async fn repair_quota(&self, project_id: i64) -> Result<QuotaRecount>;
    /// The storage every project uses, summed (Harbor's `total_storage_consumption`).
    async fn total_quota_usage(&self) -> Result<u64>;
}

/// The share of a finite limit (percent) at which a push warns (Harbor's quota warning).
pub const WARNING_PERCENT: i64 = 85;

/// Whether `used` bytes of a `hard` limit are at or over the warning share (never for an
/// unlimited quota).
pub fn warns(used: i64, hard: i64) -> bool {
    hard > 0 && used.saturating_mul(100) >= hard.saturating_mul(WARNING_PERCENT)
}

/// Checks a hard limit as Harbor does: -1 (unlimited) or a positive number of bytes.
pub fn validate_limit(hard: i64) -> Result<()> {
    if hard == UNLIMITED || hard > 0 {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "invalid value {hard} for resource storage: use -1 (unlimited) or a positive number of bytes"
        )))
    }
}

/// A byte count as Harbor shows it: `100 B`, `1.5 KiB`, `10.0 GiB` (binary units, one
/// decimal).
pub fn format_bytes(value: i64) -> String {
    const UNIT: i64 = 1024;
    if value < UNIT {
        return format!("{value} B");
    }
    let (mut div, mut exp) = (UNIT, 0usize);
    let mut n = value / UNIT;
    while n >= UNIT {
        div *= UNIT;
        exp += 1;
        n /= UNIT;
    }
    let unit = ['K', 'M', 'G', 'T', 'P', 'E'][exp.min(5)];
    format!("{:.1} {unit}iB", value as f64 / div as f64)
}

/// Harbor's message when adding `delta` bytes to `used` would pass `hard`.
pub fn overflow_message(delta: i64, used: i64, hard: i64) -> String {
    format!(
        "adding {} of storage resource, which when updated to current usage of {} will exceed the configured upper limit of {}.",
        format_bytes(delta),
        format_bytes(used),
        format_bytes(hard)
    )
}

/// The error a refused charge fails with (HTTP 403 `DENIED`).
pub fn exceeded(delta: i64, used: i64, hard: i64) -> Error {
    Error::QuotaExceeded(overflow_message(delta, used, hard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_bytes_like_harbor() {
        let cases = [
            (0, "0 B"),
            (100, "100 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1024 * 3 / 2, "1.5 KiB"),
            (1024 * 1024, "1.0 MiB"),
            (1024 * 1024 * 3 / 2, "1.5 MiB"),
            (1 << 30, "1.0 GiB"),
            ((1 << 30) * 3 / 2, "1.5 GiB"),
            (1 << 40, "1.0 TiB"),
            ((1 << 40) * 3 / 2, "1.5 TiB"),
            (1 << 50, "1.0 PiB"),
            (i64::MAX, "8.0 EiB"),
        ];
        for (v, want) in cases {
            assert_eq!(format_bytes(v), want, "{v}");
        }
    }

    #[test]
    fn overflow_message_matches_harbor() {
        assert_eq!(
            overflow_message(535_506_125, 10 << 30, 10 << 30),
            "adding 510.7 MiB of storage resource, which when updated to current usage of \
             10.0 GiB will exceed the configured upper limit of 10.0 GiB."
        );
        assert!(
            matches!(exceeded(1, 2, 2), Error::QuotaExceeded(m) if m.starts_with("adding 1 B"))
        );
    }

    #[test]
    fn limits_are_unlimited_or_positive() {
        assert!(validate_limit(UNLIMITED).is_ok());
        assert!(validate_limit(1).is_ok());
        assert!(validate_limit(i64::MAX).is_ok());
        assert!(matches!(validate_limit(0), Err(Error::Invalid(_))));
        assert!(matches!(validate_limit(-2), Err(Error::Invalid(_))));
    }

    #[test]
    fn consistency_needs_all_three_to_agree() {
        let ok = QuotaRecount {
            project_id: 1,
            stored: 10,
            charged: 10,
            recounted: 10,
            drifted_digests: 0,
        };
        assert!(ok.consistent());
        assert!(!QuotaRecount { stored: 11, ..ok }.consistent());
        assert!(!QuotaRecount { charged: 9, ..ok }.consistent());
        assert!(
            !QuotaRecount {
                drifted_digests: 2,
                ..ok
            }
            .consistent()
        );
    }
}
