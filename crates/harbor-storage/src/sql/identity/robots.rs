//! Robot accounts; their permissions are stored as Harbor's JSON.

use harbor_core::events::NewEvent;
use harbor_core::identity::{NewRobot, Page, Robot, RobotPermission, RobotQuery, RobotUpdate};
use harbor_core::model::now_ms;
use harbor_core::{Error, Result};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Filter, commit, flag, found, int_flag, paged, write_error};
use crate::error::{StorageError, internal};
use crate::sql::SqlMetadataStore;

const COLUMNS: &str = "id, name, description, project_id, secret_hash, disabled, duration_days, \
                       expires_at, permissions, creator, created_at, updated_at, creator_type, \
                       creator_ref";

fn robot(row: &AnyRow) -> Result<Robot> {
    let permissions: String = row.try_get(8).map_err(internal)?;
    let id: i64 = row.try_get(0).map_err(internal)?;
    let permissions = serde_json::from_str(&permissions).map_err(|e| {
        internal(StorageError::Inconsistent(format!(
            "permissions of robot {id}: {e}"
        )))
    })?;
    Ok(Robot {
        id,
        name: row.try_get(1).map_err(internal)?,
        description: row.try_get(2).map_err(internal)?,
        project_id: row.try_get(3).map_err(internal)?,
        secret_hash: row.try_get(4).map_err(internal)?,
        disabled: flag(row, 5)?,
        duration_days: row.try_get(6).map_err(internal)?,
        expires_ms: row.try_get(7).map_err(internal)?,
        permissions,
        creator: row.try_get(9).map_err(internal)?,
        created_ms: row.try_get(10).map_err(internal)?,
        updated_ms: row.try_get(11).map_err(internal)?,
        creator_type: row.try_get(12).map_err(internal)?,
        creator_ref: row.try_get(13).map_err(internal)?,
    })
}

fn to_json(permissions: &[RobotPermission]) -> Result<String> {
    serde_json::to_string(permissions).map_err(Error::internal)
}

fn not_found(id: i64) -> String {
    format!("robot {id} not found")
}

pub(super) async fn create(
    s: &SqlMetadataStore,
    r: &NewRobot,
    events: &[NewEvent],
) -> Result<Robot> {
    let now = now_ms();
    let sql = format!(
        "INSERT INTO robots
         (name, description, project_id, secret_hash, disabled, duration_days, expires_at,
          permissions, creator, created_at, updated_at, creator_type, creator_ref)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12)
         RETURNING {COLUMNS}"
    );
    let mut tx = s.begin_write().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(r.name.as_str())
        .bind(r.description.as_str())
        .bind(r.project_id)
        .bind(r.secret_hash.as_str())
        .bind(int_flag(r.disabled))
        .bind(r.duration_days)
        .bind(r.expires_ms)
        .bind(to_json(&r.permissions)?)
        .bind(r.creator.as_str())
        .bind(now)
        .bind(r.creator_type.as_str())
        .bind(r.creator_ref)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            write_error(
                e,
                |_| format!("robot {:?} already exists", r.name),
                String::new,
            )
        })?;
    let created = robot(&row)?;
    commit(s, tx, events).await?;
    Ok(created)
}

pub(super) async fn by_id(s: &SqlMetadataStore, id: i64) -> Result<Option<Robot>> {
    let sql = format!("SELECT {COLUMNS} FROM robots WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?;
    row.as_ref().map(robot).transpose()
}

pub(super) async fn by_name(s: &SqlMetadataStore, name: &str) -> Result<Option<Robot>> {
    let sql = format!("SELECT {COLUMNS} FROM robots WHERE name = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?;
    row.as_ref().map(robot).transpose()
}

pub(super) async fn list(
    s: &SqlMetadataStore,
    query: &RobotQuery,
    page: Page,
) -> Result<(Vec<Robot>, u64)> {
    let mut filter = Filter::default();
    if let Some(project_id) = query.project_id {
        filter.int("project_id", "=", project_id);
    }
    if let Some(m) = &query.name {
        filter.matches("name", m);
    }
    paged(s, COLUMNS, "FROM robots", &filter, "id", page, robot).await
}

pub(super) async fn update(
    s: &SqlMetadataStore,
    id: i64,
    u: &RobotUpdate,
    events: &[NewEvent],
) -> Result<Robot> {
    let mut tx = s.begin_write().await?;
    let permissions = u.permissions.as_deref().map(to_json).transpose()?;
    let (days, expires) = u.duration.unwrap_or((0, None));
    let sql = format!(
        "UPDATE robots SET
             description = COALESCE($1, description),
             disabled = COALESCE($2, disabled),
             duration_days = CASE WHEN $3 = 1 THEN $4 ELSE duration_days END,
             expires_at = CASE WHEN $3 = 1 THEN $5 ELSE expires_at END,
             permissions = COALESCE($6, permissions),
             updated_at = $7
         WHERE id = $8
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(u.description.as_deref())
        .bind(u.disabled.map(int_flag))
        .bind(int_flag(u.duration.is_some()))
        .bind(days)
        .bind(expires)
        .bind(permissions)
        .bind(now_ms())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?;
    let updated = match row {
        Some(row) => robot(&row)?,
        None => return Err(Error::NotFound(not_found(id))),
    };
    commit(s, tx, events).await?;
    Ok(updated)
}

pub(super) async fn set_secret(
    s: &SqlMetadataStore,
    id: i64,
    secret_hash: &str,
    events: &[NewEvent],
) -> Result<()> {
    let mut tx = s.begin_write().await?;
    let done = sqlx::query("UPDATE robots SET secret_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(secret_hash)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    found(done.rows_affected(), || not_found(id))?;
    commit(s, tx, events).await
}

pub(super) async fn delete(s: &SqlMetadataStore, id: i64, events: &[NewEvent]) -> Result<()> {
    let mut tx = s.begin_write().await?;
    let done = sqlx::query("DELETE FROM robots WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    found(done.rows_affected(), || not_found(id))?;
    commit(s, tx, events).await
}
