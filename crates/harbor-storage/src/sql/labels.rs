//! Labels and their links to artifacts (`migrations/*/0006_labels_immutability.sql`).
//!
//! Names are unique per scope and project by a unique index; a duplicate write fails with
//! [`Error::Conflict`]. Links cascade from both the label and the manifest row.
//!
//! For the artifact listing: [`labels_of`] reads the labels of a page of artifacts in one
//! query, and [`with_label`] is the `WHERE` condition that keeps only artifacts carrying
//! a label.

use std::collections::HashMap;

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::identity::Page;
use harbor_core::labels::{Label, LabelQuery, LabelScope, LabelStore, LabelUpdate, NewLabel};
use harbor_core::model::now_ms;
use harbor_core::{Error, Reference, RepositoryName, Result};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::events::append;
use super::identity::{Filter, paged};
use super::{SqlMetadataStore, placeholders};
use crate::error::{StorageError, internal};

/// Ids per `IN (...)` list.
const BATCH: usize = 300;

const COLUMNS: &str =
    "l.id, l.name, l.description, l.color, l.scope, l.project_id, l.created_at, l.updated_at";

/// The condition keeping manifests (aliased `m`) that carry label `$n` (`param`), for the
/// artifact listing's `with_label` filter. Uses the `artifact_labels` primary key.
pub fn with_label(manifest_alias: &str, param: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM artifact_labels al WHERE al.manifest_id = {manifest_alias}.id \
         AND al.label_id = {param})"
    )
}

fn label(row: &AnyRow) -> Result<Label> {
    let scope: String = row.try_get(4).map_err(internal)?;
    let scope = LabelScope::parse(&scope)
        .map_err(|_| internal(StorageError::Inconsistent(format!("label scope {scope:?}"))))?;
    Ok(Label {
        id: row.try_get(0).map_err(internal)?,
        name: row.try_get(1).map_err(internal)?,
        description: row.try_get(2).map_err(internal)?,
        color: row.try_get(3).map_err(internal)?,
        scope,
        project_id: row.try_get(5).map_err(internal)?,
        created_ms: row.try_get(6).map_err(internal)?,
        updated_ms: row.try_get(7).map_err(internal)?,
    })
}

/// A unique violation becomes a conflict naming the label, a foreign-key violation a
/// missing project.
fn write_error(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(format!(
            "a label named {name:?} exists already in this scope"
        )),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::NotFound("the label's project does not exist".into())
        }
        _ => internal(e),
    }
}

async fn get(s: &SqlMetadataStore, id: i64) -> Result<Option<Label>> {
    let sql = format!("SELECT {COLUMNS} FROM labels l WHERE l.id = $1");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?
        .as_ref()
        .map(label)
        .transpose()
}

/// The labels of each manifest row, one query per [`BATCH`] ids, ordered by label id.
pub(super) async fn labels_of(
    s: &SqlMetadataStore,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<Label>>> {
    let mut out: HashMap<i64, Vec<Label>> = HashMap::new();
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for batch in ids.chunks(BATCH) {
        let sql = format!(
            "SELECT {COLUMNS}, al.manifest_id FROM artifact_labels al
             JOIN labels l ON l.id = al.label_id
             WHERE al.manifest_id IN ({}) ORDER BY al.manifest_id, l.id",
            placeholders(1, batch.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in batch {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&s.read).await.map_err(internal)? {
            let manifest: i64 = row.try_get(8).map_err(internal)?;
            out.entry(manifest).or_default().push(label(&row)?);
        }
    }
    Ok(out)
}

#[async_trait]
impl LabelStore for SqlMetadataStore {
    async fn create_label_emitting(&self, l: &NewLabel, events: &[NewEvent]) -> Result<Label> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO labels (name, description, color, scope, project_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             RETURNING {}",
            COLUMNS.replace("l.", "")
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&l.name)
            .bind(&l.description)
            .bind(&l.color)
            .bind(l.scope.as_str())
            .bind(l.project_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, &l.name))?;
        let created = label(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(created)
    }

    async fn label(&self, id: i64) -> Result<Option<Label>> {
        get(self, id).await
    }

    async fn labels(&self, query: &LabelQuery, page: Page) -> Result<(Vec<Label>, u64)> {
        let mut f = Filter::default();
        match query.scope {
            LabelScope::Global => f.raw("l.scope = 'g'"),
            LabelScope::Project => f.raw("l.scope = 'p'"),
        }
        if let Some(p) = query.project_id {
            f.int("l.project_id", "=", p);
        }
        if let Some(name) = &query.name {
            f.matches("l.name", name);
        }
        paged(self, COLUMNS, "FROM labels l", &f, "l.id", page, label).await
    }

    async fn update_label_emitting(
        &self,
        id: i64,
        u: &LabelUpdate,
        events: &[NewEvent],
    ) -> Result<Label> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE labels SET name = $1, description = $2, color = $3, updated_at = $4
             WHERE id = $5 RETURNING {}",
            COLUMNS.replace("l.", "")
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&u.name)
            .bind(&u.description)
            .bind(&u.color)
            .bind(now_ms())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| write_error(e, &u.name))?;
        let Some(row) = row else {
            return Err(Error::NotFound(format!("label {id} not found")));
        };
        let changed = label(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(changed)
    }

    async fn delete_label_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // Links go with the label (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM labels WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("label {id} not found")));
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn artifact_row_id(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<i64>> {
        let q = match reference {
            Reference::Tag(tag) => sqlx::query(
                "SELECT t.manifest_id FROM repositories r
                 JOIN tags t ON t.repository_id = r.id
                 WHERE r.name = $1 AND t.name = $2",
            )
            .bind(repo.as_str())
            .bind(tag.as_str()),
            Reference::Digest(d) => sqlx::query(
                "SELECT m.id FROM repositories r
                 JOIN manifests m ON m.repository_id = r.id
                 WHERE r.name = $1 AND m.digest = $2",
            )
            .bind(repo.as_str())
            .bind(d.as_str()),
        };
        q.fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .map(|row| row.try_get(0).map_err(internal))
            .transpose()
    }

    async fn attach_label_emitting(
        &self,
        artifact_id: i64,
        label_id: i64,
        events: &[NewEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO artifact_labels (manifest_id, label_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (manifest_id, label_id) DO NOTHING",
        )
        .bind(artifact_id)
        .bind(label_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Error::NotFound(format!("label {label_id} or its artifact not found"))
            }
            _ => internal(e),
        })?;
        if done.rows_affected() == 0 {
            return Err(Error::Conflict(format!(
                "label {label_id} is already added to the artifact"
            )));
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn detach_label_emitting(
        &self,
        artifact_id: i64,
        label_id: i64,
        events: &[NewEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("DELETE FROM artifact_labels WHERE manifest_id = $1 AND label_id = $2")
                .bind(artifact_id)
                .bind(label_id)
                .execute(&mut *tx)
                .await
                .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!(
                "label {label_id} is not added to the artifact"
            )));
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn labels_of(&self, artifact_ids: &[i64]) -> Result<HashMap<i64, Vec<Label>>> {
        labels_of(self, artifact_ids).await
    }
}
