//! Copying all metadata from one database to another, e.g. from the embedded SQLite to
//! PostgreSQL when a registry outgrows one machine.

use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::{Dialect, SqlMetadataStore};
use crate::error::StorageError;

/// Column types the registry's tables use.
#[derive(Clone, Copy)]
enum Ty {
    Int,
    OptInt,
    Text,
    OptText,
    Bytes,
}

/// A table and its columns in dependency order; the first column is the key to page by.
const TABLES: &[(&str, &[(&str, Ty)])] = &[
    (
        "repositories",
        &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
    ),
    (
        "blobs",
        &[
            ("digest", Ty::Text),
            ("size", Ty::Int),
            ("created_at", Ty::Int),
        ],
    ),
    (
        "repository_blobs",
        &[
            ("repository_id", Ty::Int),
            ("digest", Ty::Text),
            ("created_at", Ty::Int),
        ],
    ),
    (
        "manifests",
        &[
            ("id", Ty::Int),
            ("repository_id", Ty::Int),
            ("digest", Ty::Text),
            ("media_type", Ty::Text),
            ("artifact_type", Ty::OptText),
            ("subject", Ty::OptText),
            ("size", Ty::Int),
            ("annotations", Ty::OptText),
            ("content", Ty::Bytes),
            ("created_at", Ty::Int),
        ],
    ),
    (
        "manifest_references",
        &[
            ("manifest_id", Ty::Int),
            ("digest", Ty::Text),
            ("kind", Ty::Int),
        ],
    ),
    (
        "tags",
        &[
            ("repository_id", Ty::Int),
            ("name", Ty::Text),
            ("manifest_id", Ty::Int),
            ("updated_at", Ty::Int),
        ],
    ),
    (
        "upload_sessions",
        &[
            ("id", Ty::Text),
            ("repository", Ty::Text),
            ("received", Ty::Int),
            ("hash_state", Ty::Bytes),
            ("store_state", Ty::Text),
            ("lease_token", Ty::OptText),
            ("lease_until", Ty::OptInt),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
    ),
];

/// Rows per read and per insert; manifests carry their content, so fewer of them.
fn page_size(table: &str) -> usize {
    if table == "manifests" { 50 } else { 1000 }
}

enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Vec<u8>),
}

fn read(row: &AnyRow, i: usize, ty: Ty) -> Result<Value, sqlx::Error> {
    Ok(match ty {
        Ty::Int => Value::Int(Some(row.try_get(i)?)),
        Ty::OptInt => Value::Int(row.try_get(i)?),
        Ty::Text => Value::Text(Some(row.try_get(i)?)),
        Ty::OptText => Value::Text(row.try_get(i)?),
        Ty::Bytes => Value::Bytes(row.try_get(i)?),
    })
}

/// What a copy moved: rows per table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// `(table, rows)` in copy order.
    pub tables: Vec<(&'static str, u64)>,
}

impl SqlMetadataStore {
    /// Copies every row of `self` into `target`, which must be empty, in one transaction
    /// on the target: either everything arrives or nothing does. Stop writers to the
    /// source first. Ids are preserved, and PostgreSQL identity sequences are moved past
    /// them.
    pub async fn copy_into(&self, target: &SqlMetadataStore) -> Result<CopyReport, StorageError> {
        let existing: i64 = sqlx::query("SELECT COUNT(*) FROM repositories")
            .fetch_one(&target.read)
            .await?
            .try_get(0)?;
        if existing > 0 {
            return Err(StorageError::Config(
                "the target database already holds repositories; copy into an empty one".into(),
            ));
        }
        let mut tx = target.write.begin().await?;
        let mut report = CopyReport::default();
        for (table, cols) in TABLES {
            let n = copy_table(&self.read, &mut tx, table, cols).await?;
            report.tables.push((table, n));
        }
        if target.dialect == Dialect::Postgres {
            for table in ["repositories", "manifests"] {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                );
                sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}

async fn copy_table(
    source: &sqlx::AnyPool,
    tx: &mut Transaction<'_, Any>,
    table: &str,
    cols: &[(&str, Ty)],
) -> Result<u64, StorageError> {
    let names = cols.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    // Order by the whole primary key so that pages are stable.
    let order = cols
        .iter()
        .take(match table {
            "repository_blobs" | "manifest_references" | "tags" => 2,
            _ => 1,
        })
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ");
    let page = page_size(table);
    let mut copied = 0u64;
    loop {
        let select =
            format!("SELECT {names} FROM {table} ORDER BY {order} LIMIT {page} OFFSET {copied}");
        let rows = sqlx::query(AssertSqlSafe(select)).fetch_all(source).await?;
        if rows.is_empty() {
            return Ok(copied);
        }
        let width = cols.len();
        let values = (0..rows.len())
            .map(|r| {
                let ph = (1..=width)
                    .map(|c| format!("${}", r * width + c))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({ph})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!("INSERT INTO {table} ({names}) VALUES {values}");
        let mut q = sqlx::query(AssertSqlSafe(insert));
        for row in &rows {
            for (i, (_, ty)) in cols.iter().enumerate() {
                q = match read(row, i, *ty)? {
                    Value::Int(v) => q.bind(v),
                    Value::Text(v) => q.bind(v),
                    Value::Bytes(v) => q.bind(v),
                };
            }
        }
        q.execute(&mut **tx).await?;
        copied += rows.len() as u64;
    }
}
