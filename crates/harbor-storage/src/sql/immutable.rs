//! Tag immutability rules (`migrations/*/0006_labels_immutability.sql`) and the tag
//! look-ups their enforcement needs.
//!
//! The rules of a project are read by project name with one query on two unique indexes
//! (`projects.name`, then the rule table's `(project_id, ...)` key).

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::identity::Page;
use harbor_core::immutable::{ImmutableRule, ImmutableRuleStore, RuleSpec, Selector};
use harbor_core::model::now_ms;
use harbor_core::{Digest, Error, RepositoryName, Result, Tag};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::events::append;
use super::identity::{Filter, paged};
use super::{Dialect, SqlMetadataStore, placeholders};
use crate::error::internal;

const COLUMNS: &str = "ir.id, ir.project_id, ir.priority, ir.disabled, ir.repo_exclude, \
     ir.repo_pattern, ir.tag_exclude, ir.tag_pattern";

/// Tags per `IN (...)` list.
const BATCH: usize = 300;

fn rule(row: &AnyRow) -> Result<ImmutableRule> {
    let flag = |i: usize| -> Result<bool> {
        let v: i64 = row.try_get(i).map_err(internal)?;
        Ok(v != 0)
    };
    Ok(ImmutableRule {
        id: row.try_get(0).map_err(internal)?,
        project_id: row.try_get(1).map_err(internal)?,
        spec: RuleSpec {
            priority: row.try_get(2).map_err(internal)?,
            disabled: flag(3)?,
            repositories: Selector {
                exclude: flag(4)?,
                pattern: row.try_get(5).map_err(internal)?,
            },
            tags: Selector {
                exclude: flag(6)?,
                pattern: row.try_get(7).map_err(internal)?,
            },
        },
    })
}

fn write_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(
            "an immutable rule with the same selectors exists already in this project".into(),
        ),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::NotFound("the rule's project does not exist".into())
        }
        _ => internal(e),
    }
}

#[async_trait]
impl ImmutableRuleStore for SqlMetadataStore {
    async fn create_immutable_rule_emitting(
        &self,
        project_id: i64,
        spec: &RuleSpec,
        max_rules: usize,
        events: &[NewEvent],
    ) -> Result<ImmutableRule> {
        let mut tx = self.begin_write().await?;
        if self.dialect == Dialect::Postgres {
            // Serialises rule creation per project, so the limit holds under concurrency
            // (SQLite has a single writer).
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(internal)?;
        }
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM immutable_rules WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(internal)?
            .try_get(0)
            .map_err(internal)?;
        if usize::try_from(n).unwrap_or(usize::MAX) >= max_rules {
            return Err(Error::Invalid(format!(
                "a project holds at most {max_rules} immutable rules"
            )));
        }
        let now = now_ms();
        let sql = format!(
            "INSERT INTO immutable_rules (project_id, priority, disabled, repo_exclude,
             repo_pattern, tag_exclude, tag_pattern, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {}",
            COLUMNS.replace("ir.", "")
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(project_id)
            .bind(spec.priority)
            .bind(i64::from(spec.disabled))
            .bind(i64::from(spec.repositories.exclude))
            .bind(&spec.repositories.pattern)
            .bind(i64::from(spec.tags.exclude))
            .bind(&spec.tags.pattern)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(write_error)?;
        let created = rule(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(created)
    }

    async fn immutable_rule(&self, id: i64) -> Result<Option<ImmutableRule>> {
        let sql = format!("SELECT {COLUMNS} FROM immutable_rules ir WHERE ir.id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(rule)
            .transpose()
    }

    async fn immutable_rules(
        &self,
        project_id: i64,
        page: Page,
    ) -> Result<(Vec<ImmutableRule>, u64)> {
        let mut f = Filter::default();
        f.int("ir.project_id", "=", project_id);
        paged(
            self,
            COLUMNS,
            "FROM immutable_rules ir",
            &f,
            "ir.id",
            page,
            rule,
        )
        .await
    }

    async fn update_immutable_rule_emitting(
        &self,
        id: i64,
        spec: &RuleSpec,
        events: &[NewEvent],
    ) -> Result<ImmutableRule> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE immutable_rules SET priority = $1, disabled = $2, repo_exclude = $3,
             repo_pattern = $4, tag_exclude = $5, tag_pattern = $6, updated_at = $7
             WHERE id = $8 RETURNING {}",
            COLUMNS.replace("ir.", "")
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(spec.priority)
            .bind(i64::from(spec.disabled))
            .bind(i64::from(spec.repositories.exclude))
            .bind(&spec.repositories.pattern)
            .bind(i64::from(spec.tags.exclude))
            .bind(&spec.tags.pattern)
            .bind(now_ms())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(write_error)?;
        let Some(row) = row else {
            return Err(Error::NotFound(format!("immutable rule {id} not found")));
        };
        let changed = rule(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(changed)
    }

    async fn delete_immutable_rule_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM immutable_rules WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("immutable rule {id} not found")));
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn immutable_rules_of_project(&self, project: &str) -> Result<Vec<ImmutableRule>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM projects p JOIN immutable_rules ir ON ir.project_id = p.id
             WHERE p.name = $1 ORDER BY ir.id"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(project)
            .fetch_all(&self.read)
            .await
            .map_err(internal)?
            .iter()
            .map(rule)
            .collect()
    }

    async fn tag_digests(&self, repo: &RepositoryName, tags: &[Tag]) -> Result<Vec<(Tag, Digest)>> {
        let mut out = Vec::with_capacity(tags.len());
        for batch in tags.chunks(BATCH) {
            let sql = format!(
                "SELECT t.name, m.digest FROM repositories r
                 JOIN tags t ON t.repository_id = r.id
                 JOIN manifests m ON m.id = t.manifest_id
                 WHERE r.name = $1 AND t.name IN ({})",
                placeholders(2, batch.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(repo.as_str());
            for t in batch {
                q = q.bind(t.as_str());
            }
            for row in q.fetch_all(&self.read).await.map_err(internal)? {
                let name: String = row.try_get(0).map_err(internal)?;
                let digest: String = row.try_get(1).map_err(internal)?;
                out.push((Tag::parse(&name)?, Digest::parse(&digest)?));
            }
        }
        Ok(out)
    }

    async fn tags_of_manifest(&self, repo: &RepositoryName, digest: &Digest) -> Result<Vec<Tag>> {
        sqlx::query(
            "SELECT t.name FROM repositories r
             JOIN manifests m ON m.repository_id = r.id
             JOIN tags t ON t.manifest_id = m.id
             WHERE r.name = $1 AND m.digest = $2 ORDER BY t.name",
        )
        .bind(repo.as_str())
        .bind(digest.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(internal)?
        .iter()
        .map(|row| {
            let name: String = row.try_get(0).map_err(internal)?;
            Tag::parse(&name)
        })
        .collect()
    }
}
