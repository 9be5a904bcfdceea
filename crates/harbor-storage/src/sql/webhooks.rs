//! Webhook policies and deliveries (`migrations/*/0024_webhooks.sql`).
//!
//! Deliveries are queued in the transaction that moves the webhook subscriber's cursor,
//! each (policy, target, event) once (a unique key). Claims run under a write lock (SQLite's
//! one writer, a transaction-scoped advisory lock on PostgreSQL), so two replicas never
//! claim deliveries of one order key out of order.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::identity::Page;
use harbor_core::model::now_ms;
use harbor_core::webhook::{
    AttemptResult, Breaker, Claimed, Delivery, DeliveryStatus, EventType, LastTrigger, NewDelivery,
    NotifyType, PayloadFormat, Policy, PolicySettings, RetryRules, SealedHeader, Target,
    WebhookStore,
};
use harbor_core::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::events::{advance, append};
use super::{Dialect, SqlMetadataStore, limit, placeholders};
use crate::error::{StorageError, internal};

/// Key of the advisory lock that serialises claims on PostgreSQL ("webhook" in ASCII).
const CLAIM_LOCK: i64 = 0x77_6562_686f_6f6b;
/// Columns per queued delivery.
const FIELDS: usize = 12;
/// Deliveries per multi-row insert.
const BATCH: usize = 40;
/// Values per recorded attempt.
const RECORD_FIELDS: usize = 7;
/// Attempts recorded per statement.
const RECORD_BATCH: usize = 200;

const POLICY_COLUMNS: &str = "id, project_id, name, description, targets, event_types, enabled, \
     creator, created_at, updated_at";
const DELIVERY_COLUMNS: &str = "d.id, d.policy_id, d.target, d.event_id, d.event_type, \
     d.order_key, d.uuid, d.payload, d.occurred_at, d.status, d.attempts, d.next_attempt_at, \
     d.status_text, d.created_at, d.started_at, d.ended_at, d.updated_at";

/// The deliveries a claim may take, without an order or limit (`$1` now, `$3` how many of
/// each policy, target and order key): due, not leased (or its lease ran out), its policy
/// enabled with a closed breaker, and before the first delivery of its policy, target and
/// order key that blocks later ones (unfinished, waiting for a retry or leased), so each
/// key's deliveries go in order. It reads only the `webhook_deliveries_order` index (and
/// the policies), not the rows with their payloads.
const CLAIMABLE: &str = "WITH blocking AS (
       SELECT policy_id, target, order_key, MIN(id) AS first FROM webhook_deliveries
       WHERE status IN ('Pending', 'Running') AND (next_attempt_at > $1 OR lease_until >= $1)
       GROUP BY policy_id, target, order_key)
     SELECT id FROM (
       SELECT d.id, ROW_NUMBER() OVER (
           PARTITION BY d.policy_id, d.target, d.order_key ORDER BY d.id) AS n
       FROM webhook_deliveries d
       JOIN webhook_policies p ON p.id = d.policy_id
       LEFT JOIN blocking b ON b.policy_id = d.policy_id AND b.target = d.target
         AND b.order_key = d.order_key
       WHERE d.status IN ('Pending', 'Running') AND d.next_attempt_at <= $1
         AND d.lease_until < $1 AND p.enabled <> 0 AND p.breaker_open_until <= $1
         AND (b.first IS NULL OR d.id < b.first)) claimable
     WHERE n <= $3";

fn inconsistent(what: &str) -> Error {
    internal(StorageError::Inconsistent(what.to_owned()))
}

/// A target as stored: the sealed header in hex.
#[derive(Serialize, Deserialize)]
struct StoredTarget {
    kind: NotifyType,
    address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_header: Option<String>,
    #[serde(default)]
    skip_cert_verify: bool,
    payload_format: PayloadFormat,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn targets_json(targets: &[Target]) -> Result<String> {
    let stored: Vec<StoredTarget> = targets
        .iter()
        .map(|t| StoredTarget {
            kind: t.kind,
            address: t.address.clone(),
            auth_header: t.auth_header.as_ref().map(|h| hex(&h.0)),
            skip_cert_verify: t.skip_cert_verify,
            payload_format: t.payload_format,
        })
        .collect();
    serde_json::to_string(&stored).map_err(Error::internal)
}

fn targets_from(json: &str) -> Result<Vec<Target>> {
    let stored: Vec<StoredTarget> =
        serde_json::from_str(json).map_err(|_| inconsistent("webhook targets"))?;
    stored
        .into_iter()
        .map(|t| {
            let auth_header = match t.auth_header {
                Some(h) => Some(SealedHeader(
                    unhex(&h).ok_or_else(|| inconsistent("webhook auth header"))?,
                )),
                None => None,
            };
            Ok(Target {
                kind: t.kind,
                address: t.address,
                auth_header,
                skip_cert_verify: t.skip_cert_verify,
                payload_format: t.payload_format,
            })
        })
        .collect()
}

fn event_types_json(types: &[EventType]) -> Result<String> {
    serde_json::to_string(&types.iter().map(|t| t.as_str()).collect::<Vec<_>>())
        .map_err(Error::internal)
}

fn policy(row: &AnyRow) -> Result<Policy> {
    let targets: String = row.try_get(4).map_err(internal)?;
    let types: String = row.try_get(5).map_err(internal)?;
    let types: Vec<String> =
        serde_json::from_str(&types).map_err(|_| inconsistent("webhook event types"))?;
    let event_types = types
        .iter()
        .map(|t| EventType::parse(t).ok_or_else(|| inconsistent("webhook event type")))
        .collect::<Result<_>>()?;
    Ok(Policy {
        id: row.try_get(0).map_err(internal)?,
        project_id: row.try_get(1).map_err(internal)?,
        settings: PolicySettings {
            name: row.try_get(2).map_err(internal)?,
            description: row.try_get(3).map_err(internal)?,
            targets: targets_from(&targets)?,
            event_types,
            enabled: row.try_get::<i64, _>(6).map_err(internal)? != 0,
        },
        creator: row.try_get(7).map_err(internal)?,
        created_ms: row.try_get(8).map_err(internal)?,
        updated_ms: row.try_get(9).map_err(internal)?,
    })
}

fn delivery(row: &AnyRow) -> Result<Delivery> {
    let event_type: String = row.try_get(4).map_err(internal)?;
    let status: String = row.try_get(9).map_err(internal)?;
    let target: i64 = row.try_get(2).map_err(internal)?;
    let attempts: i64 = row.try_get(10).map_err(internal)?;
    Ok(Delivery {
        id: row.try_get(0).map_err(internal)?,
        spec: NewDelivery {
            policy_id: row.try_get(1).map_err(internal)?,
            target: u32::try_from(target).map_err(|_| inconsistent("webhook target"))?,
            event_id: row.try_get(3).map_err(internal)?,
            event_type: EventType::parse(&event_type)
                .ok_or_else(|| inconsistent("webhook event type"))?,
            order_key: row.try_get(5).map_err(internal)?,
            uuid: row.try_get(6).map_err(internal)?,
            payload: row.try_get(7).map_err(internal)?,
            occurred_ms: row.try_get(8).map_err(internal)?,
        },
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| inconsistent("webhook delivery status"))?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_ms: row.try_get(11).map_err(internal)?,
        status_text: row.try_get(12).map_err(internal)?,
        created_ms: row.try_get(13).map_err(internal)?,
        started_ms: row.try_get(14).map_err(internal)?,
        ended_ms: row.try_get(15).map_err(internal)?,
        updated_ms: row.try_get(16).map_err(internal)?,
    })
}

fn write_error(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(format!(
            "the project has a webhook policy named {name:?} already"
        )),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::NotFound("project not found".into())
        }
        _ => internal(e),
    }
}

#[async_trait]
impl WebhookStore for SqlMetadataStore {
    async fn create_webhook_policy_emitting(
        &self,
        project_id: i64,
        s: &PolicySettings,
        creator: &str,
        events: &[NewEvent],
    ) -> Result<Policy> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO webhook_policies (project_id, name, description, targets, event_types,
                 enabled, creator, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             RETURNING {POLICY_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(project_id)
            .bind(&s.name)
            .bind(&s.description)
            .bind(targets_json(&s.targets)?)
            .bind(event_types_json(&s.event_types)?)
            .bind(i64::from(s.enabled))
            .bind(creator)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, &s.name))?;
        let created = policy(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(created)
    }

    async fn webhook_policy(&self, id: i64) -> Result<Option<Policy>> {
        let sql = format!("SELECT {POLICY_COLUMNS} FROM webhook_policies WHERE id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .map(|r| policy(&r))
            .transpose()
    }

    async fn webhook_policies(&self, project_id: i64, page: Page) -> Result<(Vec<Policy>, u64)> {
        let sql = format!(
            "SELECT {POLICY_COLUMNS}, COUNT(*) OVER () FROM webhook_policies
             WHERE project_id = $1 ORDER BY id LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(project_id)
            .bind(i64::try_from(page.page_size).unwrap_or(i64::MAX))
            .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .fetch_all(&self.read)
            .await
            .map_err(internal)?;
        let total = match rows.first() {
            Some(r) => r.try_get::<i64, _>(10).map_err(internal)?,
            None => sqlx::query("SELECT COUNT(*) FROM webhook_policies WHERE project_id = $1")
                .bind(project_id)
                .fetch_one(&self.read)
                .await
                .map_err(internal)?
                .try_get::<i64, _>(0)
                .map_err(internal)?,
        };
        let list = rows.iter().map(policy).collect::<Result<_>>()?;
        Ok((list, u64::try_from(total).unwrap_or_default()))
    }

    async fn enabled_webhook_policies(&self, project_ids: &[i64]) -> Result<Vec<Policy>> {
        if project_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {POLICY_COLUMNS} FROM webhook_policies
             WHERE enabled <> 0 AND project_id IN ({}) ORDER BY id",
            placeholders(1, project_ids.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in project_ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&self.read).await.map_err(internal)?;
        rows.iter().map(policy).collect()
    }

    async fn update_webhook_policy_emitting(
        &self,
        id: i64,
        s: &PolicySettings,
        stop_queued: bool,
        events: &[NewEvent],
    ) -> Result<Policy> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE webhook_policies SET name = $2, description = $3, targets = $4,
                 event_types = $5, enabled = $6, updated_at = $7,
                 breaker_failures = 0, breaker_open_until = 0
             WHERE id = $1 RETURNING {POLICY_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(&s.name)
            .bind(&s.description)
            .bind(targets_json(&s.targets)?)
            .bind(event_types_json(&s.event_types)?)
            .bind(i64::from(s.enabled))
            .bind(now_ms())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| write_error(e, &s.name))?
            .ok_or_else(|| Error::NotFound(format!("webhook policy {id} not found")))?;
        let updated = policy(&row)?;
        if !s.enabled {
            // A disabled policy sends nothing more: what it had queued stops.
            stop_pending(&mut tx, id, "the policy was disabled").await?;
        } else if stop_queued {
            stop_pending(&mut tx, id, "the policy's targets changed").await?;
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(updated)
    }

    async fn delete_webhook_policy_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM webhook_policies WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("webhook policy {id} not found")));
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn queue_webhook_deliveries(
        &self,
        subscriber: &str,
        token: &str,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        if !advance(&mut tx, subscriber, token, from, to).await? {
            return Ok(false);
        }
        let now = now_ms();
        for batch in deliveries.chunks(BATCH) {
            let rows = (0..batch.len())
                .map(|i| format!("({})", placeholders(1 + i * FIELDS, FIELDS)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO webhook_deliveries (policy_id, target, event_id, event_type,
                     order_key, uuid, payload, occurred_at, status, next_attempt_at, created_at,
                     updated_at)
                 VALUES {rows}
                 ON CONFLICT (policy_id, target, event_id) DO NOTHING"
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for d in batch {
                q = q
                    .bind(d.policy_id)
                    .bind(i64::from(d.target))
                    .bind(d.event_id)
                    .bind(d.event_type.as_str())
                    .bind(d.order_key.as_str())
                    .bind(d.uuid.as_str())
                    .bind(d.payload.as_str())
                    .bind(d.occurred_ms)
                    .bind(DeliveryStatus::Pending.as_str())
                    .bind(now)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await.map_err(|e| match &e {
                // The policy was deleted meanwhile: its deliveries go with it.
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    Error::Busy("a webhook policy changed while events were queued".into())
                }
                _ => internal(e),
            })?;
        }
        tx.commit().await.map_err(internal)?;
        Ok(true)
    }

    async fn claim_webhook_deliveries(
        &self,
        token: &str,
        now_ms: i64,
        lease_ms: i64,
        max: usize,
        per_group: usize,
    ) -> Result<Vec<Claimed>> {
        // Most looks find nothing: they ask a reader, and only take the writer (and on
        // PostgreSQL the claim lock) when something is due.
        let sql = format!("{CLAIMABLE} LIMIT $2");
        let due = sqlx::query(AssertSqlSafe(sql))
            .bind(now_ms)
            .bind(1_i64)
            .bind(1_i64)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(CLAIM_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(internal)?;
        }
        // At most `per_group` of each key: the rest would only be given back.
        let sql = format!("{CLAIMABLE} ORDER BY id LIMIT $2");
        let ids: Vec<i64> = sqlx::query(AssertSqlSafe(sql))
            .bind(now_ms)
            .bind(limit(max))
            .bind(limit(per_group))
            .fetch_all(&mut *tx)
            .await
            .map_err(internal)?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<std::result::Result<_, _>>()
            .map_err(internal)?;
        if ids.is_empty() {
            tx.commit().await.map_err(internal)?;
            return Ok(Vec::new());
        }
        let list = placeholders(5, ids.len());
        let sql = format!(
            "UPDATE webhook_deliveries SET status = 'Running', lease_token = $1,
                 lease_until = $2, started_at = COALESCE(started_at, $3), updated_at = $4
             WHERE id IN ({list})"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(token)
            .bind(now_ms.saturating_add(lease_ms))
            .bind(now_ms)
            .bind(now_ms);
        for id in &ids {
            q = q.bind(*id);
        }
        q.execute(&mut *tx).await.map_err(internal)?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS}, p.targets FROM webhook_deliveries d
             JOIN webhook_policies p ON p.id = d.policy_id
             WHERE d.id IN ({}) ORDER BY d.id",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in &ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&mut *tx).await.map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let delivery = delivery(row)?;
            let targets: String = row.try_get(17).map_err(internal)?;
            let Some(target) = targets_from(&targets)?
                .into_iter()
                .nth(delivery.spec.target as usize)
            else {
                // The policy lost that target since: nothing to send it to.
                continue;
            };
            claimed.push(Claimed { delivery, target });
        }
        Ok(claimed)
    }

    async fn record_webhook_attempts(
        &self,
        results: &[AttemptResult],
        released: &[(String, i64)],
        rules: &RetryRules,
    ) -> Result<()> {
        if results.is_empty() && released.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // Every attempt in one statement per chunk (not one each: the writer is the
        // pushes' too); only those still held under their token are written.
        let mut recorded = HashSet::with_capacity(results.len());
        for chunk in results.chunks(RECORD_BATCH) {
            let rows = (0..chunk.len())
                .map(|i| format!("({})", placeholders(2 + i * RECORD_FIELDS, RECORD_FIELDS)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "WITH v (v_id, v_token, v_status, v_next, v_text, v_line, v_ended) AS
                     (VALUES {rows})
                 UPDATE webhook_deliveries SET status = v_status, attempts = attempts + 1,
                     next_attempt_at = v_next, status_text = v_text, log = log || v_line,
                     lease_token = NULL, lease_until = 0, ended_at = v_ended, updated_at = $1
                 FROM v WHERE id = v_id AND lease_token = v_token
                 RETURNING id"
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now);
            for r in chunk {
                // One line per attempt: its time (ms) and what happened.
                let line = format!("{} {}\n", r.at_ms, r.text.replace('\n', " "));
                q = q
                    .bind(r.id)
                    .bind(r.token.as_str())
                    .bind(r.status.as_str())
                    .bind(r.next_ms)
                    .bind(r.text.as_str())
                    .bind(line)
                    .bind(r.status.is_final().then_some(now));
            }
            for row in q.fetch_all(&mut *tx).await.map_err(internal)? {
                recorded.insert(row.try_get::<i64, _>(0).map_err(internal)?);
            }
        }
        let mut outcomes: BTreeMap<i64, Vec<(bool, i64)>> = BTreeMap::new();
        for r in results {
            if recorded.contains(&r.id)
                && (r.receiver_failed || r.status == DeliveryStatus::Success)
            {
                outcomes
                    .entry(r.policy_id)
                    .or_default()
                    .push((r.receiver_failed, r.at_ms));
            }
        }
        // A success closes the breaker whatever came before it: the policies whose last
        // attempt succeeded in one statement that writes only an open or counting breaker.
        let (closed, counted): (Vec<_>, Vec<_>) = outcomes
            .into_iter()
            .partition(|(_, attempts)| attempts.last().is_some_and(|(failed, _)| !failed));
        if !closed.is_empty() {
            let sql = format!(
                "UPDATE webhook_policies SET breaker_failures = 0, breaker_open_until = 0
                 WHERE id IN ({}) AND (breaker_failures <> 0 OR breaker_open_until <> 0)",
                placeholders(1, closed.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (policy_id, _) in &closed {
                q = q.bind(*policy_id);
            }
            q.execute(&mut *tx).await.map_err(internal)?;
        }
        for (policy_id, attempts) in counted {
            let Some(row) = sqlx::query(
                "SELECT breaker_failures, breaker_open_until FROM webhook_policies WHERE id = $1",
            )
            .bind(policy_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(internal)?
            else {
                continue;
            };
            let mut b = Breaker {
                failures: u32::try_from(row.try_get::<i64, _>(0).map_err(internal)?)
                    .unwrap_or(u32::MAX),
                open_until_ms: row.try_get(1).map_err(internal)?,
            };
            for (failed, at) in attempts {
                b = rules.breaker_after(b, failed, at);
            }
            sqlx::query(
                "UPDATE webhook_policies SET breaker_failures = $2, breaker_open_until = $3
                 WHERE id = $1",
            )
            .bind(policy_id)
            .bind(i64::from(b.failures))
            .bind(b.open_until_ms)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
        let mut by_token: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for (token, id) in released {
            by_token.entry(token.as_str()).or_default().push(*id);
        }
        for (token, ids) in by_token {
            release(&mut tx, token, &ids).await?;
        }
        tx.commit().await.map_err(internal)
    }

    async fn release_webhook_deliveries(&self, token: &str, ids: &[i64]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        release(&mut tx, token, ids).await?;
        tx.commit().await.map_err(internal)
    }

    async fn release_webhook_claims_of(&self, owner: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'Pending', lease_token = NULL, lease_until = 0
             WHERE lease_token LIKE $1 AND status = 'Running'",
        )
        .bind(super::uploads::owner_pattern(owner)?)
        .execute(&self.write)
        .await
        .map_err(internal)?;
        Ok(done.rows_affected())
    }

    async fn webhook_delivery(&self, id: i64) -> Result<Option<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .map(|r| delivery(&r))
            .transpose()
    }

    async fn webhook_deliveries(
        &self,
        policy_id: i64,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> Result<(Vec<Delivery>, u64)> {
        let filter = if status.is_some() {
            "AND d.status = $4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS}, COUNT(*) OVER () FROM webhook_deliveries d
             WHERE d.policy_id = $1 {filter} ORDER BY d.id DESC LIMIT $2 OFFSET $3"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(policy_id)
            .bind(i64::try_from(page.page_size).unwrap_or(i64::MAX))
            .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX));
        if let Some(s) = status {
            q = q.bind(s.as_str());
        }
        let rows = q.fetch_all(&self.read).await.map_err(internal)?;
        let total = match rows.first() {
            Some(r) => r.try_get::<i64, _>(17).map_err(internal)?,
            None => {
                let sql = format!(
                    "SELECT COUNT(*) FROM webhook_deliveries d WHERE d.policy_id = $1 {}",
                    filter.replace("$4", "$2")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql)).bind(policy_id);
                if let Some(s) = status {
                    q = q.bind(s.as_str());
                }
                q.fetch_one(&self.read)
                    .await
                    .map_err(internal)?
                    .try_get::<i64, _>(0)
                    .map_err(internal)?
            }
        };
        let list = rows.iter().map(delivery).collect::<Result<_>>()?;
        Ok((list, u64::try_from(total).unwrap_or_default()))
    }

    async fn webhook_delivery_log(&self, id: i64) -> Result<Vec<(i64, String)>> {
        let row = sqlx::query("SELECT log FROM webhook_deliveries WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .ok_or_else(|| Error::NotFound(format!("webhook task {id} not found")))?;
        let log: String = row.try_get(0).map_err(internal)?;
        Ok(log
            .lines()
            .map(|l| {
                let (at, text) = l.split_once(' ').unwrap_or(("0", l));
                (at.parse().unwrap_or_default(), text.to_owned())
            })
            .collect())
    }

    async fn webhook_last_triggers(&self, project_id: i64) -> Result<Vec<LastTrigger>> {
        let sql = format!(
            "SELECT {POLICY_COLUMNS} FROM webhook_policies WHERE project_id = $1 ORDER BY id"
        );
        let policies: Vec<Policy> = sqlx::query(AssertSqlSafe(sql))
            .bind(project_id)
            .fetch_all(&self.read)
            .await
            .map_err(internal)?
            .iter()
            .map(policy)
            .collect::<Result<_>>()?;
        let rows = sqlx::query(
            "SELECT d.policy_id, d.event_type, MAX(d.created_at) FROM webhook_deliveries d
             JOIN webhook_policies p ON p.id = d.policy_id
             WHERE p.project_id = $1 GROUP BY d.policy_id, d.event_type",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        let mut last: BTreeMap<(i64, String), i64> = BTreeMap::new();
        for r in &rows {
            last.insert(
                (
                    r.try_get(0).map_err(internal)?,
                    r.try_get(1).map_err(internal)?,
                ),
                r.try_get(2).map_err(internal)?,
            );
        }
        let mut out = Vec::new();
        for p in policies {
            for t in p.settings.event_types.clone() {
                out.push(LastTrigger {
                    last_ms: last.get(&(p.id, t.as_str().to_owned())).copied(),
                    event_type: t,
                    policy: p.clone(),
                });
            }
        }
        Ok(out)
    }

    async fn prune_webhook_deliveries(&self, before_ms: i64) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE ended_at IS NOT NULL AND ended_at < $1",
        )
        .bind(before_ms)
        .execute(&self.write)
        .await
        .map_err(internal)?;
        Ok(done.rows_affected())
    }
}

/// Stops the unfinished deliveries of a policy.
/// Gives claimed deliveries back (pending, unleased) if `token` still holds them.
async fn release(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    token: &str,
    ids: &[i64],
) -> Result<()> {
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE webhook_deliveries SET status = 'Pending', lease_token = NULL, lease_until = 0
             WHERE lease_token = $1 AND id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(token);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await.map_err(internal)?;
    }
    Ok(())
}

async fn stop_pending(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    policy_id: i64,
    why: &str,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'Stopped', status_text = $2, ended_at = $3,
             updated_at = $3, lease_token = NULL, lease_until = 0
         WHERE policy_id = $1 AND status IN ('Pending', 'Running')",
    )
    .bind(policy_id)
    .bind(why)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let b = vec![0, 1, 0xab, 0xff];
        assert_eq!(unhex(&hex(&b)).unwrap(), b);
        assert!(unhex("abc").is_none() && unhex("zz").is_none());
    }
}
