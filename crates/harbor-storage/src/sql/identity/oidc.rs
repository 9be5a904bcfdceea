//! OIDC links (`migrations/*/0027_oidc_users.sql`): an account's identity at the provider,
//! its sealed CLI secret and tokens. A link goes with its user (a cascading foreign key).

use async_trait::async_trait;
use harbor_core::Result;
use harbor_core::events::NewEvent;
use harbor_core::identity::{NewUser, User};
use harbor_core::model::now_ms;
use harbor_core::oidc::{OidcLink, OidcUserStore};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{commit, found, users, write_error};
use crate::error::internal;
use crate::sql::SqlMetadataStore;

const COLUMNS: &str = "id, user_id, subiss, secret, token, created_at, updated_at";

fn link(row: &AnyRow) -> Result<OidcLink> {
    Ok(OidcLink {
        id: row.try_get(0).map_err(internal)?,
        user_id: row.try_get(1).map_err(internal)?,
        subiss: row.try_get(2).map_err(internal)?,
        secret: row.try_get(3).map_err(internal)?,
        token: row.try_get(4).map_err(internal)?,
        created_ms: row.try_get(5).map_err(internal)?,
        updated_ms: row.try_get(6).map_err(internal)?,
    })
}

impl SqlMetadataStore {
    async fn oidc_link_where(&self, column: &str, value: impl LinkKey) -> Result<Option<OidcLink>> {
        let sql = format!("SELECT {COLUMNS} FROM oidc_users WHERE {column} = $1");
        let q = sqlx::query(sqlx::AssertSqlSafe(sql));
        let row = value
            .bind(q)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?;
        row.as_ref().map(link).transpose()
    }

    async fn set_oidc_column(&self, column: &str, user_id: i64, value: &[u8]) -> Result<()> {
        let sql =
            format!("UPDATE oidc_users SET {column} = $1, updated_at = $2 WHERE user_id = $3");
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value.to_vec())
            .bind(now_ms())
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        found(done.rows_affected(), || {
            format!("user {user_id} does not sign in through OIDC")
        })?;
        tx.commit().await.map_err(internal)
    }
}

/// A key to look a link up by (the column is a fixed name, the value a parameter).
trait LinkKey {
    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;
}

impl LinkKey for i64 {
    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        q.bind(self)
    }
}

impl LinkKey for String {
    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        q.bind(self)
    }
}

#[async_trait]
impl OidcUserStore for SqlMetadataStore {
    async fn oidc_link(&self, user_id: i64) -> Result<Option<OidcLink>> {
        self.oidc_link_where("user_id", user_id).await
    }

    async fn oidc_link_by_subiss(&self, subiss: &str) -> Result<Option<OidcLink>> {
        self.oidc_link_where("subiss", subiss.to_owned()).await
    }

    async fn onboard_oidc_user_emitting(
        &self,
        user: &NewUser,
        subiss: &str,
        secret: &[u8],
        token: &[u8],
        events: &[NewEvent],
    ) -> Result<(User, OidcLink)> {
        let mut tx = self.begin_write().await?;
        let created = users::insert(&mut tx, user).await?;
        let now = now_ms();
        let sql = format!(
            "INSERT INTO oidc_users (user_id, subiss, secret, token, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(created.id)
            .bind(subiss)
            .bind(secret.to_vec())
            .bind(token.to_vec())
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| {
                write_error(
                    e,
                    |_| "this OIDC identity is linked to another user already".into(),
                    || format!("user {} not found", created.id),
                )
            })?;
        let linked = link(&row)?;
        commit(self, tx, events).await?;
        Ok((created, linked))
    }

    async fn set_oidc_secret(&self, user_id: i64, secret: &[u8]) -> Result<()> {
        self.set_oidc_column("secret", user_id, secret).await
    }

    async fn set_oidc_token(&self, user_id: i64, token: &[u8]) -> Result<()> {
        self.set_oidc_column("token", user_id, token).await
    }
}
