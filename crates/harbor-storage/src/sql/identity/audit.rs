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
        q.execute(&mut *tx).await.map_err(internal)?;
    }
    tx.commit().await.map_err(internal)
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
