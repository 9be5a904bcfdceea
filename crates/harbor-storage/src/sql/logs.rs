//! Run logs: lines of a job's or a replication task's log, appended in batches and read
//! in order. The tables differ only in names (`job_logs`, `replication_task_logs`).

use harbor_core::{Error, Result};
use sqlx::{AssertSqlSafe, Row};

use super::SqlMetadataStore;
use crate::error::internal;

/// Lines per `INSERT`.
const BATCH: usize = 200;

/// A log table: `INSERT INTO <insert> VALUES ($owner, $at, $line), ...` and
/// `<select>` (`SELECT at, line ... WHERE owner = $1 ORDER BY ...`).
pub(super) struct LogTable {
    /// `table (owner_column, at_column, line_column)`.
    pub insert: &'static str,
    /// The ordered `SELECT` of one owner's lines.
    pub select: &'static str,
    /// What owns the lines, for the error when it does not exist (`job`, `task`).
    pub owner: &'static str,
}

/// Appends `lines` to `id`'s log in one transaction; [`Error::NotFound`] if `id` does
/// not exist.
pub(super) async fn append(
    s: &SqlMetadataStore,
    table: &LogTable,
    id: i64,
    lines: &[(i64, String)],
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut tx = s.begin_write().await?;
    for chunk in lines.chunks(BATCH) {
        let values = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO {} VALUES {values}", table.insert);
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        for (at, line) in chunk {
            q = q.bind(*at).bind(line.as_str());
        }
        q.execute(&mut *tx).await.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Error::NotFound(format!("{} {id} does not exist", table.owner))
            }
            _ => internal(e),
        })?;
    }
    tx.commit().await.map_err(internal)
}

/// `id`'s log, in order.
pub(super) async fn read(
    s: &SqlMetadataStore,
    table: &LogTable,
    id: i64,
) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(table.select)
        .bind(id)
        .fetch_all(&s.read)
        .await
        .map_err(internal)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0).map_err(internal)?,
                r.try_get(1).map_err(internal)?,
            ))
        })
        .collect()
}
