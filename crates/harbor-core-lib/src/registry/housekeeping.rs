//! Storage housekeeping beside garbage collection: the consistency check between the
//! blob records and storage (`fsck`), and the cleanup of abandoned uploads.

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt;

use super::Registry;
use crate::digest::Digest;
use crate::error::Result;
use crate::gc::{FSCK_LIST_LIMIT, FsckReport, UploadCleanup};
use crate::model::{BlobState, Claim, Lease, UploadId, now_ms};

/// Records read per query.
const PAGE: usize = 1000;

fn push_limited(list: &mut Vec<String>, item: String) {
    if list.len() < FSCK_LIST_LIMIT {
        list.push(item);
    }
}

impl Registry {
    /// Compares the blob records with what storage holds: live records without an
    /// object, objects without a live record (orphans) and size mismatches. With
    /// `repair`, orphans older than `grace` are deleted, each through the same
    /// compare-and-set as garbage collection, so an upload storing the same digest at
    /// that moment is never harmed (docs/gc.md). Memory: one map entry per blob record.
    pub async fn fsck(&self, repair: bool, grace: Duration) -> Result<FsckReport> {
        let mut report = FsckReport::default();
        let mut records: HashMap<Digest, (u64, BlobState)> = HashMap::new();
        let mut after: Option<Digest> = None;
        loop {
            let page = self.meta.blob_records(after.as_ref(), PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.0.clone());
            for (d, size, state) in page {
                records.insert(d, (size, state));
            }
        }
        // Tombstones of deleted blobs are kept for compare-and-set, not content.
        report.records = records
            .values()
            .filter(|(_, state)| *state != BlobState::Deleted)
            .count() as u64;
        let cutoff = now_ms().saturating_sub(i64::try_from(grace.as_millis()).unwrap_or(i64::MAX));
        let mut seen = std::collections::HashSet::new();
        let mut orphans = Vec::new();
        let mut objects = self.blobs.list_blobs().await?;
        while let Some(obj) = objects.try_next().await? {
            report.objects += 1;
            match records.get(&obj.digest) {
                Some((size, BlobState::Live)) => {
                    seen.insert(obj.digest.clone());
                    if *size != obj.size {
                        report.size_mismatch_count += 1;
                        push_limited(
                            &mut report.size_mismatches,
                            format!("{}: recorded {size} != stored {}", obj.digest, obj.size),
                        );
                    }
                }
                // A run is deleting it right now.
                Some((_, BlobState::Deleting)) => {}
                _ => {
                    if obj.modified_ms >= cutoff {
                        report.orphans_too_young += 1;
                        continue;
                    }
                    report.orphan_count += 1;
                    report.orphan_bytes += obj.size;
                    push_limited(&mut report.orphans, obj.digest.to_string());
                    orphans.push((obj.digest, obj.size));
                }
            }
        }
        for (d, (_, state)) in &records {
            if *state == BlobState::Live && !seen.contains(d) {
                report.missing_count += 1;
                push_limited(&mut report.missing, d.to_string());
            }
        }
        report.missing.sort();
        if repair {
            for batch in orphans.chunks(PAGE) {
                let taken = self.meta.claim_orphans(batch).await?;
                let mut gone = Vec::with_capacity(taken.len());
                for d in taken {
                    self.blobs.delete(&d).await?;
                    gone.push(d);
                }
                report.orphans_removed += gone.len() as u64;
                self.meta.finish_blobs(&gone).await?;
            }
        }
        Ok(report)
    }

    /// Removes upload sessions idle for longer than `max_age` (with their staged data),
    /// and staging areas older than that with no session at all. A session a request
    /// is writing to is never taken: each is claimed with a lease first.
    pub async fn purge_uploads(&self, max_age: Duration) -> Result<UploadCleanup> {
        let mut done = UploadCleanup::default();
        let age = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
        let before = now_ms().saturating_sub(age);
        loop {
            let stale = self.meta.stale_uploads(before, now_ms(), PAGE).await?;
            if stale.is_empty() {
                break;
            }
            let mut progressed = false;
            for s in stale {
                let now = now_ms();
                let lease = Lease {
                    token: UploadId::generate().as_str().to_owned(),
                    now,
                    until: now + 60_000,
                };
                let claim = self
                    .meta
                    .claim_upload(&s.repository, &s.id, &lease, None)
                    .await?;
                if let Claim::Claimed(s) = claim
                    && self.meta.delete_upload(&s.id).await?
                {
                    self.blobs.abort_upload(&s.id, &s.store_state).await?;
                    done.sessions += 1;
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        for (id, modified) in self.blobs.list_staging().await? {
            if modified >= before {
                continue;
            }
            if !self.meta.upload_session_exists(&id).await? {
                self.blobs.abort_upload(&id, "").await?;
                done.orphan_staging += 1;
            }
        }
        Ok(done)
    }
}
