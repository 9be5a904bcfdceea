//! Tag retention policies (`migrations/*/0010_retention.sql`): one row per project, the
//! policy kept as Harbor's JSON. The project key is unique, so a second policy for a
//! project fails with [`Error::Conflict`] even when two requests race.

use async_trait::async_trait;
use harbor_core::model::now_ms;
use harbor_core::retention::{RetentionPolicy, RetentionStore};
use harbor_core::{Error, Result};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlMetadataStore;
use crate::error::{StorageError, internal};

fn encode(policy: &RetentionPolicy) -> Result<String> {
    // The id lives in its column.
    serde_json::to_string(&RetentionPolicy {
        id: 0,
        ..policy.clone()
    })
    .map_err(Error::internal)
}

fn policy(row: &AnyRow) -> Result<RetentionPolicy> {
    let id: i64 = row.try_get(0).map_err(internal)?;
    let json: String = row.try_get(1).map_err(internal)?;
    let mut p: RetentionPolicy = serde_json::from_str(&json).map_err(|e| {
        internal(StorageError::Inconsistent(format!(
            "retention policy {id} is not valid JSON: {e}"
        )))
    })?;
    p.id = id;
    Ok(p)
}

fn write_error(e: sqlx::Error, project_id: i64) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(format!(
            "project {project_id} already has a retention policy"
        )),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::NotFound(format!("project {project_id} not found"))
        }
        _ => internal(e),
    }
}

fn not_found(id: i64) -> Error {
    Error::NotFound(format!("retention policy {id} not found"))
}

#[async_trait]
impl RetentionStore for SqlMetadataStore {
    async fn create_policy(&self, project_id: i64, policy: &RetentionPolicy) -> Result<i64> {
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO retention_policies (project_id, policy, created_at, updated_at)
             VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(project_id)
        .bind(encode(policy)?)
        .bind(now)
        // Run to its end (`fetch_all`): SQLite commits a statement outside a transaction
        // when it finishes, and one dropped after its first row loses a failed commit's error
        // (a full disk): the write would be acknowledged but not stored.
        .fetch_all(&self.write)
        .await
        .map_err(|e| write_error(e, project_id))?;
        row.first()
            .ok_or_else(|| Error::internal("the policy insert returned no id"))?
            .try_get(0)
            .map_err(internal)
    }

    async fn policy(&self, id: i64) -> Result<Option<RetentionPolicy>> {
        sqlx::query("SELECT id, policy FROM retention_policies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(policy)
            .transpose()
    }

    async fn policy_of_project(&self, project_id: i64) -> Result<Option<RetentionPolicy>> {
        sqlx::query("SELECT id, policy FROM retention_policies WHERE project_id = $1")
            .bind(project_id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(policy)
            .transpose()
    }

    async fn update_policy(&self, id: i64, policy: &RetentionPolicy) -> Result<()> {
        let done =
            sqlx::query("UPDATE retention_policies SET policy = $1, updated_at = $2 WHERE id = $3")
                .bind(encode(policy)?)
                .bind(now_ms())
                .bind(id)
                .execute(&self.write)
                .await
                .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    async fn delete_policy(&self, id: i64) -> Result<()> {
        let done = sqlx::query("DELETE FROM retention_policies WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await
            .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }
}
