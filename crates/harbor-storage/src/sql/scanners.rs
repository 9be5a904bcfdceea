//! Scanner registrations and project scanners (`migrations/*/0019_scanner_registrations.sql`).
//!
//! Names and URLs are unique by unique indexes; a duplicate fails with [`Error::Conflict`]
//! naming the field. At most one registration is the default (a partial unique index);
//! the writes that choose it (creation, [`ScannerStore::set_default_registration`]) run
//! under one advisory lock on PostgreSQL and under the single writer on SQLite. The
//! credential column holds only sealed bytes (empty for none).

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::model::now_ms;
use harbor_core::scan::registrations::{
    AdapterAuth, RegistrationSettings, ScannerRegistration, ScannerStore,
};
use harbor_core::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::events::append;
use super::{Dialect, SqlMetadataStore};
use crate::error::{StorageError, internal};

const COLUMNS: &str = "uuid, name, description, url, disabled, is_default, auth, credential, \
                       skip_cert_verify, use_internal_addr, created_at, updated_at";

/// The advisory lock the writes that choose the default take on PostgreSQL ("scanner").
const DEFAULT_LOCK: i64 = 0x73_6361_6e6e_6572;

fn registration(row: &AnyRow) -> Result<ScannerRegistration> {
    let flag = |i: usize| -> Result<bool> { Ok(row.try_get::<i64, _>(i).map_err(internal)? != 0) };
    let auth: String = row.try_get(6).map_err(internal)?;
    let auth = AdapterAuth::parse(&auth)
        .ok_or_else(|| internal(StorageError::Inconsistent(format!("scanner auth {auth:?}"))))?;
    Ok(ScannerRegistration {
        uuid: row.try_get(0).map_err(internal)?,
        settings: RegistrationSettings {
            name: row.try_get(1).map_err(internal)?,
            description: row.try_get(2).map_err(internal)?,
            url: row.try_get(3).map_err(internal)?,
            disabled: flag(4)?,
            auth,
            sealed_credential: row.try_get(7).map_err(internal)?,
            skip_cert_verify: flag(8)?,
            use_internal_addr: flag(9)?,
        },
        is_default: flag(5)?,
        created_ms: row.try_get(10).map_err(internal)?,
        updated_ms: row.try_get(11).map_err(internal)?,
    })
}

/// A unique violation as the field it concerns.
fn write_error(e: sqlx::Error, s: &RegistrationSettings) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            // PostgreSQL names the constraint, SQLite the column or index in its message.
            let which = db
                .constraint()
                .unwrap_or_else(|| db.message())
                .replace("scanner_registrations", "");
            if which.contains("url") {
                Error::Conflict(format!(
                    "a scanner with the URL {:?} is registered already",
                    s.url
                ))
            } else if which.contains("name") {
                Error::Conflict(format!("a scanner named {:?} exists already", s.name))
            } else if which.contains("default") {
                Error::Conflict("another scanner became the default meanwhile: try again".into())
            } else {
                Error::Conflict("the scanner registration exists already".into())
            }
        }
        _ => internal(e),
    }
}

fn not_found(uuid: &str) -> Error {
    Error::NotFound(format!("scanner {uuid} not found"))
}

impl SqlMetadataStore {
    /// Serialises the writes that choose the default (PostgreSQL; SQLite has one writer).
    async fn lock_default(&self, tx: &mut Transaction<'static, Any>) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(DEFAULT_LOCK)
                .execute(&mut **tx)
                .await
                .map_err(internal)?;
        }
        Ok(())
    }
}

#[async_trait]
impl ScannerStore for SqlMetadataStore {
    async fn create_registration(
        &self,
        uuid: &str,
        s: &RegistrationSettings,
        events: &[NewEvent],
    ) -> Result<ScannerRegistration> {
        let mut tx = self.begin_write().await?;
        self.lock_default(&mut tx).await?;
        // An enabled registration becomes the default when there is none.
        let sql = format!(
            "INSERT INTO scanner_registrations (uuid, name, description, url, disabled,
                 is_default, auth, credential, skip_cert_verify, use_internal_addr,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5,
                 CASE WHEN $5 = 0 AND NOT EXISTS
                     (SELECT 1 FROM scanner_registrations WHERE is_default = 1)
                 THEN 1 ELSE 0 END,
                 $6, $7, $8, $9, $10, $10)
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(uuid)
            .bind(&s.name)
            .bind(&s.description)
            .bind(&s.url)
            .bind(i64::from(s.disabled))
            .bind(s.auth.as_str())
            .bind(s.sealed_credential.clone())
            .bind(i64::from(s.skip_cert_verify))
            .bind(i64::from(s.use_internal_addr))
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, s))?;
        let created = registration(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(created)
    }

    async fn registration(&self, uuid: &str) -> Result<Option<ScannerRegistration>> {
        let sql = format!("SELECT {COLUMNS} FROM scanner_registrations WHERE uuid = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(uuid)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(registration)
            .transpose()
    }

    async fn registrations(&self) -> Result<Vec<ScannerRegistration>> {
        let sql = format!("SELECT {COLUMNS} FROM scanner_registrations ORDER BY created_at, name");
        sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await
            .map_err(internal)?
            .iter()
            .map(registration)
            .collect()
    }

    async fn update_registration(
        &self,
        uuid: &str,
        s: &RegistrationSettings,
        events: &[NewEvent],
    ) -> Result<ScannerRegistration> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE scanner_registrations SET name = $1, description = $2, url = $3,
                 disabled = $4, auth = $5, credential = $6, skip_cert_verify = $7,
                 use_internal_addr = $8, updated_at = $9
             WHERE uuid = $10 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&s.name)
            .bind(&s.description)
            .bind(&s.url)
            .bind(i64::from(s.disabled))
            .bind(s.auth.as_str())
            .bind(s.sealed_credential.clone())
            .bind(i64::from(s.skip_cert_verify))
            .bind(i64::from(s.use_internal_addr))
            .bind(now_ms())
            .bind(uuid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| write_error(e, s))?;
        let Some(row) = row else {
            return Err(not_found(uuid));
        };
        let changed = registration(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(changed)
    }

    async fn delete_registration(&self, uuid: &str, events: &[NewEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM scanner_registrations WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Err(not_found(uuid));
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn set_default_registration(&self, uuid: &str, events: &[NewEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_default(&mut tx).await?;
        let found = sqlx::query("SELECT 1 FROM scanner_registrations WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(internal)?;
        if found.is_none() {
            return Err(not_found(uuid));
        }
        // The old default first: at most one row may hold the flag at any time.
        sqlx::query(
            "UPDATE scanner_registrations SET is_default = 0 WHERE is_default = 1 AND uuid <> $1",
        )
        .bind(uuid)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        sqlx::query("UPDATE scanner_registrations SET is_default = 1 WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn project_registration(&self, project_id: i64) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT registration_uuid FROM project_scanners WHERE project_id = $1")
                .bind(project_id)
                .fetch_optional(&self.read)
                .await
                .map_err(internal)?;
        row.map(|r| r.try_get(0).map_err(internal)).transpose()
    }

    async fn set_project_registration(
        &self,
        project_id: i64,
        uuid: &str,
        events: &[NewEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO project_scanners (project_id, registration_uuid) VALUES ($1, $2)
             ON CONFLICT (project_id) DO UPDATE SET registration_uuid = excluded.registration_uuid",
        )
        .bind(project_id)
        .bind(uuid)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Error::NotFound(format!("project {project_id} or scanner {uuid} not found"))
            }
            _ => internal(e),
        })?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn sealed_registration_credentials(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT uuid, credential FROM scanner_registrations WHERE auth <> '' ORDER BY uuid",
        )
        .fetch_all(&self.read)
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

    async fn reseal_registration_credential(
        &self,
        uuid: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE scanner_registrations SET credential = $1 WHERE uuid = $2 AND credential = $3",
        )
        .bind(new.to_vec())
        .bind(uuid)
        .bind(old.to_vec())
        .execute(&self.write)
        .await
        .map_err(internal)?;
        Ok(done.rows_affected() == 1)
    }
}
