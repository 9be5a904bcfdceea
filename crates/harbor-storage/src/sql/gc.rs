//! Garbage collection's queries (docs/gc.md): set operations over the blob, reference
//! and manifest tables, and the compare-and-set marking that makes a run safe against
//! concurrent pushes.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use async_trait::async_trait;
use harbor_core::gc::{GcCandidate, GcStore};
use harbor_core::model::BlobState;
use harbor_core::{Digest, RepositoryName, Result};
use sqlx::{AssertSqlSafe, Row};

use super::{Dialect, SqlMetadataStore, limit, manifests, placeholders, quotas, to_u64};
use crate::error::internal;

/// States in the `blobs.state` column (migration 0009).
const LIVE: i64 = 0;
const DELETING: i64 = 1;
const DELETED: i64 = 2;

fn state_of(v: i64) -> BlobState {
    match v {
        LIVE => BlobState::Live,
        DELETING => BlobState::Deleting,
        _ => BlobState::Deleted,
    }
}

/// Binds digests after the placeholders already bound.
fn in_list(first: usize, digests: &[&str]) -> String {
    placeholders(first, digests.len())
}

#[async_trait]
impl GcStore for SqlMetadataStore {
    async fn blob_count(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) FROM blobs WHERE state <> $1")
            .bind(DELETED)
            .fetch_one(&self.read)
            .await
            .map_err(internal)?;
        to_u64(row.try_get(0).map_err(internal)?)
    }

    async fn untagged_manifests(
        &self,
        cutoff_ms: i64,
        after: Option<&(RepositoryName, Digest)>,
        n: usize,
    ) -> Result<Vec<(RepositoryName, Digest)>> {
        let (after_repo, after_digest) = match after {
            Some((r, d)) => (r.as_str(), d.as_str()),
            None => ("", ""),
        };
        let rows = sqlx::query(
            "SELECT r.name, m.digest FROM manifests m
             JOIN repositories r ON r.id = m.repository_id
             WHERE m.created_at < $1
               AND (r.name > $2 OR (r.name = $2 AND m.digest > $3))
               AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)
               AND NOT EXISTS (SELECT 1 FROM manifest_references mr
                   JOIN manifests p ON p.id = mr.manifest_id
                   WHERE mr.digest = m.digest AND mr.kind = 1
                     AND p.repository_id = m.repository_id)
               AND (m.subject IS NULL OR NOT EXISTS (SELECT 1 FROM manifests s
                   WHERE s.repository_id = m.repository_id AND s.digest = m.subject))
             ORDER BY r.name, m.digest LIMIT $4",
        )
        .bind(cutoff_ms)
        .bind(after_repo)
        .bind(after_digest)
        .bind(limit(n))
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        rows.iter()
            .map(|row| {
                let repo: String = row.try_get(0).map_err(internal)?;
                let digest: String = row.try_get(1).map_err(internal)?;
                Ok((RepositoryName::parse(&repo)?, Digest::parse(&digest)?))
            })
            .collect()
    }

    async fn delete_untagged_manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        events: &[harbor_core::events::NewEvent],
    ) -> Result<bool> {
        manifests::delete_if(self, repo, digest, true, events).await
    }

    async fn gc_candidates(
        &self,
        cutoff_ms: i64,
        from: &str,
        to: &str,
    ) -> Result<Vec<GcCandidate>> {
        let rows = sqlx::query(
            "SELECT b.digest, b.size, b.state FROM blobs b
             WHERE b.digest >= $1 AND b.digest < $2 AND (b.state = $3 OR (b.state = $4
               AND b.touched_at < $5
               AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.digest = b.digest)
               AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)))
             ORDER BY b.digest",
        )
        .bind(from)
        .bind(to)
        .bind(DELETING)
        .bind(LIVE)
        .bind(cutoff_ms)
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        rows.iter()
            .map(|row| {
                let digest: String = row.try_get(0).map_err(internal)?;
                Ok(GcCandidate {
                    digest: Digest::parse(&digest)?,
                    size: to_u64(row.try_get(1).map_err(internal)?)?,
                    state: state_of(row.try_get(2).map_err(internal)?),
                })
            })
            .collect()
    }

    async fn young_garbage(&self, cutoff_ms: i64) -> Result<(u64, u64)> {
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(b.size), 0) AS BIGINT) FROM blobs b
             WHERE b.state = $1 AND b.touched_at >= $2
               AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.digest = b.digest)
               AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)",
        )
        .bind(LIVE)
        .bind(cutoff_ms)
        .fetch_one(&self.read)
        .await
        .map_err(internal)?;
        Ok((
            to_u64(row.try_get(0).map_err(internal)?)?,
            to_u64(row.try_get(1).map_err(internal)?)?,
        ))
    }

    async fn mark_blobs(
        &self,
        candidates: &[GcCandidate],
        cutoff_ms: i64,
    ) -> Result<Vec<GcCandidate>> {
        let live: Vec<&str> = candidates
            .iter()
            .filter(|c| c.state == BlobState::Live)
            .map(|c| c.digest.as_str())
            .collect();
        let mut marked: Vec<GcCandidate> = candidates
            .iter()
            .filter(|c| c.state == BlobState::Deleting)
            .cloned()
            .collect();
        if live.is_empty() {
            return Ok(marked);
        }
        let mut tx = self.begin_write().await?;
        // 1. The quota rows of the projects charged for these blobs, in id order: pushes
        //    take their project's quota row before any blob row, and so do we.
        let sql = format!(
            "SELECT DISTINCT project_id FROM project_blobs WHERE digest IN ({})
             ORDER BY project_id",
            in_list(1, &live)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for d in &live {
            q = q.bind(*d);
        }
        let projects: Vec<i64> = q
            .fetch_all(&mut *tx)
            .await
            .map_err(internal)?
            .iter()
            .map(|r| r.try_get(0).map_err(internal))
            .collect::<Result<_>>()?;
        for p in &projects {
            quotas::lock(&mut tx, self.dialect, *p).await?;
        }
        // 2. The blob rows still live and untouched since the cutoff, locked: a push
        //    vouching for one (upload, mount, manifest) now waits for us, or we for it.
        let lock = match self.dialect {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "SELECT digest FROM blobs WHERE digest IN ({}) AND state = $1 AND touched_at < $2
             ORDER BY digest{lock}",
            in_list(3, &live)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(LIVE).bind(cutoff_ms);
        for d in &live {
            q = q.bind(*d);
        }
        let locked: Vec<String> = q
            .fetch_all(&mut *tx)
            .await
            .map_err(internal)?
            .iter()
            .map(|r| r.try_get(0).map_err(internal))
            .collect::<Result<_>>()?;
        if locked.is_empty() {
            tx.commit().await.map_err(internal)?;
            return Ok(marked);
        }
        let locked_refs: Vec<&str> = locked.iter().map(String::as_str).collect();
        // 3. A new statement (a fresh snapshot on PostgreSQL): references committed by
        //    manifests that held these rows before we locked them are visible now.
        let sql = format!(
            "SELECT digest FROM manifest_references WHERE digest IN ({0})
             UNION SELECT digest FROM manifests WHERE digest IN ({0})",
            in_list(1, &locked_refs)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for d in &locked_refs {
            q = q.bind(*d);
        }
        let referenced: HashSet<String> = q
            .fetch_all(&mut *tx)
            .await
            .map_err(internal)?
            .iter()
            .map(|r| r.try_get(0).map_err(internal))
            .collect::<Result<_>>()?;
        let doomed: Vec<&str> = locked_refs
            .iter()
            .copied()
            .filter(|d| !referenced.contains(*d))
            .collect();
        if doomed.is_empty() {
            tx.commit().await.map_err(internal)?;
            return Ok(marked);
        }
        // 4. Mark, unlink, release.
        let sql = format!(
            "UPDATE blobs SET state = $1, version = version + 1 WHERE digest IN ({})",
            in_list(2, &doomed)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(DELETING);
        for d in &doomed {
            q = q.bind(*d);
        }
        q.execute(&mut *tx).await.map_err(internal)?;
        let sql = format!(
            "DELETE FROM repository_blobs WHERE digest IN ({})",
            in_list(1, &doomed)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for d in &doomed {
            q = q.bind(*d);
        }
        q.execute(&mut *tx).await.map_err(internal)?;
        // No manifest references these digests (nor is one) and their links are gone,
        // so no project references them any more: every charge for them goes.
        let sql = format!(
            "DELETE FROM project_blobs WHERE digest IN ({}) RETURNING project_id, size",
            in_list(1, &doomed)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for d in &doomed {
            q = q.bind(*d);
        }
        let mut freed: BTreeMap<i64, i64> = BTreeMap::new();
        for row in q.fetch_all(&mut *tx).await.map_err(internal)? {
            let project: i64 = row.try_get(0).map_err(internal)?;
            *freed.entry(project).or_default() += row.try_get::<i64, _>(1).map_err(internal)?;
        }
        for (project, bytes) in freed {
            quotas::give_back(&mut tx, project, bytes).await?;
        }
        tx.commit().await.map_err(internal)?;
        let doomed: BTreeSet<&str> = doomed.into_iter().collect();
        marked.extend(
            candidates
                .iter()
                .filter(|c| c.state == BlobState::Live && doomed.contains(c.digest.as_str()))
                .cloned(),
        );
        Ok(marked)
    }

    async fn finish_blobs(&self, digests: &[Digest]) -> Result<()> {
        if digests.is_empty() {
            return Ok(());
        }
        let list: Vec<&str> = digests.iter().map(Digest::as_str).collect();
        let sql = format!(
            "UPDATE blobs SET state = $1, version = version + 1
             WHERE state = $2 AND digest IN ({})",
            in_list(3, &list)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(DELETED).bind(DELETING);
        for d in &list {
            q = q.bind(*d);
        }
        q.execute(&self.write).await.map_err(internal)?;
        Ok(())
    }

    async fn blob_records(
        &self,
        after: Option<&Digest>,
        n: usize,
    ) -> Result<Vec<(Digest, u64, BlobState)>> {
        let rows = sqlx::query(
            "SELECT digest, size, state FROM blobs WHERE digest > $1 ORDER BY digest LIMIT $2",
        )
        .bind(after.map(Digest::as_str).unwrap_or(""))
        .bind(limit(n))
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        rows.iter()
            .map(|row| {
                let digest: String = row.try_get(0).map_err(internal)?;
                Ok((
                    Digest::parse(&digest)?,
                    to_u64(row.try_get(1).map_err(internal)?)?,
                    state_of(row.try_get(2).map_err(internal)?),
                ))
            })
            .collect()
    }

    async fn claim_orphans(&self, orphans: &[(Digest, u64)]) -> Result<Vec<Digest>> {
        let mut taken = Vec::new();
        let now = harbor_core::model::now_ms();
        for (digest, size) in orphans {
            // Absent: a deleting record at version 1 (an upload that saw "no record",
            // version 0, then cannot vouch). Deleted: back to deleting, version + 1.
            let row = sqlx::query(
                "INSERT INTO blobs (digest, size, created_at, touched_at, state, version)
                 VALUES ($1, $2, $3, $3, $4, 1)
                 ON CONFLICT (digest) DO UPDATE SET state = $4, version = blobs.version + 1
                 WHERE blobs.state = $5
                 RETURNING digest",
            )
            .bind(digest.as_str())
            .bind(super::to_i64(*size)?)
            .bind(now)
            .bind(DELETING)
            .bind(DELETED)
            // Run to its end (`fetch_all`): SQLite commits a statement outside a transaction
            // when it finishes, and one dropped after its first row loses a failed commit's error
            // (a full disk): the write would be acknowledged but not stored.
            .fetch_all(&self.write)
            .await
            .map_err(internal)?;
            if !row.is_empty() {
                taken.push(digest.clone());
            }
        }
        Ok(taken)
    }

    async fn stale_uploads(
        &self,
        before_ms: i64,
        now_ms: i64,
        n: usize,
    ) -> Result<Vec<harbor_core::model::UploadSession>> {
        super::uploads::stale(self, before_ms, now_ms, n).await
    }

    async fn upload_session_exists(&self, id: &harbor_core::model::UploadId) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM upload_sessions WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?;
        Ok(row.is_some())
    }
}
