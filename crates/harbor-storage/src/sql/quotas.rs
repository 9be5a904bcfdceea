//! Storage quotas (`migrations/*/0007_quotas.sql`, `docs/quotas.md`).
//!
//! A project's charged set (`project_blobs`) is the set of distinct digests its
//! repositories reference: blobs linked to them, manifests in them and the blobs those
//! manifests reference. `project_quotas.used` is the sum of the sizes in that set. Both
//! change only inside the transaction that changes what the project references (a link,
//! a manifest insert, a delete), after [`lock`] has taken the project's quota row:
//!
//! - charging inserts the digest into the set (`ON CONFLICT DO NOTHING`, so a digest
//!   pushed twice, concurrently or not, is charged once) and adds its size with a
//!   conditional `UPDATE ... WHERE hard < 0 OR used + n <= hard`; when that touches no
//!   row the transaction fails with [`Error::QuotaExceeded`] and rolls back whole;
//! - releasing deletes from the set the candidate digests no longer referenced anywhere
//!   in the project and subtracts their sizes.
//!
//! The row lock (PostgreSQL `FOR UPDATE`; SQLite has a single writer) serialises the
//! transactions of one project, so a charge and a release of the same digest cannot
//! interleave between the "is it still referenced?" check and the update.

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::identity::Page;
use harbor_core::model::now_ms;
use harbor_core::quota::{
    Quota, QuotaQuery, QuotaRecount, QuotaSortKey, QuotaStore, UNLIMITED, exceeded,
};
use harbor_core::{Digest, Error, Result};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::identity::{Filter, count, paged};
use super::{Dialect, SqlMetadataStore, placeholders};
use crate::error::internal;

/// Digests per `IN (...)` list.
const BATCH: usize = 300;

/// The digests project `$1` references, each once with its size: blobs linked to its
/// repositories, its manifests, and the blobs its manifests reference.
const REFERENCED: &str = "SELECT digest, MAX(size) AS size FROM (
        SELECT rb.digest AS digest, b.size AS size
            FROM repository_blobs rb
            JOIN repositories r ON r.id = rb.repository_id
            JOIN blobs b ON b.digest = rb.digest
            WHERE r.project_id = $1
        UNION ALL
        SELECT m.digest, m.size
            FROM manifests m
            JOIN repositories r ON r.id = m.repository_id
            WHERE r.project_id = $1
        UNION ALL
        SELECT mr.digest, b.size
            FROM manifest_references mr
            JOIN manifests m ON m.id = mr.manifest_id
            JOIN repositories r ON r.id = m.repository_id
            JOIN blobs b ON b.digest = mr.digest
            WHERE r.project_id = $1 AND mr.kind = 0
    ) AS referenced GROUP BY digest";

/// True while `project_blobs.digest` is still referenced in project `$1`.
const STILL_REFERENCED: &str = "(EXISTS (SELECT 1 FROM repository_blobs rb
        JOIN repositories r ON r.id = rb.repository_id
        WHERE rb.digest = project_blobs.digest AND r.project_id = $1)
    OR EXISTS (SELECT 1 FROM manifests m
        JOIN repositories r ON r.id = m.repository_id
        WHERE m.digest = project_blobs.digest AND r.project_id = $1)
    OR EXISTS (SELECT 1 FROM manifest_references mr
        JOIN manifests m ON m.id = mr.manifest_id
        JOIN repositories r ON r.id = m.repository_id
        WHERE mr.digest = project_blobs.digest AND mr.kind = 0 AND r.project_id = $1))";

impl SqlMetadataStore {
    /// Sets the hard limit (bytes, -1 = unlimited) of the quotas of projects created from
    /// now on through [`IdentityStore::create_project`](harbor_core::ports::IdentityStore).
    pub fn with_default_storage_limit(mut self, hard: i64) -> Self {
        self.default_storage_limit = hard;
        self
    }

    /// The hard limit new projects get.
    pub fn default_storage_limit(&self) -> i64 {
        self.default_storage_limit
    }
}

/// The project of a repository, if it belongs to one.
pub(super) async fn project_of(tx: &mut Transaction<'_, Any>, repo_id: i64) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT project_id FROM repositories WHERE id = $1")
        .bind(repo_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(internal)?;
    match row {
        Some(row) => row.try_get::<Option<i64>, _>(0).map_err(internal),
        None => Ok(None),
    }
}

/// Takes the project's quota row for the rest of the transaction and returns its
/// `(hard, used)`; `None` if the project has no quota (it does not exist).
pub(super) async fn lock(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    project_id: i64,
) -> Result<Option<(i64, i64)>> {
    let sql = match dialect {
        Dialect::Postgres => {
            "SELECT hard, used FROM project_quotas WHERE project_id = $1 FOR UPDATE"
        }
        Dialect::Sqlite => "SELECT hard, used FROM project_quotas WHERE project_id = $1",
    };
    let row = sqlx::query(sql)
        .bind(project_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(internal)?;
    row.map(|r| -> Result<(i64, i64)> {
        Ok((
            r.try_get(0).map_err(internal)?,
            r.try_get(1).map_err(internal)?,
        ))
    })
    .transpose()
}

/// Adds `delta` bytes to the usage unless that passes the limit; [`lock`] must have
/// returned `(hard, used)` in this transaction.
async fn add(
    tx: &mut Transaction<'_, Any>,
    project_id: i64,
    delta: i64,
    (hard, used): (i64, i64),
) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let done = sqlx::query(
        "UPDATE project_quotas SET used = used + $2, updated_at = $3
         WHERE project_id = $1 AND (hard < 0 OR used + $2 <= hard)",
    )
    .bind(project_id)
    .bind(delta)
    .bind(now_ms())
    .execute(&mut **tx)
    .await
    .map_err(internal)?;
    if done.rows_affected() == 0 {
        return Err(exceeded(delta, used, hard));
    }
    Ok(())
}

/// Charges one digest of `size` bytes to the project of `repo_id` (once per project):
/// takes the quota lock, adds the digest to the charged set and its size to the usage,
/// or fails with [`Error::QuotaExceeded`] (the caller's transaction must then roll back).
/// Repositories outside any project are not accounted.
pub(super) async fn charge(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    repo_id: i64,
    digest: &Digest,
    size: i64,
) -> Result<()> {
    let Some(project_id) = project_of(tx, repo_id).await? else {
        return Ok(());
    };
    let Some(locked) = lock(tx, dialect, project_id).await? else {
        return Ok(());
    };
    let inserted = sqlx::query(
        "INSERT INTO project_blobs (project_id, digest, size, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, digest) DO NOTHING RETURNING size",
    )
    .bind(project_id)
    .bind(digest.as_str())
    .bind(size)
    .bind(now_ms())
    .fetch_optional(&mut **tx)
    .await
    .map_err(internal)?;
    if inserted.is_some() {
        add(tx, project_id, size, locked).await?;
    }
    Ok(())
}

/// Charges a manifest pushed into `repo_id`: its own bytes, plus any blob it references
/// that the project's set lacks (none while the set is exact: blobs are charged when
/// linked, and a manifest may only reference blobs linked to its repository). One
/// conditional update for the total, so a refused push reports its whole size. Returns the
/// project's `(hard, used)` afterwards (`None` outside any project).
pub(super) async fn charge_manifest(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    repo_id: i64,
    digest: &Digest,
    size: i64,
    blobs: &[Digest],
) -> Result<Option<(i64, i64)>> {
    let Some(project_id) = project_of(tx, repo_id).await? else {
        return Ok(None);
    };
    let Some(locked) = lock(tx, dialect, project_id).await? else {
        return Ok(None);
    };
    let now = now_ms();
    let mut delta = 0i64;
    let inserted = sqlx::query(
        "INSERT INTO project_blobs (project_id, digest, size, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, digest) DO NOTHING RETURNING size",
    )
    .bind(project_id)
    .bind(digest.as_str())
    .bind(size)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
    .map_err(internal)?;
    if inserted.is_some() {
        delta += size;
    }
    for batch in blobs.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO project_blobs (project_id, digest, size, created_at)
             SELECT $1, digest, size, $2 FROM blobs WHERE digest IN ({})
             ON CONFLICT (project_id, digest) DO NOTHING RETURNING size",
            placeholders(3, batch.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(project_id).bind(now);
        for d in batch {
            q = q.bind(d.as_str());
        }
        for row in q.fetch_all(&mut **tx).await.map_err(internal)? {
            delta += row.try_get::<i64, _>(0).map_err(internal)?;
        }
    }
    add(tx, project_id, delta, locked).await?;
    Ok(Some((locked.0, locked.1.saturating_add(delta))))
}

/// Removes from the project's charged set those of `candidates` it no longer references
/// and subtracts their sizes. The quota lock must be held, and the deletes that made the
/// candidates unreferenced must already be done in this transaction.
pub(super) async fn release(
    tx: &mut Transaction<'_, Any>,
    project_id: i64,
    candidates: &[String],
) -> Result<()> {
    let mut freed = 0i64;
    for batch in candidates.chunks(BATCH) {
        let sql = format!(
            "DELETE FROM project_blobs WHERE project_id = $1 AND digest IN ({})
             AND NOT {STILL_REFERENCED} RETURNING size",
            placeholders(2, batch.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(project_id);
        for d in batch {
            q = q.bind(d.as_str());
        }
        for row in q.fetch_all(&mut **tx).await.map_err(internal)? {
            freed += row.try_get::<i64, _>(0).map_err(internal)?;
        }
    }
    give_back(tx, project_id, freed).await
}

/// Subtracts `freed` bytes from the project's usage (the quota lock must be held and the
/// charged rows already deleted in this transaction).
pub(super) async fn give_back(
    tx: &mut Transaction<'_, Any>,
    project_id: i64,
    freed: i64,
) -> Result<()> {
    if freed > 0 {
        sqlx::query(
            "UPDATE project_quotas SET used = used - $2, updated_at = $3 WHERE project_id = $1",
        )
        .bind(project_id)
        .bind(freed)
        .bind(now_ms())
        .execute(&mut **tx)
        .await
        .map_err(internal)?;
    }
    Ok(())
}

/// Every digest a repository references (blob links, manifests, the blobs its manifests
/// reference): the candidates to release when it is deleted.
pub(super) async fn repository_digests(
    tx: &mut Transaction<'_, Any>,
    repo_id: i64,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT digest FROM repository_blobs WHERE repository_id = $1
         UNION SELECT digest FROM manifests WHERE repository_id = $1
         UNION SELECT mr.digest FROM manifest_references mr
             JOIN manifests m ON m.id = mr.manifest_id
             WHERE m.repository_id = $1 AND mr.kind = 0",
    )
    .bind(repo_id)
    .fetch_all(&mut **tx)
    .await
    .map_err(internal)?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(internal))
        .collect()
}

/// Creates a project's quota (inside the project's creating transaction) and charges
/// what its repositories already hold (repositories pushed under its name before it
/// existed join it).
pub(in crate::sql) async fn create(
    tx: &mut Transaction<'_, Any>,
    project_id: i64,
    hard: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO project_quotas (project_id, hard, used, created_at, updated_at)
         VALUES ($1, $2, 0, $3, $3)",
    )
    .bind(project_id)
    .bind(hard)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(internal)?;
    rebuild(tx, project_id, now).await
}

/// Replaces the project's charged set and usage with a recount.
async fn rebuild(tx: &mut Transaction<'_, Any>, project_id: i64, now: i64) -> Result<()> {
    sqlx::query("DELETE FROM project_blobs WHERE project_id = $1")
        .bind(project_id)
        .execute(&mut **tx)
        .await
        .map_err(internal)?;
    let sql = format!(
        "INSERT INTO project_blobs (project_id, digest, size, created_at)
         SELECT $1, digest, size, $2 FROM ({REFERENCED}) AS counted"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(project_id)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(internal)?;
    sqlx::query(
        "UPDATE project_quotas SET updated_at = $2, used = CAST(COALESCE(
             (SELECT SUM(pb.size) FROM project_blobs pb WHERE pb.project_id = $1), 0) AS BIGINT)
         WHERE project_id = $1",
    )
    .bind(project_id)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(internal)?;
    Ok(())
}

/// The recount statement: stored usage, charged-set sum, recounted sum, drifted digests.
fn recount_sql() -> String {
    format!(
        "WITH counted AS ({REFERENCED})
         SELECT
           (SELECT used FROM project_quotas WHERE project_id = $1),
           CAST((SELECT COALESCE(SUM(size), 0) FROM project_blobs WHERE project_id = $1) AS BIGINT),
           CAST((SELECT COALESCE(SUM(size), 0) FROM counted) AS BIGINT),
           (SELECT COUNT(*) FROM counted c WHERE NOT EXISTS (SELECT 1 FROM project_blobs pb
               WHERE pb.project_id = $1 AND pb.digest = c.digest AND pb.size = c.size))
           + (SELECT COUNT(*) FROM project_blobs pb WHERE pb.project_id = $1
               AND NOT EXISTS (SELECT 1 FROM counted c WHERE c.digest = pb.digest))"
    )
}

fn recount_row(project_id: i64, row: &AnyRow) -> Result<QuotaRecount> {
    let stored: Option<i64> = row.try_get(0).map_err(internal)?;
    let stored = stored
        .ok_or_else(|| Error::NotFound(format!("quota of project {project_id} not found")))?;
    Ok(QuotaRecount {
        project_id,
        stored,
        charged: row.try_get(1).map_err(internal)?,
        recounted: row.try_get(2).map_err(internal)?,
        drifted_digests: count(row, 3)?,
    })
}

async fn recount(s: &SqlMetadataStore, project_id: i64) -> Result<QuotaRecount> {
    let row = sqlx::query(AssertSqlSafe(recount_sql()))
        .bind(project_id)
        .fetch_one(&s.read)
        .await
        .map_err(internal)?;
    recount_row(project_id, &row)
}

async fn repair(s: &SqlMetadataStore, project_id: i64) -> Result<QuotaRecount> {
    let mut tx = s.begin_write().await?;
    if lock(&mut tx, s.dialect, project_id).await?.is_none() {
        return Err(Error::NotFound(format!(
            "quota of project {project_id} not found"
        )));
    }
    let row = sqlx::query(AssertSqlSafe(recount_sql()))
        .bind(project_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(internal)?;
    let found = recount_row(project_id, &row)?;
    if !found.consistent() {
        rebuild(&mut tx, project_id, now_ms()).await?;
    }
    tx.commit().await.map_err(internal)?;
    Ok(found)
}

const COLUMNS: &str = "q.id, q.project_id, p.name, COALESCE(u.username, ''), q.hard, q.used, \
     q.created_at, q.updated_at";
const FROM: &str = "FROM project_quotas q JOIN projects p ON p.id = q.project_id \
     LEFT JOIN users u ON u.id = p.owner_id";

fn quota(row: &AnyRow) -> Result<Quota> {
    Ok(Quota {
        id: row.try_get(0).map_err(internal)?,
        project_id: row.try_get(1).map_err(internal)?,
        project_name: row.try_get(2).map_err(internal)?,
        owner_name: row.try_get(3).map_err(internal)?,
        hard: row.try_get(4).map_err(internal)?,
        used: row.try_get(5).map_err(internal)?,
        created_ms: row.try_get(6).map_err(internal)?,
        updated_ms: row.try_get(7).map_err(internal)?,
    })
}

fn column(key: QuotaSortKey) -> &'static str {
    match key {
        QuotaSortKey::Id => "q.id",
        // Unlimited sorts as the largest limit, as in Harbor.
        QuotaSortKey::Hard => "CASE WHEN q.hard < 0 THEN 9223372036854775807 ELSE q.hard END",
        QuotaSortKey::Used => "q.used",
        QuotaSortKey::CreationTime => "q.created_at",
        QuotaSortKey::UpdateTime => "q.updated_at",
    }
}

/// `ORDER BY` terms, ties broken by id in the direction of the last key.
fn order(sort: &[(QuotaSortKey, bool)]) -> String {
    let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
    let mut terms: Vec<String> = sort
        .iter()
        .map(|(k, desc)| format!("{} {}", column(*k), dir(*desc)))
        .collect();
    if !sort.iter().any(|(k, _)| *k == QuotaSortKey::Id) {
        let last = sort.last().is_some_and(|(_, desc)| *desc);
        terms.push(format!("q.id {}", dir(last)));
    }
    terms.join(", ")
}

async fn one(s: &SqlMetadataStore, column: &str, value: i64) -> Result<Option<Quota>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE {column} = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(value)
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?;
    row.as_ref().map(quota).transpose()
}

#[async_trait]
impl QuotaStore for SqlMetadataStore {
    async fn total_quota_usage(&self) -> Result<u64> {
        let row = sqlx::query("SELECT CAST(COALESCE(SUM(used), 0) AS BIGINT) FROM project_quotas")
            .fetch_one(&self.read)
            .await
            .map_err(internal)?;
        let total: i64 = row.try_get(0).map_err(internal)?;
        Ok(u64::try_from(total).unwrap_or(0))
    }

    async fn quotas(&self, query: &QuotaQuery, page: Page) -> Result<(Vec<Quota>, u64)> {
        let mut filter = Filter::default();
        if let Some(id) = query.project_id {
            filter.int("q.project_id", "=", id);
        }
        paged(
            self,
            COLUMNS,
            FROM,
            &filter,
            &order(&query.sort),
            page,
            quota,
        )
        .await
    }

    async fn quota(&self, id: i64) -> Result<Option<Quota>> {
        one(self, "q.id", id).await
    }

    async fn project_quota(&self, project_id: i64) -> Result<Option<Quota>> {
        one(self, "q.project_id", project_id).await
    }

    async fn set_quota_limit_emitting(
        &self,
        id: i64,
        hard: i64,
        events: &[NewEvent],
    ) -> Result<Quota> {
        let hard = if hard < 0 { UNLIMITED } else { hard };
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE project_quotas SET hard = $1, updated_at = $2 WHERE id = $3")
                .bind(hard)
                .bind(now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("quota {id} not found")));
        }
        super::events::append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        self.quota(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("quota {id} not found")))
    }

    async fn recount_quota(&self, project_id: i64) -> Result<QuotaRecount> {
        recount(self, project_id).await
    }

    async fn repair_quota(&self, project_id: i64) -> Result<QuotaRecount> {
        repair(self, project_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_break_ties_by_id() {
        assert_eq!(order(&[]), "q.id ASC");
        assert_eq!(
            order(&[(QuotaSortKey::Used, true)]),
            "q.used DESC, q.id DESC"
        );
        assert!(order(&[(QuotaSortKey::Hard, false)]).starts_with("CASE WHEN q.hard < 0"));
    }
}
