//! Registry endpoints (`migrations/*/0015_registries.sql`).
//!
//! Names are unique by a unique index; a duplicate fails with [`Error::Conflict`]. The
//! secret column holds only sealed bytes (empty for anonymous access).

use async_trait::async_trait;
use harbor_core::endpoints::{
    CredentialKind, Endpoint, EndpointKind, EndpointQuery, EndpointSettings, EndpointStatus,
    EndpointStore, SealedCredential,
};
use harbor_core::events::NewEvent;
use harbor_core::identity::Page;
use harbor_core::model::now_ms;
use harbor_core::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::SqlMetadataStore;
use super::events::append;
use super::identity::{Filter, paged};
use crate::error::{StorageError, internal};

const COLUMNS: &str = "id, name, description, kind, url, credential_type, access_key, \
                       access_secret, insecure, ca_certificate, status, created_at, updated_at";

fn endpoint(row: &AnyRow) -> Result<Endpoint> {
    let kind: String = row.try_get(3).map_err(internal)?;
    let kind = EndpointKind::parse(&kind).map_err(|_| {
        internal(StorageError::Inconsistent(format!(
            "registry type {kind:?}"
        )))
    })?;
    let credential_type: String = row.try_get(5).map_err(internal)?;
    let credential = if credential_type.is_empty() {
        None
    } else {
        Some(SealedCredential {
            kind: CredentialKind::parse(&credential_type).map_err(|_| {
                internal(StorageError::Inconsistent(format!(
                    "credential type {credential_type:?}"
                )))
            })?,
            access_key: row.try_get(6).map_err(internal)?,
            sealed_secret: row.try_get(7).map_err(internal)?,
        })
    };
    let insecure: i64 = row.try_get(8).map_err(internal)?;
    let status: String = row.try_get(10).map_err(internal)?;
    Ok(Endpoint {
        id: row.try_get(0).map_err(internal)?,
        settings: EndpointSettings {
            name: row.try_get(1).map_err(internal)?,
            description: row.try_get(2).map_err(internal)?,
            kind,
            url: row.try_get(4).map_err(internal)?,
            credential,
            insecure: insecure != 0,
            ca_certificate: row.try_get(9).map_err(internal)?,
        },
        status: EndpointStatus::parse(&status),
        created_ms: row.try_get(11).map_err(internal)?,
        updated_ms: row.try_get(12).map_err(internal)?,
    })
}

fn write_error(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Error::Conflict(format!("a registry named {name:?} exists already"))
        }
        _ => internal(e),
    }
}

/// The credential's columns: type ('' for none), access key, sealed secret.
fn credential_columns(s: &EndpointSettings) -> (&'static str, &str, &[u8]) {
    match &s.credential {
        Some(c) => (c.kind.as_str(), &c.access_key, &c.sealed_secret),
        None => ("", "", &[]),
    }
}

#[async_trait]
impl EndpointStore for SqlMetadataStore {
    async fn create_endpoint_emitting(
        &self,
        s: &EndpointSettings,
        events: &[NewEvent],
    ) -> Result<Endpoint> {
        let (ctype, key, secret) = credential_columns(s);
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO registries (name, description, kind, url, credential_type, access_key,
                 access_secret, insecure, ca_certificate, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'unknown', $10, $10)
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&s.name)
            .bind(&s.description)
            .bind(s.kind.as_str())
            .bind(&s.url)
            .bind(ctype)
            .bind(key)
            .bind(secret.to_vec())
            .bind(i64::from(s.insecure))
            .bind(s.ca_certificate.clone())
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, &s.name))?;
        let created = endpoint(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(created)
    }

    async fn endpoint(&self, id: i64) -> Result<Option<Endpoint>> {
        let sql = format!("SELECT {COLUMNS} FROM registries WHERE id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(endpoint)
            .transpose()
    }

    async fn endpoints(&self, q: &EndpointQuery, page: Page) -> Result<(Vec<Endpoint>, u64)> {
        let mut f = Filter::default();
        if let Some(name) = &q.name {
            f.matches("name", name);
        }
        if let Some(kind) = q.kind {
            f.text("kind", kind.as_str());
        }
        paged(self, COLUMNS, "FROM registries", &f, "id", page, endpoint).await
    }

    async fn update_endpoint_emitting(
        &self,
        id: i64,
        s: &EndpointSettings,
        events: &[NewEvent],
    ) -> Result<Endpoint> {
        let (ctype, key, secret) = credential_columns(s);
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE registries SET name = $1, description = $2, kind = $3, url = $4,
                 credential_type = $5, access_key = $6, access_secret = $7, insecure = $8,
                 ca_certificate = $9, status = 'unknown', updated_at = $10
             WHERE id = $11 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&s.name)
            .bind(&s.description)
            .bind(s.kind.as_str())
            .bind(&s.url)
            .bind(ctype)
            .bind(key)
            .bind(secret.to_vec())
            .bind(i64::from(s.insecure))
            .bind(s.ca_certificate.clone())
            .bind(now_ms())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| write_error(e, &s.name))?;
        let Some(row) = row else {
            return Err(Error::NotFound(format!("registry {id} not found")));
        };
        let changed = endpoint(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(changed)
    }

    async fn delete_endpoint_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM registries WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    Error::Precondition(format!(
                        "registry {id} is used by a replication policy or a proxy-cache \
                         project: change or delete those first"
                    ))
                }
                _ => internal(e),
            })?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("registry {id} not found")));
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn set_endpoint_status(
        &self,
        id: i64,
        status: EndpointStatus,
        checked_ms: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE registries SET status = $1 WHERE id = $2 AND updated_at <= $3")
            .bind(status.as_str())
            .bind(id)
            .bind(checked_ms)
            .execute(&self.write)
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn sealed_endpoint_secrets(&self) -> Result<Vec<(i64, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT id, access_secret FROM registries WHERE credential_type <> '' ORDER BY id",
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

    async fn reseal_endpoint_secret(&self, id: i64, old: &[u8], new: &[u8]) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE registries SET access_secret = $1 WHERE id = $2 AND access_secret = $3",
        )
        .bind(new.to_vec())
        .bind(id)
        .bind(old.to_vec())
        .execute(&self.write)
        .await
        .map_err(internal)?;
        Ok(done.rows_affected() == 1)
    }
}
