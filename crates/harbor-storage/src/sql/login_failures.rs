//! Failed sign-in counters of the login throttle (`migrations/*/0011_login_failures.sql`).

use async_trait::async_trait;
use harbor_core::Result;
use harbor_core::identity::LoginFailures;
use harbor_core::ports::LoginFailureStore;
use sqlx::{AssertSqlSafe, Row};

use super::SqlMetadataStore;
use crate::error::internal;

/// `$1, $2, ...` for `n` values.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl LoginFailureStore for SqlMetadataStore {
    async fn login_failures(&self, keys: &[String]) -> Result<Vec<LoginFailures>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT key_hash, failures, last_ms FROM login_failures WHERE key_hash IN ({})",
            placeholders(keys.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for k in keys {
            q = q.bind(k);
        }
        let rows = q.fetch_all(&self.read).await.map_err(internal)?;
        rows.iter()
            .map(|r| {
                let failures: i64 = r.try_get(1).map_err(internal)?;
                Ok(LoginFailures {
                    key: r.try_get(0).map_err(internal)?,
                    failures: u32::try_from(failures).unwrap_or(u32::MAX),
                    last_ms: r.try_get(2).map_err(internal)?,
                })
            })
            .collect()
    }

    async fn record_login_failure(
        &self,
        keys: &[String],
        now_ms: i64,
        reset_before_ms: i64,
    ) -> Result<()> {
        let mut tx = self.write.begin().await.map_err(internal)?;
        for k in keys {
            sqlx::query(
                "INSERT INTO login_failures (key_hash, failures, last_ms) VALUES ($1, 1, $2)
                 ON CONFLICT (key_hash) DO UPDATE SET
                     failures = CASE WHEN login_failures.last_ms < $3 THEN 1
                                     ELSE login_failures.failures + 1 END,
                     last_ms = $2",
            )
            .bind(k)
            .bind(now_ms)
            .bind(reset_before_ms)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)
    }

    async fn clear_login_failures(&self, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "DELETE FROM login_failures WHERE key_hash IN ({})",
            placeholders(keys.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for k in keys {
            q = q.bind(k);
        }
        q.execute(&self.write).await.map_err(internal)?;
        Ok(())
    }

    async fn purge_login_failures(&self, before_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_failures WHERE last_ms < $1")
            .bind(before_ms)
            .execute(&self.write)
            .await
            .map_err(internal)?;
        Ok(done.rows_affected())
    }
}
