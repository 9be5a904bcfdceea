//! The outbox of domain events and the subscribers' cursors (`0012_events.sql`).
//!
//! Events are appended by the write that causes them, as its transaction's last step
//! ([`append`]). Subscribers read `id > cursor` in id order, so ids must become visible in
//! the order they were assigned: SQLite has one writer, and on PostgreSQL [`append`]
//! first takes a transaction-scoped advisory lock, so the transactions that append events
//! commit one after another in id order (the lock is held only from the append to the
//! commit).

use async_trait::async_trait;
use harbor_core::events::{DomainEvent, EventStore, NewEvent, StartAt, StoredEvent};
use harbor_core::identity::NewAuditEntry;
use harbor_core::model::{Lease, now_ms};
use harbor_core::{Error, Result};
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::{Dialect, SqlMetadataStore, limit, placeholders};
use crate::error::internal;

/// Key of the advisory lock that orders appends on PostgreSQL ("outbox" in ASCII).
const APPEND_LOCK: i64 = 0x6f75_7462_6f78;
/// Columns per inserted event.
const FIELDS: usize = 5;
/// Events per multi-row insert.
const BATCH: usize = 200;

/// Appends `events` in the caller's transaction; call it last, right before the commit.
pub(super) async fn append(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    events: &[NewEvent],
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(APPEND_LOCK)
            .execute(&mut **tx)
            .await
            .map_err(internal)?;
    }
    for batch in events.chunks(BATCH) {
        let rows = (0..batch.len())
            .map(|i| format!("({})", placeholders(1 + i * FIELDS, FIELDS)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO events (occurred_ms, kind, repository, actor, payload) VALUES {rows}"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for e in batch {
            let payload =
                serde_json::to_string(&e.event).map_err(|err| Error::internal(err.to_string()))?;
            q = q
                .bind(e.occurred_ms)
                .bind(e.event.kind())
                .bind(e.event.repository().map(str::to_owned))
                .bind(e.actor.as_str())
                .bind(payload);
        }
        q.execute(&mut **tx).await.map_err(internal)?;
    }
    Ok(())
}

#[async_trait]
impl EventStore for SqlMetadataStore {
    async fn append_events(&self, events: &[NewEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn events_after(&self, after: i64, max: usize) -> Result<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT id, occurred_ms, actor, payload FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit(max))
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get(3).map_err(internal)?;
                let event: DomainEvent = serde_json::from_str(&payload)
                    .map_err(|e| Error::internal(format!("unreadable event payload: {e}")))?;
                Ok(StoredEvent {
                    id: row.try_get(0).map_err(internal)?,
                    occurred_ms: row.try_get(1).map_err(internal)?,
                    actor: row.try_get(2).map_err(internal)?,
                    event,
                })
            })
            .collect()
    }

    async fn last_event_id(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(&self.read)
            .await
            .map_err(internal)?;
        row.try_get(0).map_err(internal)
    }

    async fn claim_cursor(
        &self,
        subscriber: &str,
        start: StartAt,
        lease: &Lease,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let initial = match start {
            StartAt::Beginning => "0",
            StartAt::Latest => "(SELECT COALESCE(MAX(id), 0) FROM events)",
        };
        let sql = format!(
            "INSERT INTO event_cursors (subscriber, position, claimed_ms)
             SELECT $1, {initial}, $2 WHERE true
             ON CONFLICT (subscriber) DO NOTHING"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(subscriber)
            .bind(lease.now)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        let row = sqlx::query(
            "UPDATE event_cursors SET lease_token = $2, lease_until = $3, claimed_ms = $4
             WHERE subscriber = $1 AND (lease_token IS NULL OR lease_token = $2 OR lease_until < $4)
             RETURNING position",
        )
        .bind(subscriber)
        .bind(lease.token.as_str())
        .bind(lease.until)
        .bind(lease.now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?;
        let position = row.map(|r| r.try_get(0)).transpose().map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(position)
    }

    async fn advance_cursor(
        &self,
        subscriber: &str,
        token: &str,
        from: i64,
        to: i64,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let moved = advance(&mut tx, subscriber, token, from, to).await?;
        tx.commit().await.map_err(internal)?;
        Ok(moved)
    }

    async fn advance_cursor_with_audit(
        &self,
        subscriber: &str,
        token: &str,
        from: i64,
        to: i64,
        entries: &[NewAuditEntry],
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        if !advance(&mut tx, subscriber, token, from, to).await? {
            return Ok(false);
        }
        super::identity::audit::insert(&mut tx, entries).await?;
        tx.commit().await.map_err(internal)?;
        Ok(true)
    }

    async fn release_cursors_of(&self, owner: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE event_cursors SET lease_token = NULL, lease_until = 0 WHERE lease_token LIKE $1",
        )
        .bind(super::uploads::owner_pattern(owner)?)
        .execute(&self.write)
        .await
        .map_err(internal)?;
        Ok(done.rows_affected())
    }

    async fn prune_events(&self, before_ms: i64) -> Result<u64> {
        // Up to the slowest live cursor; with none, everything old enough.
        let done = sqlx::query(
            "DELETE FROM events WHERE occurred_ms < $1 AND id <= COALESCE(
                 (SELECT MIN(position) FROM event_cursors WHERE claimed_ms >= $1),
                 (SELECT MAX(id) FROM events))",
        )
        .bind(before_ms)
        .execute(&self.write)
        .await
        .map_err(internal)?;
        Ok(done.rows_affected())
    }
}

/// Moves a cursor held with `token` from `from` to `to`; false if it is not held so.
pub(super) async fn advance(
    tx: &mut Transaction<'_, Any>,
    subscriber: &str,
    token: &str,
    from: i64,
    to: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE event_cursors SET position = $4, claimed_ms = $5
         WHERE subscriber = $1 AND lease_token = $2 AND position = $3",
    )
    .bind(subscriber)
    .bind(token)
    .bind(from)
    .bind(to)
    .bind(now_ms())
    .execute(&mut **tx)
    .await
    .map_err(internal)?;
    Ok(done.rows_affected() == 1)
}
