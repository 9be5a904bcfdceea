//! Blob records and their links to repositories.

use harbor_core::model::{BlobState, BlobVersion, UploadId, now_ms};
use harbor_core::{Digest, Error, RepositoryName, Result};
use sqlx::{Any, Row, Transaction};

use super::{Dialect, SqlMetadataStore, quotas, to_i64, to_u64};
use crate::error::internal;

/// Returns the repository's id, creating the repository (in the project its first name
/// segment names, if that exists) if needed. Reads first, so the common case takes no row
/// lock and writes nothing.
pub(super) async fn ensure_repository(
    tx: &mut Transaction<'_, Any>,
    repo: &RepositoryName,
    now: i64,
) -> Result<i64> {
    let select = || sqlx::query("SELECT id FROM repositories WHERE name = $1").bind(repo.as_str());
    if let Some(row) = select().fetch_optional(&mut **tx).await.map_err(internal)? {
        return row.try_get(0).map_err(internal);
    }
    let inserted = sqlx::query(
        "INSERT INTO repositories (name, project_id, created_at, updated_at)
         VALUES ($1, (SELECT id FROM projects WHERE name = $3), $2, $2)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(repo.as_str())
    .bind(now)
    // A single-segment name belongs to no project (its range in `create_project` is
    // `<name>/...` too).
    .bind(repo.as_str().split_once('/').map(|(project, _)| project))
    .fetch_optional(&mut **tx)
    .await
    .map_err(internal)?;
    // Another transaction created it between our read and our insert.
    let row = match inserted {
        Some(row) => row,
        None => select().fetch_one(&mut **tx).await.map_err(internal)?,
    };
    row.try_get(0).map_err(internal)
}

pub(super) async fn blob_size(s: &SqlMetadataStore, digest: &Digest) -> Result<Option<u64>> {
    let row = sqlx::query(
        "SELECT b.size FROM blobs b WHERE b.digest = $1 AND b.state = 0
         AND EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)",
    )
    .bind(digest.as_str())
    .fetch_optional(&s.read)
    .await
    .map_err(internal)?;
    row.map(|r| to_u64(r.try_get(0).map_err(internal)?))
        .transpose()
}

/// Which blob row a link may use (docs/gc.md).
#[derive(Clone, Copy, Debug)]
enum Vouch {
    /// The bytes were stored before this transaction, after the caller saw the row at
    /// `version` (0 when there was no row) in a state other than "deleting": the row is
    /// made live unless garbage collection marked it since (its version moved on).
    Stored { version: i64 },
    /// No bytes were written (a mount or copy): only a live row may be linked.
    Existing,
}

/// Records a blob and links it to a repository, inside a write transaction, charging it
/// to the repository's project (once per project; [`Error::QuotaExceeded`] past the
/// limit, and the caller must then roll back). A link made again refreshes its
/// `created_at`: deleting a manifest pushed before that keeps the link (a push in
/// progress may rely on it; see `manifests::delete`). The blob row's `touched_at`
/// becomes `now`, which restarts garbage collection's time window.
///
/// Fails with [`Error::BlobChanged`] when garbage collection took the row since the
/// caller looked ([`Vouch::Stored`]) or the blob is not live ([`Vouch::Existing`]).
async fn link_in(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    repo: &RepositoryName,
    digest: &Digest,
    size: u64,
    now: i64,
    vouch: Vouch,
) -> Result<()> {
    let repo_id = ensure_repository(tx, repo, now).await?;
    quotas::charge(tx, dialect, repo_id, digest, to_i64(size)?).await?;
    // On PostgreSQL the upsert waits for a GC transaction holding the row, then sees
    // its result; the row stays locked until we commit, so GC cannot mark it meanwhile.
    let vouched = match vouch {
        Vouch::Stored { version } => sqlx::query(
            "INSERT INTO blobs (digest, size, created_at, touched_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (digest) DO UPDATE SET state = 0, touched_at = excluded.touched_at
             WHERE blobs.version = $4 AND blobs.state <> 1
             RETURNING version",
        )
        .bind(digest.as_str())
        .bind(to_i64(size)?)
        .bind(now)
        .bind(version),
        Vouch::Existing => sqlx::query(
            "INSERT INTO blobs (digest, size, created_at, touched_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (digest) DO UPDATE SET touched_at = excluded.touched_at
             WHERE blobs.state = 0
             RETURNING version",
        )
        .bind(digest.as_str())
        .bind(to_i64(size)?)
        .bind(now),
    }
    .fetch_optional(&mut **tx)
    .await
    .map_err(internal)?;
    if vouched.is_none() {
        return Err(Error::BlobChanged(digest.clone()));
    }
    sqlx::query(
        "INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (repository_id, digest) DO UPDATE SET created_at = excluded.created_at",
    )
    .bind(repo_id)
    .bind(digest.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(internal)?;
    Ok(())
}

pub(super) async fn link_blob(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    digest: &Digest,
    size: u64,
) -> Result<()> {
    let mut tx = s.begin_write().await?;
    link_in(
        &mut tx,
        s.dialect,
        repo,
        digest,
        size,
        now_ms(),
        Vouch::Existing,
    )
    .await?;
    tx.commit().await.map_err(internal)
}

/// Links the blob an upload produced and deletes the upload session (if any),
/// atomically. When the quota refuses the blob nothing is linked or charged, and the
/// session is deleted too (its staged bytes were consumed by the commit): the client
/// starts a new upload once space is freed. When garbage collection took the blob row
/// since `seen_version` was read nothing changes ([`Error::BlobChanged`]).
pub(super) async fn finish_upload(
    s: &SqlMetadataStore,
    id: Option<&UploadId>,
    repo: &RepositoryName,
    digest: &Digest,
    size: u64,
    seen_version: i64,
) -> Result<()> {
    let delete_session =
        |id: &UploadId| sqlx::query("DELETE FROM upload_sessions WHERE id = $1").bind(id.as_str());
    let vouch = Vouch::Stored {
        version: seen_version,
    };
    let mut tx = s.begin_write().await?;
    match link_in(&mut tx, s.dialect, repo, digest, size, now_ms(), vouch).await {
        Ok(()) => {}
        Err(e @ Error::QuotaExceeded(_)) => {
            tx.rollback().await.map_err(internal)?;
            if let Some(id) = id {
                delete_session(id)
                    .execute(&s.write)
                    .await
                    .map_err(internal)?;
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    }
    if let Some(id) = id {
        delete_session(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)
}

/// The state and version of a blob's row (docs/gc.md).
pub(super) async fn blob_version(s: &SqlMetadataStore, digest: &Digest) -> Result<BlobVersion> {
    let row = sqlx::query("SELECT state, version FROM blobs WHERE digest = $1")
        .bind(digest.as_str())
        .fetch_optional(&s.write)
        .await
        .map_err(internal)?;
    let Some(row) = row else {
        return Ok(BlobVersion {
            state: BlobState::Absent,
            version: 0,
        });
    };
    let state = match row.try_get::<i64, _>(0).map_err(internal)? {
        0 => BlobState::Live,
        1 => BlobState::Deleting,
        _ => BlobState::Deleted,
    };
    Ok(BlobVersion {
        state,
        version: row.try_get(1).map_err(internal)?,
    })
}

/// Restarts a live blob's GC time window if its last touch is older than `older_than`
/// (so a busy blob costs one write per period, not one per request).
pub(super) async fn touch_blob(
    s: &SqlMetadataStore,
    digest: &Digest,
    now: i64,
    older_than: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE blobs SET touched_at = $2 WHERE digest = $1 AND state = 0 AND touched_at < $3",
    )
    .bind(digest.as_str())
    .bind(now)
    .bind(older_than)
    .execute(&s.write)
    .await
    .map_err(internal)?;
    Ok(())
}

/// Size and last touch of a live blob linked to `repo`.
pub(super) async fn linked_blob(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    digest: &Digest,
) -> Result<Option<(u64, i64)>> {
    let row = sqlx::query(
        "SELECT b.size, b.touched_at FROM repositories r
         JOIN repository_blobs rb ON rb.repository_id = r.id
         JOIN blobs b ON b.digest = rb.digest
         WHERE r.name = $1 AND rb.digest = $2 AND b.state = 0",
    )
    .bind(repo.as_str())
    .bind(digest.as_str())
    .fetch_optional(&s.read)
    .await
    .map_err(internal)?;
    row.map(|r| -> Result<(u64, i64)> {
        Ok((
            to_u64(r.try_get(0).map_err(internal)?)?,
            r.try_get(1).map_err(internal)?,
        ))
    })
    .transpose()
}

/// Removes a blob link and releases the blob from the project's usage unless the
/// project still references it (another repository's link, or a manifest).
pub(super) async fn unlink_blob(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    digest: &Digest,
) -> Result<bool> {
    let mut tx = s.begin_write().await?;
    let Some(row) = sqlx::query("SELECT id, project_id FROM repositories WHERE name = $1")
        .bind(repo.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?
    else {
        return Ok(false);
    };
    let repo_id: i64 = row.try_get(0).map_err(internal)?;
    let project_id: Option<i64> = row.try_get(1).map_err(internal)?;
    if let Some(p) = project_id {
        quotas::lock(&mut tx, s.dialect, p).await?;
    }
    let done = sqlx::query("DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2")
        .bind(repo_id)
        .bind(digest.as_str())
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    if let Some(p) = project_id {
        quotas::release(&mut tx, p, &[digest.as_str().to_owned()]).await?;
    }
    tx.commit().await.map_err(internal)?;
    Ok(done.rows_affected() > 0)
}
