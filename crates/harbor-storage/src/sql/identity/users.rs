//! Users and their web sessions.

use harbor_core::events::NewEvent;
use harbor_core::identity::{NewUser, Page, Session, User, UserQuery, UserUpdate};
use harbor_core::model::now_ms;
use harbor_core::{Error, Result};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Filter, commit, count, flag, found, int_flag, paged, write_error};
use crate::error::internal;
use crate::sql::SqlMetadataStore;

const COLUMNS: &str =
    "id, username, email, realname, comment, password_hash, sysadmin, created_at, updated_at";

fn user(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: row.try_get(0).map_err(internal)?,
        username: row.try_get(1).map_err(internal)?,
        email: row.try_get(2).map_err(internal)?,
        realname: row.try_get(3).map_err(internal)?,
        comment: row.try_get(4).map_err(internal)?,
        password_hash: row.try_get(5).map_err(internal)?,
        sysadmin: flag(row, 6)?,
        created_ms: row.try_get(7).map_err(internal)?,
        updated_ms: row.try_get(8).map_err(internal)?,
    })
}

fn not_found(id: i64) -> String {
    format!("user {id} not found")
}

/// The message for a duplicate key of `users`: `which` names the constraint or columns.
fn duplicate(which: &str, username: &str, email: Option<&str>) -> String {
    match email {
        Some(email) if which.contains("email") => {
            format!("e-mail address {email:?} is already in use")
        }
        _ => format!("user {username:?} already exists"),
    }
}

pub(super) async fn create(s: &SqlMetadataStore, u: &NewUser, events: &[NewEvent]) -> Result<User> {
    let mut tx = s.begin_write().await?;
    let created = insert(&mut tx, u).await?;
    commit(s, tx, events).await?;
    Ok(created)
}

/// Inserts `u` in `tx`.
pub(super) async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    u: &NewUser,
) -> Result<User> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO users
         (username, email, realname, comment, password_hash, sysadmin, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         RETURNING id, username, email, realname, comment, password_hash, sysadmin,
                   created_at, updated_at",
    )
    .bind(u.username.as_str())
    .bind(u.email.as_deref())
    .bind(u.realname.as_str())
    .bind(u.comment.as_str())
    .bind(u.password_hash.as_str())
    .bind(int_flag(u.sysadmin))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        write_error(
            e,
            |which| duplicate(which, &u.username, u.email.as_deref()),
            String::new,
        )
    })?;
    user(&row)
}

pub(super) async fn by_id(s: &SqlMetadataStore, id: i64) -> Result<Option<User>> {
    let row = sqlx::query(
        "SELECT id, username, email, realname, comment, password_hash, sysadmin,
                created_at, updated_at
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&s.read)
    .await
    .map_err(internal)?;
    row.as_ref().map(user).transpose()
}

pub(super) async fn by_name(s: &SqlMetadataStore, username: &str) -> Result<Option<User>> {
    let row = sqlx::query(
        "SELECT id, username, email, realname, comment, password_hash, sysadmin,
                created_at, updated_at
         FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(&s.read)
    .await
    .map_err(internal)?;
    row.as_ref().map(user).transpose()
}

pub(super) async fn list(
    s: &SqlMetadataStore,
    query: &UserQuery,
    page: Page,
) -> Result<(Vec<User>, u64)> {
    let mut filter = Filter::default();
    if let Some(m) = &query.username {
        filter.matches("username", m);
    }
    if let Some(m) = &query.email {
        filter.matches("email", m);
    }
    paged(s, COLUMNS, "FROM users", &filter, "id", page, user).await
}

pub(super) async fn count_all(s: &SqlMetadataStore) -> Result<u64> {
    let row = sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(&s.read)
        .await
        .map_err(internal)?;
    count(&row, 0)
}

pub(super) async fn update(
    s: &SqlMetadataStore,
    id: i64,
    u: &UserUpdate,
    events: &[NewEvent],
) -> Result<User> {
    let new_email = u.email.as_ref().and_then(|e| e.as_deref());
    let mut tx = s.begin_write().await?;
    let row = sqlx::query(
        "UPDATE users SET
             email = CASE WHEN $1 = 1 THEN $2 ELSE email END,
             realname = COALESCE($3, realname),
             comment = COALESCE($4, comment),
             updated_at = $5
         WHERE id = $6
         RETURNING id, username, email, realname, comment, password_hash, sysadmin,
                   created_at, updated_at",
    )
    .bind(int_flag(u.email.is_some()))
    .bind(new_email)
    .bind(u.realname.as_deref())
    .bind(u.comment.as_deref())
    .bind(now_ms())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| {
        write_error(
            e,
            |_| {
                format!(
                    "e-mail address {:?} is already in use",
                    new_email.unwrap_or("")
                )
            },
            String::new,
        )
    })?;
    let updated = match row {
        Some(row) => user(&row)?,
        None => return Err(Error::NotFound(not_found(id))),
    };
    commit(s, tx, events).await?;
    Ok(updated)
}

pub(super) async fn set_password(
    s: &SqlMetadataStore,
    id: i64,
    hash: &str,
    events: &[NewEvent],
) -> Result<()> {
    let mut tx = s.begin_write().await?;
    let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    found(done.rows_affected(), || not_found(id))?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    commit(s, tx, events).await
}

pub(super) async fn set_sysadmin(
    s: &SqlMetadataStore,
    id: i64,
    sysadmin: bool,
    events: &[NewEvent],
) -> Result<()> {
    let mut tx = s.begin_write().await?;
    // Bit 1 is an administrator's grant, bit 2 the administrators' group's (see
    // `set_group_admin`); this changes the grant only.
    let done = sqlx::query(
        "UPDATE users SET sysadmin = (sysadmin & 2) | $1, updated_at = $2 WHERE id = $3",
    )
    .bind(int_flag(sysadmin))
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    found(done.rows_affected(), || not_found(id))?;
    commit(s, tx, events).await
}

/// Sets or clears bit 2 of `sysadmin`: an administrator through the sign-in mode's
/// administrators' group. Whether the row changed.
pub(super) async fn set_group_admin(
    s: &SqlMetadataStore,
    id: i64,
    admin: bool,
    events: &[NewEvent],
) -> Result<bool> {
    let bit: i64 = if admin { 2 } else { 0 };
    let mut tx = s.begin_write().await?;
    let done = sqlx::query(
        "UPDATE users SET sysadmin = (sysadmin & 1) | $1, updated_at = $2 \
         WHERE id = $3 AND (sysadmin & 2) <> $1",
    )
    .bind(bit)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    commit(s, tx, events).await?;
    Ok(true)
}

/// Deletes the user, their memberships and their sessions. The foreign keys cascade
/// anyway; the explicit deletes keep this true should a connection run without them.
pub(super) async fn delete(s: &SqlMetadataStore, id: i64, events: &[NewEvent]) -> Result<()> {
    let mut tx = s.begin_write().await?;
    for sql in [
        "DELETE FROM project_members WHERE user_id = $1",
        "DELETE FROM user_group_members WHERE user_id = $1",
        "DELETE FROM sessions WHERE user_id = $1",
    ] {
        sqlx::query(sql)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
    }
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    found(done.rows_affected(), || not_found(id))?;
    commit(s, tx, events).await
}

/// Stores a session, dropping expired ones on the way.
pub(super) async fn create_session(s: &SqlMetadataStore, session: &Session) -> Result<()> {
    let mut tx = s.begin_write().await?;
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(session.id_hash.as_str())
    .bind(session.user_id)
    .bind(session.csrf_token.as_str())
    .bind(session.expires_ms)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        write_error(
            e,
            |_| "the session exists already".to_owned(),
            || not_found(session.user_id),
        )
    })?;
    tx.commit().await.map_err(internal)
}

pub(super) async fn session(
    s: &SqlMetadataStore,
    id_hash: &str,
    now: i64,
) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT id_hash, user_id, csrf_token, expires_at FROM sessions
         WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(id_hash)
    .bind(now)
    .fetch_optional(&s.read)
    .await
    .map_err(internal)?;
    row.map(|row| {
        Ok(Session {
            id_hash: row.try_get(0).map_err(internal)?,
            user_id: row.try_get(1).map_err(internal)?,
            csrf_token: row.try_get(2).map_err(internal)?,
            expires_ms: row.try_get(3).map_err(internal)?,
        })
    })
    .transpose()
}

/// Ends a session; ending one that is gone already (expired, logged out) is not an error.
pub(super) async fn delete_session(s: &SqlMetadataStore, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&s.write)
        .await
        .map_err(internal)?;
    Ok(())
}
