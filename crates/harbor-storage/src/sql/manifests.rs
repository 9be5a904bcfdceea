//! Manifests, their references, tags, referrers and the catalog.

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;
use harbor_core::events::{DomainEvent, NewEvent, SYSTEM};
use harbor_core::model::{NewManifest, Referrer, StoredManifest, now_ms};
use harbor_core::{Digest, Error, Reference, RepositoryName, Result, Tag};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::blobs::ensure_repository;
use super::{Dialect, SqlMetadataStore, limit, placeholders, quotas, to_i64, to_u64};
use crate::error::internal;

/// Reference kinds in `manifest_references`.
const KIND_BLOB: i64 = 0;
const KIND_MANIFEST: i64 = 1;
/// Digests per `IN (...)` list or multi-row insert.
const BATCH: usize = 300;

/// What a manifest may reference: blobs linked to its repository whose row is live (GC
/// has not marked it), or manifests of its repository.
#[derive(Clone, Copy)]
enum Held {
    Blobs,
    Manifests,
}

/// Runs `SELECT digest FROM <from> IN (<digests>)<lock>` in batches (`$1` = `repo_id`
/// when `with_repo`) and collects the digests found.
async fn select_digests(
    tx: &mut Transaction<'_, Any>,
    from: &str,
    lock: &str,
    repo_id: Option<i64>,
    digests: &[Digest],
) -> Result<HashSet<String>> {
    let first = if repo_id.is_some() { 2 } else { 1 };
    let mut found = HashSet::with_capacity(digests.len());
    for batch in digests.chunks(BATCH) {
        let sql = format!(
            "SELECT digest FROM {from} IN ({}) ORDER BY digest{lock}",
            placeholders(first, batch.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(r) = repo_id {
            q = q.bind(r);
        }
        for d in batch {
            q = q.bind(d.as_str());
        }
        for row in q.fetch_all(&mut **tx).await.map_err(internal)? {
            found.insert(row.try_get::<String, _>(0).map_err(internal)?);
        }
    }
    Ok(found)
}

/// Which of `digests` the repository holds. On PostgreSQL the rows found are
/// share-locked until the transaction ends, so a concurrent delete, or garbage
/// collection marking a blob, cannot pull them from under the manifest being recorded
/// (SQLite has a single writer anyway). Blob rows are locked before link rows, in digest
/// order, the order in which uploads and garbage collection lock them too (docs/gc.md).
async fn present(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    held: Held,
    repo_id: i64,
    digests: &[Digest],
) -> Result<HashSet<String>> {
    let lock = match dialect {
        Dialect::Postgres => " FOR SHARE",
        Dialect::Sqlite => "",
    };
    match held {
        Held::Manifests => {
            select_digests(
                tx,
                "manifests WHERE repository_id = $1 AND digest",
                lock,
                Some(repo_id),
                digests,
            )
            .await
        }
        Held::Blobs => {
            let live =
                select_digests(tx, "blobs WHERE state = 0 AND digest", lock, None, digests).await?;
            let linked = select_digests(
                tx,
                "repository_blobs WHERE repository_id = $1 AND digest",
                lock,
                Some(repo_id),
                digests,
            )
            .await?;
            Ok(live.intersection(&linked).cloned().collect())
        }
    }
}

async fn require_all(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    held: Held,
    repo_id: i64,
    digests: &[Digest],
) -> Result<()> {
    if digests.is_empty() {
        return Ok(());
    }
    let found = present(tx, dialect, held, repo_id, digests).await?;
    match digests.iter().find(|d| !found.contains(d.as_str())) {
        Some(missing) => Err(Error::ManifestBlobUnknown(missing.clone())),
        None => Ok(()),
    }
}

pub(super) async fn put(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    m: &NewManifest,
    tags: &[Tag],
    events: &[NewEvent],
) -> Result<()> {
    let now = now_ms();
    let annotations = if m.annotations.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&m.annotations).map_err(|e| Error::internal(e.to_string()))?)
    };
    let mut tx = s.begin_write().await?;
    let repo_id = ensure_repository(&mut tx, repo, now).await?;
    // The project's quota row first, before any row lock below (one lock order).
    if let Some(project_id) = quotas::project_of(&mut tx, repo_id).await? {
        quotas::lock(&mut tx, s.dialect, project_id).await?;
    }
    require_all(&mut tx, s.dialect, Held::Blobs, repo_id, &m.blobs).await?;
    if !m.children_pending {
        require_all(&mut tx, s.dialect, Held::Manifests, repo_id, &m.manifests).await?;
    }

    let inserted = sqlx::query(
        "INSERT INTO manifests
         (repository_id, digest, media_type, artifact_type, subject, size, annotations, content, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (repository_id, digest) DO NOTHING
         RETURNING id",
    )
    .bind(repo_id)
    .bind(m.digest.as_str())
    .bind(m.media_type.as_str())
    .bind(m.artifact_type.as_deref())
    .bind(m.subject.as_ref().map(|d| d.as_str()))
    .bind(to_i64(m.content.len() as u64)?)
    .bind(annotations)
    .bind(m.content.as_ref())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
    .map_err(internal)?;
    let mut quota = None;
    let manifest_id: i64 = match inserted {
        Some(row) => {
            let id: i64 = row.try_get(0).map_err(internal)?;
            insert_references(&mut tx, id, m).await?;
            // New in this repository: charged unless the project holds it already.
            quota = quotas::charge_manifest(
                &mut tx,
                s.dialect,
                repo_id,
                &m.digest,
                to_i64(m.content.len() as u64)?,
                &m.blobs,
            )
            .await?;
            id
        }
        None => sqlx::query("SELECT id FROM manifests WHERE repository_id = $1 AND digest = $2")
            .bind(repo_id)
            .bind(m.digest.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(internal)?
            .try_get(0)
            .map_err(internal)?,
    };
    sqlx::query("UPDATE repositories SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(repo_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    for tag in tags {
        sqlx::query(
            "INSERT INTO tags (repository_id, name, manifest_id, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repository_id, name)
             DO UPDATE SET manifest_id = excluded.manifest_id, updated_at = excluded.updated_at",
        )
        .bind(repo_id)
        .bind(tag.as_str())
        .bind(manifest_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    }
    match quota {
        // A push that leaves the project near its limit warns, with the push's own events.
        Some((hard, used)) if harbor_core::quota::warns(used, hard) => {
            let actor = events.first().map_or(SYSTEM, |e| e.actor.as_str());
            let warning = DomainEvent::QuotaWarning {
                repository: repo.to_string(),
                used,
                hard,
            };
            let mut all = events.to_vec();
            all.push(NewEvent::now(actor, warning));
            super::events::append(&mut tx, s.dialect, &all).await?;
        }
        _ => super::events::append(&mut tx, s.dialect, events).await?,
    }
    tx.commit().await.map_err(internal)
}

async fn insert_references(
    tx: &mut Transaction<'_, Any>,
    manifest_id: i64,
    m: &NewManifest,
) -> Result<()> {
    let refs: Vec<(&Digest, i64)> = m
        .blobs
        .iter()
        .map(|d| (d, KIND_BLOB))
        .chain(m.manifests.iter().map(|d| (d, KIND_MANIFEST)))
        .collect();
    for batch in refs.chunks(BATCH) {
        let values = (0..batch.len())
            .map(|i| format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO manifest_references (manifest_id, digest, kind) VALUES {values}
             ON CONFLICT (manifest_id, digest) DO NOTHING"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(manifest_id);
        for (d, kind) in batch {
            q = q.bind(d.as_str()).bind(*kind);
        }
        q.execute(&mut **tx).await.map_err(internal)?;
    }
    Ok(())
}

fn stored(row: &AnyRow) -> Result<StoredManifest> {
    let digest: String = row.try_get(0).map_err(internal)?;
    let content: Vec<u8> = row.try_get(2).map_err(internal)?;
    Ok(StoredManifest {
        digest: Digest::parse(&digest)?,
        media_type: row.try_get(1).map_err(internal)?,
        content: Bytes::from(content),
    })
}

pub(super) async fn get(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    reference: &Reference,
) -> Result<Option<StoredManifest>> {
    let row = match reference {
        Reference::Tag(tag) => sqlx::query(
            "SELECT m.digest, m.media_type, m.content FROM repositories r
             JOIN tags t ON t.repository_id = r.id
             JOIN manifests m ON m.id = t.manifest_id
             WHERE r.name = $1 AND t.name = $2",
        )
        .bind(repo.as_str())
        .bind(tag.as_str()),
        Reference::Digest(digest) => sqlx::query(
            "SELECT m.digest, m.media_type, m.content FROM repositories r
             JOIN manifests m ON m.repository_id = r.id
             WHERE r.name = $1 AND m.digest = $2",
        )
        .bind(repo.as_str())
        .bind(digest.as_str()),
    }
    .fetch_optional(&s.read)
    .await
    .map_err(internal)?;
    row.as_ref().map(stored).transpose()
}

/// Deletes a manifest (its references and tags cascade) and what only it kept in the
/// project, in one transaction:
///
/// - the blob links of its repository that no other manifest of the repository
///   references and that were made before the manifest was pushed (a link made or made
///   again after that belongs to a push still in progress, which is left alone);
/// - then, from the project's charged set, its digest and those blobs, unless the project
///   still references them elsewhere.
pub(super) async fn delete(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    digest: &Digest,
    events: &[NewEvent],
) -> Result<bool> {
    delete_if(s, repo, digest, false, events).await
}

/// [`delete`], but with `only_untagged` only if the manifest still has no tag and no
/// index of its repository lists it, checked after locking its row (so a push tagging
/// it concurrently either lands first and keeps it, or waits and finds it gone).
pub(super) async fn delete_if(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    digest: &Digest,
    only_untagged: bool,
    events: &[NewEvent],
) -> Result<bool> {
    let mut tx = s.begin_write().await?;
    let Some(repo_row) = sqlx::query("SELECT id, project_id FROM repositories WHERE name = $1")
        .bind(repo.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?
    else {
        return Ok(false);
    };
    let repo_id: i64 = repo_row.try_get(0).map_err(internal)?;
    let project_id: Option<i64> = repo_row.try_get(1).map_err(internal)?;
    // The quota lock before reading the manifest: what is read is what gets deleted.
    if let Some(p) = project_id {
        quotas::lock(&mut tx, s.dialect, p).await?;
    }
    let Some(row) = sqlx::query(
        "SELECT id, created_at FROM manifests WHERE repository_id = $1 AND digest = $2",
    )
    .bind(repo_id)
    .bind(digest.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(internal)?
    else {
        return Ok(false);
    };
    let manifest_id: i64 = row.try_get(0).map_err(internal)?;
    let pushed_at: i64 = row.try_get(1).map_err(internal)?;
    if only_untagged && !still_untagged(&mut tx, s.dialect, repo_id, manifest_id, digest).await? {
        return Ok(false);
    }
    let blobs: Vec<String> =
        sqlx::query("SELECT digest FROM manifest_references WHERE manifest_id = $1 AND kind = $2")
            .bind(manifest_id)
            .bind(KIND_BLOB)
            .fetch_all(&mut *tx)
            .await
            .map_err(internal)?
            .iter()
            .map(|r| r.try_get(0).map_err(internal))
            .collect::<Result<_>>()?;
    let done = sqlx::query("DELETE FROM manifests WHERE id = $1")
        .bind(manifest_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    for batch in blobs.chunks(BATCH) {
        let sql = format!(
            "DELETE FROM repository_blobs WHERE repository_id = $1 AND created_at <= $2
             AND digest IN ({})
             AND NOT EXISTS (SELECT 1 FROM manifest_references mr
                 JOIN manifests m ON m.id = mr.manifest_id
                 WHERE m.repository_id = $1 AND mr.digest = repository_blobs.digest)",
            placeholders(3, batch.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(repo_id)
            .bind(pushed_at);
        for d in batch {
            q = q.bind(d.as_str());
        }
        q.execute(&mut *tx).await.map_err(internal)?;
    }
    if let Some(p) = project_id {
        let mut candidates = blobs;
        candidates.push(digest.as_str().to_owned());
        quotas::release(&mut tx, p, &candidates).await?;
    }
    super::events::append(&mut tx, s.dialect, events).await?;
    tx.commit().await.map_err(internal)?;
    Ok(true)
}

/// Locks a manifest row, then (in a new statement, which on PostgreSQL sees what
/// committed while we waited for the lock) checks that no tag points at it and no index
/// of the repository lists it.
async fn still_untagged(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    repo_id: i64,
    manifest_id: i64,
    digest: &Digest,
) -> Result<bool> {
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT id FROM manifests WHERE id = $1 FOR UPDATE")
            .bind(manifest_id)
            .execute(&mut **tx)
            .await
            .map_err(internal)?;
    }
    let used = sqlx::query(
        "SELECT 1 FROM tags WHERE manifest_id = $1
         UNION ALL
         SELECT 1 FROM manifest_references mr JOIN manifests p ON p.id = mr.manifest_id
             WHERE mr.digest = $2 AND mr.kind = 1 AND p.repository_id = $3",
    )
    .bind(manifest_id)
    .bind(digest.as_str())
    .bind(repo_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(internal)?;
    Ok(used.is_none())
}

pub(super) async fn delete_tag(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    tag: &Tag,
    events: &[NewEvent],
) -> Result<bool> {
    let mut tx = s.begin_write().await?;
    let done = sqlx::query(
        "DELETE FROM tags
         WHERE repository_id = (SELECT id FROM repositories WHERE name = $1) AND name = $2",
    )
    .bind(repo.as_str())
    .bind(tag.as_str())
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    super::events::append(&mut tx, s.dialect, events).await?;
    tx.commit().await.map_err(internal)?;
    Ok(true)
}

pub(super) async fn tags(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    last: Option<&str>,
    n: usize,
) -> Result<Option<Vec<String>>> {
    let Some(repo_id) = sqlx::query("SELECT id FROM repositories WHERE name = $1")
        .bind(repo.as_str())
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let repo_id: i64 = repo_id.try_get(0).map_err(internal)?;
    let rows = sqlx::query(
        "SELECT name FROM tags WHERE repository_id = $1 AND name > $2 ORDER BY name LIMIT $3",
    )
    .bind(repo_id)
    .bind(last.unwrap_or(""))
    .bind(limit(n))
    .fetch_all(&s.read)
    .await
    .map_err(internal)?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(internal))
        .collect::<Result<Vec<String>>>()
        .map(Some)
}

pub(super) async fn referrers(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<Referrer>> {
    let query = match artifact_type {
        None => sqlx::query(
            "SELECT m.media_type, m.digest, m.size, m.artifact_type, m.annotations
             FROM repositories r JOIN manifests m ON m.repository_id = r.id
             WHERE r.name = $1 AND m.subject = $2 ORDER BY m.id",
        ),
        Some(_) => sqlx::query(
            "SELECT m.media_type, m.digest, m.size, m.artifact_type, m.annotations
             FROM repositories r JOIN manifests m ON m.repository_id = r.id
             WHERE r.name = $1 AND m.subject = $2 AND m.artifact_type = $3 ORDER BY m.id",
        ),
    };
    let mut query = query.bind(repo.as_str()).bind(subject.as_str());
    if let Some(t) = artifact_type {
        query = query.bind(t);
    }
    let rows = query.fetch_all(&s.read).await.map_err(internal)?;
    rows.iter()
        .map(|row| {
            let digest: String = row.try_get(1).map_err(internal)?;
            let annotations: Option<String> = row.try_get(4).map_err(internal)?;
            Ok(Referrer {
                media_type: row.try_get(0).map_err(internal)?,
                digest: Digest::parse(&digest)?,
                size: to_u64(row.try_get(2).map_err(internal)?)?,
                artifact_type: row.try_get(3).map_err(internal)?,
                annotations: match annotations {
                    Some(json) => serde_json::from_str::<BTreeMap<String, String>>(&json)
                        .map_err(|e| Error::internal(e.to_string()))?,
                    None => BTreeMap::new(),
                },
            })
        })
        .collect()
}

pub(super) async fn repositories(
    s: &SqlMetadataStore,
    last: Option<&str>,
    n: usize,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT r.name FROM repositories r
         WHERE r.name > $1 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
         ORDER BY r.name LIMIT $2",
    )
    .bind(last.unwrap_or(""))
    .bind(limit(n))
    .fetch_all(&s.read)
    .await
    .map_err(internal)?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(internal))
        .collect()
}
