//! Blob records and their links to repositories.

use harbor_core::model::{UploadId, now_ms};
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

pub(super) async fn repository_blob(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    digest: &Digest,
) -> Result<Option<u64>> {
    let row = sqlx::query(
        "SELECT b.size FROM repositories r
         JOIN repository_blobs rb ON rb.repository_id = r.id
         JOIN blobs b ON b.digest = rb.digest
         WHERE r.name = $1 AND rb.digest = $2",
    )
    .bind(repo.as_str())
    .bind(digest.as_str())
    .fetch_optional(&s.read)
    .await
    .map_err(internal)?;
    row.map(|r| to_u64(r.try_get(0).map_err(internal)?))
        .transpose()
}

pub(super) async fn blob_size(s: &SqlMetadataStore, digest: &Digest) -> Result<Option<u64>> {
    let row = sqlx::query(
        "SELECT b.size FROM blobs b WHERE b.digest = $1
         AND EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)",
    )
    .bind(digest.as_str())
    .fetch_optional(&s.read)
    .await
    .map_err(internal)?;
    row.map(|r| to_u64(r.try_get(0).map_err(internal)?))
        .transpose()
}

/// Records a blob and links it to a repository, inside a write transaction, charging it
/// to the repository's project (once per project; [`Error::QuotaExceeded`] past the
/// limit, and the caller must then roll back). A link made again refreshes its
/// `created_at`: deleting a manifest pushed before that keeps the link (a push in
/// progress may rely on it; see `manifests::delete`).
async fn link_in(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    repo: &RepositoryName,
    digest: &Digest,
    size: u64,
    now: i64,
) -> Result<()> {
    let repo_id = ensure_repository(tx, repo, now).await?;
    quotas::charge(tx, dialect, repo_id, digest, to_i64(size)?).await?;
    sqlx::query(
        "INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest.as_str())
    .bind(to_i64(size)?)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(internal)?;
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
    link_in(&mut tx, s.dialect, repo, digest, size, now_ms()).await?;
    tx.commit().await.map_err(internal)
}

/// Links the blob an upload produced and deletes the upload session, atomically. When
/// the quota refuses the blob nothing is linked or charged, and the session is deleted
/// too (its staged bytes were consumed by the commit): the client starts a new upload
/// once space is freed.
pub(super) async fn finish_upload(
    s: &SqlMetadataStore,
    id: &UploadId,
    repo: &RepositoryName,
    digest: &Digest,
    size: u64,
) -> Result<()> {
    let delete_session =
        || sqlx::query("DELETE FROM upload_sessions WHERE id = $1").bind(id.as_str());
    let mut tx = s.begin_write().await?;
    match link_in(&mut tx, s.dialect, repo, digest, size, now_ms()).await {
        Ok(()) => {}
        Err(e @ Error::QuotaExceeded(_)) => {
            tx.rollback().await.map_err(internal)?;
            delete_session().execute(&s.write).await.map_err(internal)?;
            return Err(e);
        }
        Err(e) => return Err(e),
    }
    delete_session().execute(&mut *tx).await.map_err(internal)?;
    tx.commit().await.map_err(internal)
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
