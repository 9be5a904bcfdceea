//! User groups, their users and their project memberships
//! (`migrations/*/0026_user_groups.sql`).
//!
//! Groups are unique by DN among LDAP groups and by name within the other types (partial
//! unique indexes); a duplicate is a conflict. Deleting a group deletes its project
//! memberships and its users' memberships in the same transaction.

use harbor_core::events::NewEvent;
use harbor_core::groups::{GroupQuery, GroupType, NewUserGroup, UserGroup};
use harbor_core::identity::{Match, Member, Page};
use harbor_core::model::now_ms;
use harbor_core::rbac::Role;
use harbor_core::{Error, Result};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Filter, commit, found, paged, write_error};
use crate::error::{StorageError, internal};
use crate::sql::SqlMetadataStore;

const COLUMNS: &str = "g.id, g.name, g.group_type, g.ldap_group_dn, g.created_at, g.updated_at";
const FROM: &str = "FROM user_groups g";

fn group_row(row: &AnyRow) -> Result<UserGroup> {
    let t: i64 = row.try_get(2).map_err(internal)?;
    Ok(UserGroup {
        id: row.try_get(0).map_err(internal)?,
        name: row.try_get(1).map_err(internal)?,
        group_type: GroupType::from_id(t).ok_or_else(|| {
            internal(StorageError::Inconsistent(format!(
                "unknown group type {t}"
            )))
        })?,
        ldap_group_dn: row.try_get(3).map_err(internal)?,
        created_ms: row.try_get(4).map_err(internal)?,
        updated_ms: row.try_get(5).map_err(internal)?,
    })
}

fn not_found(id: i64) -> String {
    format!("user group {id} not found")
}

fn duplicate(group_type: GroupType, name: &str, dn: &str) -> String {
    match group_type {
        GroupType::Ldap => format!("an LDAP group with DN {dn:?} already exists"),
        other => format!("a {} group named {name:?} already exists", other.name()),
    }
}

pub(super) async fn create(
    s: &SqlMetadataStore,
    g: &NewUserGroup,
    events: &[NewEvent],
) -> Result<UserGroup> {
    let now = now_ms();
    let mut tx = s.begin_write().await?;
    let sql = format!(
        "INSERT INTO user_groups (name, group_type, ldap_group_dn, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING {}",
        COLUMNS.replace("g.", "")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&g.name)
        .bind(g.group_type.id())
        .bind(&g.ldap_group_dn)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            write_error(
                e,
                |_| duplicate(g.group_type, &g.name, &g.ldap_group_dn),
                || "user group not found".to_owned(),
            )
        })?;
    let created = group_row(&row)?;
    commit(s, tx, events).await?;
    Ok(created)
}

pub(super) async fn by_id(s: &SqlMetadataStore, id: i64) -> Result<Option<UserGroup>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE g.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?;
    row.as_ref().map(group_row).transpose()
}

/// Ids bound in one `IN (...)` list.
const BATCH: usize = 300;

pub(super) async fn by_ids(s: &SqlMetadataStore, ids: &[i64]) -> Result<Vec<UserGroup>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    // Sorted ids in sorted batches: the rows come out ordered by id.
    for batch in ids.chunks(BATCH) {
        let sql = format!(
            "SELECT {COLUMNS} {FROM} WHERE g.id IN ({}) ORDER BY g.id",
            crate::sql::placeholders(1, batch.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in batch {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&s.read).await.map_err(internal)? {
            out.push(group_row(&row)?);
        }
    }
    Ok(out)
}

pub(super) async fn list(
    s: &SqlMetadataStore,
    q: &GroupQuery,
    page: Page,
) -> Result<(Vec<UserGroup>, u64)> {
    let mut filter = Filter::default();
    if let Some(m) = &q.name {
        filter.matches("g.name", m);
    }
    if let Some(dn) = &q.ldap_group_dn {
        filter.matches("g.ldap_group_dn", &Match::Exact(dn.clone()));
    }
    if let Some(t) = q.group_type {
        filter.int("g.group_type", "=", t.id());
    }
    paged(s, COLUMNS, FROM, &filter, "g.id", page, group_row).await
}

pub(super) async fn rename(
    s: &SqlMetadataStore,
    id: i64,
    name: &str,
    events: &[NewEvent],
) -> Result<UserGroup> {
    let mut tx = s.begin_write().await?;
    let sql = format!(
        "UPDATE user_groups SET name = $1, updated_at = $2 WHERE id = $3 RETURNING {}",
        COLUMNS.replace("g.", "")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .bind(now_ms())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| {
            write_error(
                e,
                |_| format!("a group of the same type named {name:?} already exists"),
                || not_found(id),
            )
        })?
        .ok_or_else(|| Error::NotFound(not_found(id)))?;
    let renamed = group_row(&row)?;
    commit(s, tx, events).await?;
    Ok(renamed)
}

/// Deletes the group, its project memberships and its users' memberships. The foreign
/// keys cascade anyway; the explicit deletes keep this true without them.
pub(super) async fn delete(s: &SqlMetadataStore, id: i64, events: &[NewEvent]) -> Result<()> {
    let mut tx = s.begin_write().await?;
    for sql in [
        "DELETE FROM project_members WHERE group_id = $1",
        "DELETE FROM user_group_members WHERE group_id = $1",
    ] {
        sqlx::query(sql)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
    }
    let done = sqlx::query("DELETE FROM user_groups WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    found(done.rows_affected(), || not_found(id))?;
    commit(s, tx, events).await
}

pub(super) async fn ensure(
    s: &SqlMetadataStore,
    t: GroupType,
    groups: &[(String, String)],
) -> Result<Vec<i64>> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_ms();
    let mut tx = s.begin_write().await?;
    let mut ids = Vec::with_capacity(groups.len());
    for (name, dn) in groups {
        let dn = if t == GroupType::Ldap {
            dn.as_str()
        } else {
            ""
        };
        sqlx::query(
            "INSERT INTO user_groups (name, group_type, ldap_group_dn, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(t.id())
        .bind(dn)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        let (sql, key) = if t == GroupType::Ldap {
            (
                "SELECT id FROM user_groups WHERE group_type = $1 AND ldap_group_dn = $2",
                dn,
            )
        } else {
            (
                "SELECT id FROM user_groups WHERE group_type = $1 AND name = $2",
                name.as_str(),
            )
        };
        let id: i64 = sqlx::query(sql)
            .bind(t.id())
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .map_err(internal)?
            .try_get(0)
            .map_err(internal)?;
        ids.push(id);
    }
    tx.commit().await.map_err(internal)?;
    Ok(ids)
}

pub(super) async fn of_user(s: &SqlMetadataStore, user_id: i64) -> Result<Vec<UserGroup>> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} JOIN user_group_members gm ON gm.group_id = g.id \
         WHERE gm.user_id = $1 ORDER BY g.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_all(&s.read)
        .await
        .map_err(internal)?;
    rows.iter().map(group_row).collect()
}

pub(super) async fn set_user_groups(
    s: &SqlMetadataStore,
    user_id: i64,
    group_ids: &[i64],
    events: &[NewEvent],
) -> Result<()> {
    let mut tx = s.begin_write().await?;
    sqlx::query("DELETE FROM user_group_members WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    for gid in group_ids {
        sqlx::query(
            "INSERT INTO user_group_members (user_id, group_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(*gid)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            write_error(
                e,
                |_| "duplicate group membership".to_owned(),
                || format!("user {user_id} or group {gid} not found"),
            )
        })?;
    }
    commit(s, tx, events).await
}

pub(super) async fn add_member(
    s: &SqlMetadataStore,
    project_id: i64,
    group_id: i64,
    r: Role,
    events: &[NewEvent],
) -> Result<Member> {
    let mut tx = s.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO project_members (project_id, group_id, role) VALUES ($1, $2, $3)
         RETURNING id",
    )
    .bind(project_id)
    .bind(group_id)
    .bind(r.id())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        write_error(
            e,
            |_| "the group is already a member".to_owned(),
            || format!("project {project_id} or group {group_id} not found"),
        )
    })?
    .try_get(0)
    .map_err(internal)?;
    let added = super::projects::member_in(&mut tx, id).await?;
    commit(s, tx, events).await?;
    Ok(added)
}
