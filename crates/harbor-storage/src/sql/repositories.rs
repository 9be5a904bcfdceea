//! Repository records for the REST API (`migrations/*/0003_repositories.sql`): listing
//! with filters, sort and pages, description, deletion and batched pull counts.
//!
//! A repository is listed once it holds a manifest and its project exists. A listing is
//! two queries (the page, the count); `artifact_count` is a correlated subquery per row of
//! the page, on indexes (`manifests (repository_id, digest)`, `tags_by_manifest`,
//! `manifest_references_by_digest`).

use harbor_core::events::NewEvent;
use harbor_core::identity::Page;
use harbor_core::model::{
    RepositoryQuery, RepositoryRecord, RepositorySortKey, RepositoryVisibility, now_ms,
};
use harbor_core::{Error, RepositoryName, Result};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::identity::{Filter, count, member_is, paged};
use super::{SqlMetadataStore, quotas, to_i64};
use crate::error::internal;

/// Manifests of `r` that are top-level artifacts, as Harbor counts them (and as
/// `artifacts.rs` lists them): not accessories (no `subject`, no cosign-style tag), and
/// tagged or not a child of an index in the same repository.
const ARTIFACT_COUNT: &str = "(SELECT COUNT(*) FROM manifests m WHERE m.repository_id = r.id \
     AND m.subject IS NULL \
     AND NOT EXISTS (SELECT 1 FROM tags ct WHERE ct.manifest_id = m.id \
       AND ct.name LIKE 'sha256-%' \
       AND ((LENGTH(ct.name) = 75 AND (ct.name LIKE '%.sig' OR ct.name LIKE '%.att')) \
         OR (LENGTH(ct.name) = 76 AND ct.name LIKE '%.sbom'))) \
     AND (EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id) \
     OR NOT EXISTS (SELECT 1 FROM manifest_references mr \
     JOIN manifests pm ON pm.id = mr.manifest_id \
     WHERE mr.digest = m.digest AND mr.kind = 1 AND pm.repository_id = r.id)))";

const FROM: &str = "FROM repositories r JOIN projects p ON p.id = r.project_id";

/// Only repositories holding a manifest are shown. A scalar subquery rather than a
/// top-level `EXISTS`: SQLite 3.50 turns such an `EXISTS` into a join, which repeats a
/// repository once per manifest when the page has an `OFFSET`.
const HAS_MANIFEST: &str =
    "(SELECT 1 FROM manifests hm WHERE hm.repository_id = r.id LIMIT 1) IS NOT NULL";

fn columns() -> String {
    format!(
        "r.id, r.project_id, r.name, r.description, {ARTIFACT_COUNT}, r.pull_count, \
         r.created_at, r.updated_at"
    )
}

fn record(row: &AnyRow) -> Result<RepositoryRecord> {
    Ok(RepositoryRecord {
        id: row.try_get(0).map_err(internal)?,
        project_id: row.try_get(1).map_err(internal)?,
        name: row.try_get(2).map_err(internal)?,
        description: row.try_get(3).map_err(internal)?,
        artifact_count: count(row, 4)?,
        pull_count: count(row, 5)?,
        created_ms: row.try_get(6).map_err(internal)?,
        updated_ms: row.try_get(7).map_err(internal)?,
    })
}

fn column(key: RepositorySortKey) -> &'static str {
    match key {
        RepositorySortKey::Id => "r.id",
        RepositorySortKey::Name => "r.name",
        RepositorySortKey::CreationTime => "r.created_at",
        RepositorySortKey::UpdateTime => "r.updated_at",
        RepositorySortKey::PullCount => "r.pull_count",
    }
}

/// `ORDER BY` terms: the requested keys (Harbor's default: newest first), then the id in
/// the direction of the last key, so that pages never overlap on ties.
fn order(sort: &[(RepositorySortKey, bool)]) -> String {
    let default = [(RepositorySortKey::CreationTime, true)];
    let keys = if sort.is_empty() { &default[..] } else { sort };
    let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
    let mut terms: Vec<String> = keys
        .iter()
        .map(|(k, desc)| format!("{} {}", column(*k), dir(*desc)))
        .collect();
    if !keys.iter().any(|(k, _)| *k == RepositorySortKey::Id) {
        let last = keys.last().is_some_and(|(_, desc)| *desc);
        terms.push(format!("r.id {}", dir(last)));
    }
    terms.join(", ")
}

pub(super) async fn list(
    s: &SqlMetadataStore,
    query: &RepositoryQuery,
    page: Page,
) -> Result<(Vec<RepositoryRecord>, u64)> {
    let mut filter = Filter::default();
    match query.visibility {
        RepositoryVisibility::All => {}
        RepositoryVisibility::Public => filter.int("p.public", "=", 1),
        RepositoryVisibility::PublicOrMember(user_id) => filter.with_int(user_id, |p| {
            format!(
                "(p.public = 1 OR EXISTS (SELECT 1 FROM project_members vm \
                 WHERE vm.project_id = p.id AND {}))",
                member_is("vm", p)
            )
        }),
    }
    if let Some(id) = query.project_id {
        filter.int("r.project_id", "=", id);
    }
    if let Some(m) = &query.name {
        filter.matches("r.name", m);
    }
    for (column, op, value) in [
        ("r.created_at", ">=", query.created_from_ms),
        ("r.created_at", "<=", query.created_to_ms),
        ("r.updated_at", ">=", query.updated_from_ms),
        ("r.updated_at", "<=", query.updated_to_ms),
    ] {
        if let Some(v) = value {
            filter.int(column, op, v);
        }
    }
    filter.raw(HAS_MANIFEST);
    paged(
        s,
        &columns(),
        FROM,
        &filter,
        &order(&query.sort),
        page,
        record,
    )
    .await
}

pub(super) async fn get(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
) -> Result<Option<RepositoryRecord>> {
    let sql = format!(
        "SELECT {} {FROM} WHERE r.name = $1 AND {HAS_MANIFEST}",
        columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(repo.as_str())
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?;
    row.as_ref().map(record).transpose()
}

pub(super) async fn created(s: &SqlMetadataStore, repo: &RepositoryName) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT created_at FROM repositories WHERE name = $1")
        .bind(repo.as_str())
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?;
    row.map(|r| r.try_get::<i64, _>(0))
        .transpose()
        .map_err(internal)
}

pub(super) async fn set_description(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    description: &str,
    events: &[NewEvent],
) -> Result<()> {
    let mut tx = s.begin_write().await?;
    let done = sqlx::query("UPDATE repositories SET description = $1 WHERE name = $2")
        .bind(description)
        .bind(repo.as_str())
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound(format!("repository {repo} not found")));
    }
    super::events::append(&mut tx, s.dialect, events).await?;
    tx.commit().await.map_err(internal)
}

/// Deleting the row cascades to its manifests (and their references), tags and blob
/// links; the blobs table keeps the blobs for garbage collection. What the repository
/// held leaves its project's usage in the same transaction, unless another repository
/// of the project still references it.
pub(super) async fn delete(
    s: &SqlMetadataStore,
    repo: &RepositoryName,
    events: &[NewEvent],
) -> Result<bool> {
    let mut tx = s.begin_write().await?;
    let Some(row) = sqlx::query("SELECT id, project_id FROM repositories WHERE name = $1")
        .bind(repo.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?
    else {
        return Ok(false);
    };
    let repo_id: i64 = row.try_get(0).map_err(internal)?;
    let project_id: Option<i64> = row.try_get(1).map_err(internal)?;
    let mut candidates = Vec::new();
    if let Some(p) = project_id {
        quotas::lock(&mut tx, s.dialect, p).await?;
        candidates = quotas::repository_digests(&mut tx, repo_id).await?;
    }
    let done = sqlx::query("DELETE FROM repositories WHERE id = $1")
        .bind(repo_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    if let Some(p) = project_id {
        quotas::release(&mut tx, p, &candidates).await?;
    }
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    super::events::append(&mut tx, s.dialect, events).await?;
    tx.commit().await.map_err(internal)?;
    Ok(true)
}

pub(super) async fn add_pulls(s: &SqlMetadataStore, pulls: &[(RepositoryName, u64)]) -> Result<()> {
    if pulls.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let mut tx = s.begin_write().await?;
    for (repo, n) in pulls {
        sqlx::query(
            "UPDATE repositories SET pull_count = pull_count + $1, updated_at = $2 WHERE name = $3",
        )
        .bind(to_i64(*n)?)
        .bind(now)
        .bind(repo.as_str())
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_break_ties_by_id() {
        assert_eq!(order(&[]), "r.created_at DESC, r.id DESC");
        assert_eq!(
            order(&[(RepositorySortKey::Name, false)]),
            "r.name ASC, r.id ASC"
        );
        assert_eq!(
            order(&[
                (RepositorySortKey::PullCount, true),
                (RepositorySortKey::UpdateTime, false)
            ]),
            "r.pull_count DESC, r.updated_at ASC, r.id ASC"
        );
        assert_eq!(order(&[(RepositorySortKey::Id, true)]), "r.id DESC");
    }
}
