//! The audit log and the shared token-signing key.

use harbor_core::Result;
use harbor_core::identity::{AuditEntry, AuditQuery, NewAuditEntry, Page};
use harbor_core::model::now_ms;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Filter, paged};
use crate::error::internal;
use crate::sql::{SqlMetadataStore, placeholders};

const COLUMNS: &str = "id, project_id, username, operation, resource_type, resource, op_time";
/// Values per audit row inserted.
const FIELDS: usize = 6;
/// Rows per multi-row insert (well under SQLite's limit of bound values).
const BATCH: usize = 100;

fn entry(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get(0).map_err(internal)?,
        project_id: row.try_get(1).map_err(internal)?,
        username: row.try_get(2).map_err(internal)?,
        operation: row.try_get(3).map_err(internal)?,
        resource_type: row.try_get(4).map_err(internal)?,
        resource: row.try_get(5).map_err(internal)?,
        op_time_ms: row.try_get(6).map_err(internal)?,
    })
}

/// Inserts every entry, in one transaction, with multi-row inserts.
pub(super) async fn record(s: &SqlMetadataStore, entries: &[NewAuditEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut tx = s.begin_write().await?;
    insert(&mut tx, entries).await?;
    tx.commit().await.map_err(internal)
}

/// Inserts audit entries in the caller's transaction.
pub(in crate::sql) async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    entries: &[NewAuditEntry],
) -> Result<()> {
    for batch in entries.chunks(BATCH) {
        let rows = (0..batch.len())
            .map(|i| format!("({})", placeholders(1 + i * FIELDS, FIELDS)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO audit_log
             (project_id, username, operation, resource_type, resource, op_time)
             VALUES {rows}"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for e in batch {
            q = q
                .bind(e.project_id)
                .bind(e.username.as_str())
                .bind(e.operation.as_str())
                .bind(e.resource_type.as_str())
                .bind(e.resource.as_str())
                .bind(e.op_time_ms);
        }
        q.execute(&mut **tx).await.map_err(internal)?;
    }
    Ok(())
}

pub(super) async fn list(
    s: &SqlMetadataStore,
    query: &AuditQuery,
    page: Page,
) -> Result<(Vec<AuditEntry>, u64)> {
    let mut filter = Filter::default();
    if let Some(project_id) = query.project_id {
        filter.int("project_id", "=", project_id);
    }
    if let Some(m) = &query.username {
        filter.matches("username", m);
    }
    if let Some(op) = &query.operation {
        filter.text("operation", op);
    }
    if let Some(kind) = &query.resource_type {
        filter.text("resource_type", kind);
    }
    if let Some(m) = &query.resource {
        filter.matches("resource", m);
    }
    if let Some(from) = query.from_ms {
        filter.int("op_time", ">=", from);
    }
    if let Some(to) = query.to_ms {
        filter.int("op_time", "<=", to);
    }
    paged(
        s,
        COLUMNS,
        "FROM audit_log",
        &filter,
        "op_time DESC, id DESC",
        page,
        entry,
    )
    .await
}

/// Stores `candidate` unless a key is stored, then reads the stored key. The insert waits
/// for a concurrent one (unique key), so every caller reads the same, committed key.
pub(super) async fn signing_key(s: &SqlMetadataStore, candidate: &[u8]) -> Result<Vec<u8>> {
    sqlx::query(
        "INSERT INTO signing_keys (id, key, created_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(candidate)
    .bind(now_ms())
    .execute(&s.write)
    .await
    .map_err(internal)?;
    let row = sqlx::query("SELECT key FROM signing_keys WHERE id = 1")
        .fetch_one(&s.write)
        .await
        .map_err(internal)?;
    row.try_get(0).map_err(internal)
}

/// Replaces the stored key if it is still `old`; false if another replica changed it.
pub(super) async fn replace_signing_key(
    s: &SqlMetadataStore,
    old: &[u8],
    new: &[u8],
) -> Result<bool> {
    let done = sqlx::query("UPDATE signing_keys SET key = $1 WHERE id = 1 AND key = $2")
        .bind(new)
        .bind(old)
        .execute(&s.write)
        .await
        .map_err(internal)?;
    Ok(done.rows_affected() == 1)
}

/// Rows deleted per statement (and transaction) by a purge.
const PURGE_BATCH: i64 = 5000;

/// Deletes (or counts) entries older than `before_ms` of the given operations, a bounded
/// batch per transaction so a large purge never holds the writer for long.
pub(super) async fn purge(
    s: &SqlMetadataStore,
    before_ms: i64,
    operations: &[String],
    dry_run: bool,
) -> Result<u64> {
    if operations.is_empty() {
        return Ok(0);
    }
    let ops = placeholders(2, operations.len());
    if dry_run {
        let sql =
            format!("SELECT COUNT(*) FROM audit_log WHERE op_time < $1 AND operation IN ({ops})");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(before_ms);
        for o in operations {
            q = q.bind(o.as_str());
        }
        let n: i64 = q
            .fetch_one(&s.read)
            .await
            .map_err(internal)?
            .try_get(0)
            .map_err(internal)?;
        return Ok(u64::try_from(n).unwrap_or_default());
    }
    let limit_at = operations.len() + 2;
    let sql = format!(
        "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log
         WHERE op_time < $1 AND operation IN ({ops}) LIMIT ${limit_at})"
    );
    let mut total = 0u64;
    loop {
        let mut q = sqlx::query(AssertSqlSafe(sql.clone())).bind(before_ms);
        for o in operations {
            q = q.bind(o.as_str());
        }
        let done = q
            .bind(PURGE_BATCH)
            .execute(&s.write)
            .await
            .map_err(internal)?;
        total += done.rows_affected();
        if done.rows_affected() < PURGE_BATCH as u64 {
            return Ok(total);
        }
    }
}
