//! Projects, their members and their repository counts.

use std::collections::BTreeMap;

use harbor_core::events::NewEvent;
use harbor_core::identity::{
    Match, Member, NewProject, Page, Project, ProjectQuery, ProjectSummary,
};
use harbor_core::model::now_ms;
use harbor_core::rbac::Role;
use harbor_core::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Filter, commit, count, flag, found, int_flag, paged, role, write_error};
use crate::error::internal;
use crate::sql::SqlMetadataStore;

/// Project columns, the owner's name from the joined `users u` (empty once deleted).
const COLUMNS: &str = "p.id, p.name, p.owner_id, COALESCE(u.username, ''), p.public, \
     p.created_at, p.updated_at, p.metadata, p.registry_id";
const FROM: &str = "FROM projects p LEFT JOIN users u ON u.id = p.owner_id";

/// A membership: a user's (`user_id`, the username) or a group's (`group_id`, its name).
const MEMBER_COLUMNS: &str = "m.id, m.project_id, COALESCE(m.user_id, 0), COALESCE(u.username, g.name, ''), m.role, m.group_id";
const MEMBER_FROM: &str = "FROM project_members m LEFT JOIN users u ON u.id = m.user_id \
     LEFT JOIN user_groups g ON g.id = m.group_id";
/// The member's name, for filters.
const MEMBER_NAME: &str = "COALESCE(u.username, g.name, '')";

/// `m.user_id = {user}` or one of the user's groups: the memberships that give a user
/// their roles (`{user}` is the placeholder of the user's id, used twice).
pub(in crate::sql) fn member_is(m: &str, user: &str) -> String {
    format!(
        "({m}.user_id = {user} OR {m}.group_id IN \
         (SELECT gm.group_id FROM user_group_members gm WHERE gm.user_id = {user}))"
    )
}

fn project(row: &AnyRow) -> Result<Project> {
    Ok(Project {
        id: row.try_get(0).map_err(internal)?,
        name: row.try_get(1).map_err(internal)?,
        owner_id: row.try_get(2).map_err(internal)?,
        owner_name: row.try_get(3).map_err(internal)?,
        public: flag(row, 4)?,
        created_ms: row.try_get(5).map_err(internal)?,
        updated_ms: row.try_get(6).map_err(internal)?,
        metadata: metadata(&row.try_get::<String, _>(7).map_err(internal)?)?,
        registry_id: row.try_get(8).map_err(internal)?,
    })
}

fn metadata(json: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(json).map_err(|e| Error::internal(format!("project metadata: {e}")))
}

fn member_row(row: &AnyRow) -> Result<Member> {
    Ok(Member {
        id: row.try_get(0).map_err(internal)?,
        project_id: row.try_get(1).map_err(internal)?,
        user_id: row.try_get(2).map_err(internal)?,
        username: row.try_get(3).map_err(internal)?,
        role: role(row.try_get(4).map_err(internal)?)?,
        group_id: row.try_get(5).map_err(internal)?,
    })
}

/// The membership `id`, read inside a write transaction.
pub(super) async fn member_in(conn: &mut AnyConnection, id: i64) -> Result<Member> {
    let sql = format!("SELECT {MEMBER_COLUMNS} {MEMBER_FROM} WHERE m.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(conn)
        .await
        .map_err(internal)?;
    member_row(&row)
}

fn not_found(id: i64) -> String {
    format!("project {id} not found")
}

fn member_not_found(project_id: i64, member_id: i64) -> String {
    format!("member {member_id} not found in project {project_id}")
}

/// The project with this id, read on `conn` (inside a write transaction).
async fn project_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Project>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE p.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(internal)?;
    row.as_ref().map(project).transpose()
}

pub(super) async fn create(
    s: &SqlMetadataStore,
    new: &NewProject,
    events: &[NewEvent],
) -> Result<Project> {
    let now = now_ms();
    let (name, owner_id) = (new.name.as_str(), new.owner_id);
    let meta = serde_json::to_string(&new.metadata).map_err(|e| Error::internal(e.to_string()))?;
    let mut tx = s.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO projects (name, owner_id, public, created_at, updated_at, metadata,
             registry_id)
         VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id",
    )
    .bind(name)
    .bind(owner_id)
    .bind(int_flag(new.public))
    .bind(now)
    .bind(meta)
    .bind(new.registry_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        write_error(
            e,
            |_| format!("project {name:?} already exists"),
            || match new.registry_id {
                Some(r) => format!("registry {r} not found"),
                None => format!("user {owner_id} not found"),
            },
        )
    })?
    .try_get(0)
    .map_err(internal)?;
    sqlx::query("INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(owner_id)
        .bind(Role::ProjectAdmin.id())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            write_error(
                e,
                |_| "user is already a member".to_owned(),
                || format!("user {owner_id} not found"),
            )
        })?;
    // Repositories pushed under this name while no such project existed join it.
    sqlx::query("UPDATE repositories SET project_id = $1 WHERE name >= $2 AND name < $3")
        .bind(id)
        .bind(format!("{name}/"))
        .bind(format!("{name}0"))
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    // Its storage quota, charged with what those repositories hold.
    let limit = new.storage_limit.unwrap_or(s.default_storage_limit());
    crate::sql::quotas::create(&mut tx, id, limit, now).await?;
    let created = project_in(&mut tx, id)
        .await?
        .ok_or_else(|| Error::NotFound(not_found(id)))?;
    commit(s, tx, events).await?;
    Ok(created)
}

pub(super) async fn by_id(s: &SqlMetadataStore, id: i64) -> Result<Option<Project>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE p.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?;
    row.as_ref().map(project).transpose()
}

pub(super) async fn by_name(s: &SqlMetadataStore, name: &str) -> Result<Option<Project>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE p.name = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?;
    row.as_ref().map(project).transpose()
}

pub(super) async fn list(
    s: &SqlMetadataStore,
    query: &ProjectQuery,
    page: Page,
) -> Result<(Vec<Project>, u64)> {
    let mut filter = Filter::default();
    if let Some(m) = &query.name {
        filter.matches("p.name", m);
    }
    if let Some(public) = query.public {
        filter.int("p.public", "=", int_flag(public));
    }
    if let Some(user_id) = query.visible_to {
        filter.with_int(user_id, |p| {
            format!(
                "(p.public = 1 OR EXISTS (SELECT 1 FROM project_members vm \
                 WHERE vm.project_id = p.id AND {}))",
                member_is("vm", p)
            )
        });
    }
    paged(s, COLUMNS, FROM, &filter, "p.name", page, project).await
}

pub(super) async fn set_public(s: &SqlMetadataStore, id: i64, public: bool) -> Result<Project> {
    let mut tx = s.begin_write().await?;
    let done = sqlx::query("UPDATE projects SET public = $1, updated_at = $2 WHERE id = $3")
        .bind(int_flag(public))
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    found(done.rows_affected(), || not_found(id))?;
    let updated = project_in(&mut tx, id)
        .await?
        .ok_or_else(|| Error::NotFound(not_found(id)))?;
    tx.commit().await.map_err(internal)?;
    Ok(updated)
}

pub(super) async fn update_metadata(
    s: &SqlMetadataStore,
    id: i64,
    public: Option<bool>,
    set: &BTreeMap<String, String>,
    remove: &[String],
    events: &[NewEvent],
) -> Result<Project> {
    let mut tx = s.begin_write().await?;
    let lock = match s.dialect() {
        crate::sql::Dialect::Postgres => " FOR UPDATE",
        crate::sql::Dialect::Sqlite => "",
    };
    let sql = format!("SELECT metadata, public FROM projects WHERE id = $1{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?
        .ok_or_else(|| Error::NotFound(not_found(id)))?;
    let mut meta = metadata(&row.try_get::<String, _>(0).map_err(internal)?)?;
    let was_public = flag(&row, 1)?;
    for k in remove {
        meta.remove(k);
    }
    meta.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    let json = serde_json::to_string(&meta).map_err(|e| Error::internal(e.to_string()))?;
    sqlx::query("UPDATE projects SET metadata = $1, public = $2, updated_at = $3 WHERE id = $4")
        .bind(json)
        .bind(int_flag(public.unwrap_or(was_public)))
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    let updated = project_in(&mut tx, id)
        .await?
        .ok_or_else(|| Error::NotFound(not_found(id)))?;
    commit(s, tx, events).await?;
    Ok(updated)
}

/// Deletes the project, its members and its robots. Members would cascade; robots have
/// no foreign key (system robots use project 0). Repositories left in it (the API refuses
/// to delete a project holding any) lose their project until one of that name exists again.
pub(super) async fn delete(s: &SqlMetadataStore, id: i64, events: &[NewEvent]) -> Result<()> {
    let mut tx = s.begin_write().await?;
    let done = sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    found(done.rows_affected(), || not_found(id))?;
    for sql in [
        "DELETE FROM project_members WHERE project_id = $1",
        "DELETE FROM robots WHERE project_id = $1",
        "UPDATE repositories SET project_id = NULL WHERE project_id = $1",
    ] {
        sqlx::query(sql)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
    }
    commit(s, tx, events).await
}

/// Repositories named `<name>/...`: the range `[name/, name0)`, since `0` is the byte
/// after `/` and both engines compare names bytewise.
/// Repositories of the project that hold a manifest (those the API lists; one holding
/// only blobs, or whose artifacts were all deleted, does not count).
pub(super) async fn repository_count(s: &SqlMetadataStore, name: &str) -> Result<u64> {
    // A scalar subquery rather than EXISTS: SQLite may turn a top-level EXISTS into a join.
    let row = sqlx::query(
        "SELECT COUNT(*) FROM repositories r WHERE r.name >= $1 AND r.name < $2 \
         AND (SELECT 1 FROM manifests m WHERE m.repository_id = r.id LIMIT 1) IS NOT NULL",
    )
    .bind(format!("{name}/"))
    .bind(format!("{name}0"))
    .fetch_one(&s.read)
    .await
    .map_err(internal)?;
    count(&row, 0)
}

pub(super) async fn repository_counts(
    s: &SqlMetadataStore,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, u64>> {
    let mut out = std::collections::HashMap::new();
    for batch in ids.chunks(300) {
        let sql = format!(
            "SELECT r.project_id, COUNT(*) FROM repositories r WHERE r.project_id IN ({}) \
             AND (SELECT 1 FROM manifests m WHERE m.repository_id = r.id LIMIT 1) IS NOT NULL \
             GROUP BY r.project_id",
            crate::sql::placeholders(1, batch.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in batch {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&s.read).await.map_err(internal)? {
            out.insert(row.try_get(0).map_err(internal)?, count(&row, 1)?);
        }
    }
    Ok(out)
}

pub(super) async fn summary(s: &SqlMetadataStore, p: &Project) -> Result<ProjectSummary> {
    let repo_count = repository_count(s, &p.name).await?;
    let rows = sqlx::query(
        "SELECT role, COUNT(*) FROM project_members WHERE project_id = $1 GROUP BY role",
    )
    .bind(p.id)
    .fetch_all(&s.read)
    .await
    .map_err(internal)?;
    let mut members_by_role: Vec<(Role, u64)> = Role::ALL.iter().map(|r| (*r, 0)).collect();
    for row in &rows {
        let r = role(row.try_get(0).map_err(internal)?)?;
        let n = count(row, 1)?;
        if let Some(slot) = members_by_role.iter_mut().find(|(x, _)| *x == r) {
            slot.1 = n;
        }
    }
    Ok(ProjectSummary {
        repo_count,
        members_by_role,
    })
}

pub(super) async fn add_member(
    s: &SqlMetadataStore,
    project_id: i64,
    user_id: i64,
    r: Role,
    events: &[NewEvent],
) -> Result<Member> {
    let mut tx = s.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)
         RETURNING id",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(r.id())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        write_error(
            e,
            |_| "user is already a member".to_owned(),
            || format!("project {project_id} or user {user_id} not found"),
        )
    })?
    .try_get(0)
    .map_err(internal)?;
    let added = member_in(&mut tx, id).await?;
    commit(s, tx, events).await?;
    Ok(added)
}

pub(super) async fn member(
    s: &SqlMetadataStore,
    project_id: i64,
    member_id: i64,
) -> Result<Option<Member>> {
    let sql =
        format!("SELECT {MEMBER_COLUMNS} {MEMBER_FROM} WHERE m.id = $1 AND m.project_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(member_id)
        .bind(project_id)
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?;
    row.as_ref().map(member_row).transpose()
}

pub(super) async fn members(
    s: &SqlMetadataStore,
    project_id: i64,
    username: Option<&Match>,
    page: Page,
) -> Result<(Vec<Member>, u64)> {
    let mut filter = Filter::default();
    filter.int("m.project_id", "=", project_id);
    if let Some(m) = username {
        filter.matches(MEMBER_NAME, m);
    }
    paged(
        s,
        MEMBER_COLUMNS,
        MEMBER_FROM,
        &filter,
        "m.id",
        page,
        member_row,
    )
    .await
}

pub(super) async fn set_member_role(
    s: &SqlMetadataStore,
    project_id: i64,
    member_id: i64,
    r: Role,
    events: &[NewEvent],
) -> Result<()> {
    let mut tx = s.begin_write().await?;
    let done =
        sqlx::query("UPDATE project_members SET role = $1 WHERE id = $2 AND project_id = $3")
            .bind(r.id())
            .bind(member_id)
            .bind(project_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
    found(done.rows_affected(), || {
        member_not_found(project_id, member_id)
    })?;
    commit(s, tx, events).await
}

pub(super) async fn delete_member(
    s: &SqlMetadataStore,
    project_id: i64,
    member_id: i64,
    events: &[NewEvent],
) -> Result<()> {
    let mut tx = s.begin_write().await?;
    let done = sqlx::query("DELETE FROM project_members WHERE id = $1 AND project_id = $2")
        .bind(member_id)
        .bind(project_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    found(done.rows_affected(), || {
        member_not_found(project_id, member_id)
    })?;
    commit(s, tx, events).await
}

pub(super) async fn roles_in_projects(
    s: &SqlMetadataStore,
    user_id: i64,
    project_ids: &[i64],
) -> Result<Vec<(i64, Role)>> {
    let mut out = Vec::new();
    // Bounded parameter lists: pages are at most 100 projects, chunks keep any caller safe.
    for chunk in project_ids.chunks(500) {
        let marks: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT DISTINCT m.project_id, m.role FROM project_members m \
             WHERE {} AND m.project_id IN ({}) ORDER BY m.project_id, m.role",
            member_is("m", "$1"),
            marks.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&s.read).await.map_err(internal)? {
            out.push((
                row.try_get(0).map_err(internal)?,
                role(row.try_get(1).map_err(internal)?)?,
            ));
        }
    }
    // The highest role of each project first (Role::strongest_first per project).
    out.sort_by_key(|(p, r)| (*p, std::cmp::Reverse(r.rank())));
    Ok(out)
}

pub(super) async fn roles(
    s: &SqlMetadataStore,
    project_id: i64,
    user_id: i64,
) -> Result<Vec<Role>> {
    // One query: the user's own membership and those of their groups.
    let sql = format!(
        "SELECT DISTINCT m.role FROM project_members m WHERE m.project_id = $1 AND {}",
        member_is("m", "$2")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(project_id)
        .bind(user_id)
        .fetch_all(&s.read)
        .await
        .map_err(internal)?;
    let roles = rows
        .iter()
        .map(|row| role(row.try_get(0).map_err(internal)?))
        .collect::<Result<Vec<_>>>()?;
    Ok(Role::strongest_first(roles))
}
