//! Upload sessions and their leases.

use harbor_core::model::{Claim, Lease, UploadId, UploadSession, now_ms};
use harbor_core::{RepositoryName, Result};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{SqlMetadataStore, to_i64, to_u64};
use crate::error::internal;

fn session(row: &AnyRow) -> Result<UploadSession> {
    let id: String = row.try_get(0).map_err(internal)?;
    let repo: String = row.try_get(1).map_err(internal)?;
    Ok(UploadSession {
        id: UploadId::parse(&id)?,
        repository: RepositoryName::parse(&repo)?,
        offset: to_u64(row.try_get(2).map_err(internal)?)?,
        hash_state: row.try_get(3).map_err(internal)?,
        store_state: row.try_get(4).map_err(internal)?,
        created_at: row.try_get(5).map_err(internal)?,
        updated_at: row.try_get(6).map_err(internal)?,
    })
}

pub(super) async fn create(s: &SqlMetadataStore, u: &UploadSession) -> Result<()> {
    sqlx::query(
        "INSERT INTO upload_sessions
         (id, repository, received, hash_state, store_state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(u.id.as_str())
    .bind(u.repository.as_str())
    .bind(to_i64(u.offset)?)
    .bind(u.hash_state.as_slice())
    .bind(u.store_state.as_str())
    .bind(u.created_at)
    .bind(u.updated_at)
    .execute(&s.write)
    .await
    .map_err(internal)?;
    Ok(())
}

pub(super) async fn get(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    id: &UploadId,
) -> Result<Option<UploadSession>> {
    let row = sqlx::query(
        "SELECT id, repository, received, hash_state, store_state, created_at, updated_at
         FROM upload_sessions WHERE id = $1 AND repository = $2",
    )
    .bind(id.as_str())
    .bind(repo.as_str())
    .fetch_optional(&s.read)
    .await
    .map_err(internal)?;
    row.as_ref().map(session).transpose()
}

pub(super) async fn claim(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    id: &UploadId,
    lease: &Lease,
    expected_offset: Option<u64>,
) -> Result<Claim> {
    let query = match expected_offset {
        None => sqlx::query(
            "UPDATE upload_sessions SET lease_token = $1, lease_until = $2
             WHERE id = $3 AND repository = $4 AND (lease_until IS NULL OR lease_until < $5)
             RETURNING id, repository, received, hash_state, store_state, created_at, updated_at",
        ),
        Some(_) => sqlx::query(
            "UPDATE upload_sessions SET lease_token = $1, lease_until = $2
             WHERE id = $3 AND repository = $4 AND (lease_until IS NULL OR lease_until < $5)
               AND received = $6
             RETURNING id, repository, received, hash_state, store_state, created_at, updated_at",
        ),
    };
    let mut query = query
        .bind(lease.token.as_str())
        .bind(lease.until)
        .bind(id.as_str())
        .bind(repo.as_str())
        .bind(lease.now);
    if let Some(offset) = expected_offset {
        query = query.bind(to_i64(offset)?);
    }
    // Run to its end (`fetch_all`): outside a transaction SQLite commits a statement when
    // it finishes, and one dropped after its first row loses a failed commit's error.
    if let Some(row) = query.fetch_all(&s.write).await.map_err(internal)?.first() {
        return Ok(Claim::Claimed(session(row)?));
    }
    // Why not? Tell the caller precisely.
    let row = sqlx::query(
        "SELECT received, lease_until FROM upload_sessions WHERE id = $1 AND repository = $2",
    )
    .bind(id.as_str())
    .bind(repo.as_str())
    .fetch_optional(&s.write)
    .await
    .map_err(internal)?;
    let Some(row) = row else {
        return Ok(Claim::Unknown);
    };
    let received = to_u64(row.try_get(0).map_err(internal)?)?;
    let until: Option<i64> = row.try_get(1).map_err(internal)?;
    // Held now, or held when we tried and released since (the offset matched, so the
    // lease was what stopped us): busy either way.
    let held = until.is_some_and(|u| u >= lease.now);
    if held || expected_offset.is_none_or(|o| o == received) {
        Ok(Claim::Busy)
    } else {
        Ok(Claim::OffsetMismatch(received))
    }
}

pub(super) async fn renew(s: &SqlMetadataStore, id: &UploadId, lease: &Lease) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE upload_sessions SET lease_until = $1 WHERE id = $2 AND lease_token = $3",
    )
    .bind(lease.until)
    .bind(id.as_str())
    .bind(lease.token.as_str())
    .execute(&s.write)
    .await
    .map_err(internal)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn save(
    s: &SqlMetadataStore,
    id: &UploadId,
    token: &str,
    offset: u64,
    hash_state: &[u8],
    store_state: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE upload_sessions
         SET received = $1, hash_state = $2, store_state = $3, updated_at = $4,
             lease_token = NULL, lease_until = NULL
         WHERE id = $5 AND lease_token = $6",
    )
    .bind(to_i64(offset)?)
    .bind(hash_state)
    .bind(store_state)
    .bind(now_ms())
    .bind(id.as_str())
    .bind(token)
    .execute(&s.write)
    .await
    .map_err(internal)?;
    Ok(done.rows_affected() == 1)
}

/// The `LIKE` pattern of lease tokens `<owner>.<random>`. The owner is letters and digits
/// (checked here), so the prefix needs no escaping.
pub(super) fn owner_pattern(owner: &str) -> Result<String> {
    if owner.is_empty() || !owner.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(harbor_core::Error::Invalid(format!(
            "invalid lease owner {owner:?}: letters and digits only"
        )));
    }
    Ok(format!("{owner}.%"))
}

/// Releases the upload leases whose token is `<owner>.<random>`.
pub(super) async fn release_owner(s: &SqlMetadataStore, owner: &str) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE upload_sessions SET lease_token = NULL, lease_until = NULL
         WHERE lease_token LIKE $1",
    )
    .bind(owner_pattern(owner)?)
    .execute(&s.write)
    .await
    .map_err(internal)?;
    Ok(done.rows_affected())
}

pub(super) async fn release(s: &SqlMetadataStore, id: &UploadId, token: &str) -> Result<()> {
    sqlx::query(
        "UPDATE upload_sessions SET lease_token = NULL, lease_until = NULL
         WHERE id = $1 AND lease_token = $2",
    )
    .bind(id.as_str())
    .bind(token)
    .execute(&s.write)
    .await
    .map_err(internal)?;
    Ok(())
}

pub(super) async fn delete(s: &SqlMetadataStore, id: &UploadId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM upload_sessions WHERE id = $1")
        .bind(id.as_str())
        .execute(&s.write)
        .await
        .map_err(internal)?;
    Ok(done.rows_affected() > 0)
}

/// Sessions idle since `before_ms` whose lease (if any) has expired at `now_ms`.
pub(super) async fn stale(
    s: &SqlMetadataStore,
    before_ms: i64,
    now_ms: i64,
    n: usize,
) -> Result<Vec<UploadSession>> {
    let rows = sqlx::query(
        "SELECT id, repository, received, hash_state, store_state, created_at, updated_at
         FROM upload_sessions
         WHERE updated_at < $1 AND (lease_until IS NULL OR lease_until < $2)
         ORDER BY updated_at LIMIT $3",
    )
    .bind(before_ms)
    .bind(now_ms)
    .bind(super::limit(n))
    .fetch_all(&s.read)
    .await
    .map_err(internal)?;
    rows.iter().map(session).collect()
}
