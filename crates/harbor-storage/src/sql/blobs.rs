//! Blob records and their links to repositories.

use harbor_core::model::{UploadId, now_ms};
use harbor_core::{Digest, RepositoryName, Result};
use sqlx::{Any, Row, Transaction};

use super::{SqlMetadataStore, delete_in_repository, to_i64, to_u64};
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

/// Records a blob and links it to a repository, inside a write transaction.
async fn link_in(
    tx: &mut Transaction<'_, Any>,
    repo: &RepositoryName,
    digest: &Digest,
    size: u64,
    now: i64,
) -> Result<()> {
    let repo_id = ensure_repository(tx, repo, now).await?;
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
         ON CONFLICT (repository_id, digest) DO NOTHING",
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
    link_in(&mut tx, repo, digest, size, now_ms()).await?;
    tx.commit().await.map_err(internal)
}

/// Links the blob an upload produced and deletes the upload session, atomically.
pub(super) async fn finish_upload(
    s: &SqlMetadataStore,
    id: &UploadId,
    repo: &RepositoryName,
    digest: &Digest,
    size: u64,
) -> Result<()> {
    let mut tx = s.begin_write().await?;
    link_in(&mut tx, repo, digest, size, now_ms()).await?;
    sqlx::query("DELETE FROM upload_sessions WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

pub(super) async fn unlink_blob(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    digest: &Digest,
) -> Result<bool> {
    delete_in_repository(
        s,
        "DELETE FROM repository_blobs
         WHERE repository_id = (SELECT id FROM repositories WHERE name = $1) AND digest = $2",
        repo,
        digest.as_str(),
    )
    .await
}
