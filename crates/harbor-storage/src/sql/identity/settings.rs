//! System settings: named JSON values every replica shares.

use harbor_core::Result;
use harbor_core::model::now_ms;
use sqlx::Row;

use super::SqlMetadataStore;
use crate::error::internal;

pub(super) async fn settings(s: &SqlMetadataStore) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT name, value FROM system_settings ORDER BY name")
        .fetch_all(&s.read)
        .await
        .map_err(internal)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0).map_err(internal)?,
                r.try_get(1).map_err(internal)?,
            ))
        })
        .collect()
}

pub(super) async fn put_settings(
    s: &SqlMetadataStore,
    settings: &[(String, String)],
) -> Result<()> {
    let mut tx = s.write.begin().await.map_err(internal)?;
    let now = now_ms();
    for (name, value) in settings {
        sqlx::query(
            "INSERT INTO system_settings (name, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value,
                                              updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)
}
