//! Trusted signature keys (`migrations/*/0025_signature_keys.sql`): a project's public
//! keys and root certificates, unique by name and by fingerprint in the project; they go
//! with the project (a cascading foreign key).

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::model::now_ms;
use harbor_core::signature::{NewTrustedKey, SignatureKeyStore, SignatureKind, TrustedKey};
use harbor_core::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::SqlMetadataStore;
use super::events::append;
use crate::error::{StorageError, internal};

const COLUMNS: &str = "id, project_id, kind, name, pem, fingerprint, created_by, created_at";

fn key(row: &AnyRow) -> Result<TrustedKey> {
    let kind: String = row.try_get(2).map_err(internal)?;
    let kind = SignatureKind::parse(&kind).map_err(|e| {
        internal(StorageError::Inconsistent(format!(
            "signature key kind: {e}"
        )))
    })?;
    Ok(TrustedKey {
        id: row.try_get(0).map_err(internal)?,
        project_id: row.try_get(1).map_err(internal)?,
        kind,
        name: row.try_get(3).map_err(internal)?,
        pem: row.try_get(4).map_err(internal)?,
        fingerprint: row.try_get(5).map_err(internal)?,
        created_by: row.try_get(6).map_err(internal)?,
        created_ms: row.try_get(7).map_err(internal)?,
    })
}

#[async_trait]
impl SignatureKeyStore for SqlMetadataStore {
    async fn signature_keys(&self, project_id: i64) -> Result<Vec<TrustedKey>> {
        let sql = format!("SELECT {COLUMNS} FROM signature_keys WHERE project_id = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(project_id)
            .fetch_all(&self.read)
            .await
            .map_err(internal)?;
        rows.iter().map(key).collect()
    }

    async fn add_signature_key_emitting(
        &self,
        project_id: i64,
        new: &NewTrustedKey,
        by: &str,
        events: &[NewEvent],
    ) -> Result<TrustedKey> {
        let sql = format!(
            "INSERT INTO signature_keys (project_id, kind, name, pem, fingerprint, created_by,
                 created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING {COLUMNS}"
        );
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(project_id)
            .bind(new.kind.as_str())
            .bind(new.name.as_str())
            .bind(new.pem.as_str())
            .bind(new.fingerprint.as_str())
            .bind(by)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(format!(
                    "the project trusts a key named {:?} or with fingerprint {} already",
                    new.name, new.fingerprint
                )),
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    Error::NotFound(format!("project {project_id} not found"))
                }
                _ => internal(e),
            })?;
        let stored = key(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(stored)
    }

    async fn delete_signature_key_emitting(
        &self,
        project_id: i64,
        id: i64,
        events: &[NewEvent],
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM signature_keys WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Ok(false); // Rolled back: no event for a key that was not there.
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(true)
    }
}
