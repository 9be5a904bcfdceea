//! CVE allowlists (`migrations/*/0021_cve_allowlists.sql`): one row per list, keyed by
//! project id (0 for the system list); a project's row goes with the project (its
//! `project` column is a cascading foreign key). Items are stored as one JSON array.

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::model::now_ms;
use harbor_core::scan::allowlist::{AllowlistInput, AllowlistStore, CveAllowlist, SYSTEM};
use harbor_core::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::events::append;
use super::{SqlMetadataStore, placeholders};
use crate::error::{StorageError, internal};

const COLUMNS: &str = "id, project_id, expires_at, items, created_at, updated_at";

fn allowlist(row: &AnyRow) -> Result<CveAllowlist> {
    let items: String = row.try_get(3).map_err(internal)?;
    let items: Vec<String> = serde_json::from_str(&items)
        .map_err(|e| internal(StorageError::Inconsistent(format!("allowlist items: {e}"))))?;
    Ok(CveAllowlist {
        id: row.try_get(0).map_err(internal)?,
        project_id: row.try_get(1).map_err(internal)?,
        expires_at: row.try_get(2).map_err(internal)?,
        items,
        created_ms: row.try_get(4).map_err(internal)?,
        updated_ms: row.try_get(5).map_err(internal)?,
    })
}

#[async_trait]
impl AllowlistStore for SqlMetadataStore {
    async fn allowlists(&self, project_ids: &[i64]) -> Result<Vec<CveAllowlist>> {
        if project_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM cve_allowlists WHERE project_id IN ({}) ORDER BY project_id",
            placeholders(1, project_ids.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in project_ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&self.read).await.map_err(internal)?;
        rows.iter().map(allowlist).collect()
    }

    async fn put_allowlist(
        &self,
        project_id: i64,
        list: &AllowlistInput,
        events: &[NewEvent],
    ) -> Result<CveAllowlist> {
        let items = serde_json::to_string(&list.items).map_err(Error::internal)?;
        let project = (project_id != SYSTEM).then_some(project_id);
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO cve_allowlists (project_id, project, expires_at, items, created_at,
                 updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (project_id) DO UPDATE SET expires_at = excluded.expires_at,
                 items = excluded.items, updated_at = excluded.updated_at
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(project_id)
            .bind(project)
            .bind(list.expires_at)
            .bind(items)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    Error::NotFound(format!("project {project_id} not found"))
                }
                _ => internal(e),
            })?;
        let stored = allowlist(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(stored)
    }
}
