//! Replication policies, executions, tasks and task logs
//! (`migrations/*/0016_replication.sql`).
//!
//! A policy's filters and trigger are stored as JSON in Harbor's shape; a task's plan
//! and progress as JSON lists. Starting an execution checks for an active one and
//! inserts in one transaction, under the policy row's lock on PostgreSQL (SQLite has one
//! writer), so a policy never has two executions in progress.

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::identity::Page;
use harbor_core::model::now_ms;
use harbor_core::replication::{
    Execution, ExecutionQuery, ExecutionStatus, FilterInput, NewTask, Policy, PolicyQuery,
    PolicySettings, ReplicationStore, Task, TaskCounts, TaskStatus, Trigger, filter_inputs,
    parse_filters,
};
use harbor_core::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::events::append;
use super::identity::{Filter, paged};
use super::{Dialect, SqlMetadataStore};
use crate::error::{StorageError, internal};

const TASK_LOGS: super::logs::LogTable = super::logs::LogTable {
    insert: "replication_task_logs (task_id, at_ms, line)",
    select: "SELECT at_ms, line FROM replication_task_logs WHERE task_id = $1 ORDER BY seq",
    owner: "replication task",
};

const POLICY_COLUMNS: &str = "id, name, description, src_registry_id, dest_registry_id, \
     dest_namespace, dest_replace_count, filters, trig, deletion, override_tags, enabled, \
     speed_kbps, copy_by_chunk, single_active, creator, created_at, updated_at";

/// Counts of an execution's tasks, as columns after `e.*`.
const EXECUTION_COLUMNS: &str = "e.id, e.policy_id, e.trig, e.status, e.status_text, e.job_id, \
     e.planned, e.started_at, e.ended_at, \
     (SELECT COUNT(*) FROM replication_tasks t WHERE t.execution_id = e.id), \
     (SELECT COUNT(*) FROM replication_tasks t WHERE t.execution_id = e.id AND t.status = 'Failed'), \
     (SELECT COUNT(*) FROM replication_tasks t WHERE t.execution_id = e.id AND t.status = 'Succeed'), \
     (SELECT COUNT(*) FROM replication_tasks t WHERE t.execution_id = e.id \
        AND t.status IN ('Pending', 'InProgress')), \
     (SELECT COUNT(*) FROM replication_tasks t WHERE t.execution_id = e.id AND t.status = 'Stopped')";

const TASK_COLUMNS: &str = "id, execution_id, status, operation, resource_type, src_repo, dst_repo, plan, done, \
     started_at, ended_at";

#[derive(Serialize, Deserialize)]
struct StoredFilter {
    #[serde(rename = "type")]
    kind: String,
    value: serde_json::Value,
    #[serde(default)]
    decoration: String,
}

#[derive(Serialize, Deserialize)]
struct StoredTrigger {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    cron: String,
}

fn inconsistent(what: &str) -> Error {
    internal(StorageError::Inconsistent(what.to_owned()))
}

fn policy(row: &AnyRow) -> Result<Policy> {
    let get_bool =
        |i: usize| -> Result<bool> { Ok(row.try_get::<i64, _>(i).map_err(internal)? != 0) };
    let filters: String = row.try_get(7).map_err(internal)?;
    let filters: Vec<StoredFilter> =
        serde_json::from_str(&filters).map_err(|_| inconsistent("policy filters"))?;
    let filters = parse_filters(
        &filters
            .into_iter()
            .map(|f| FilterInput {
                kind: f.kind,
                value: f.value,
                decoration: f.decoration,
            })
            .collect::<Vec<_>>(),
    )
    .map_err(|_| inconsistent("policy filters"))?;
    let trig: String = row.try_get(8).map_err(internal)?;
    let trig: StoredTrigger = serde_json::from_str(&trig).map_err(|_| inconsistent("trigger"))?;
    let trigger = Trigger::parse(&trig.kind, &trig.cron).map_err(|_| inconsistent("trigger"))?;
    let count: i64 = row.try_get(6).map_err(internal)?;
    let speed: i64 = row.try_get(12).map_err(internal)?;
    Ok(Policy {
        id: row.try_get(0).map_err(internal)?,
        settings: PolicySettings {
            name: row.try_get(1).map_err(internal)?,
            description: row.try_get(2).map_err(internal)?,
            src_registry: row.try_get(3).map_err(internal)?,
            dest_registry: row.try_get(4).map_err(internal)?,
            dest_namespace: row.try_get(5).map_err(internal)?,
            dest_namespace_replace_count: i8::try_from(count)
                .map_err(|_| inconsistent("replace count"))?,
            filters,
            trigger,
            deletion: get_bool(9)?,
            override_: get_bool(10)?,
            enabled: get_bool(11)?,
            speed_kbps: i32::try_from(speed).map_err(|_| inconsistent("speed"))?,
            copy_by_chunk: get_bool(13)?,
            single_active: get_bool(14)?,
        },
        creator: row.try_get(15).map_err(internal)?,
        created_ms: row.try_get(16).map_err(internal)?,
        updated_ms: row.try_get(17).map_err(internal)?,
    })
}

fn filters_json(s: &PolicySettings) -> Result<String> {
    let list: Vec<StoredFilter> = filter_inputs(&s.filters)
        .into_iter()
        .map(|f| StoredFilter {
            kind: f.kind,
            value: f.value,
            decoration: f.decoration,
        })
        .collect();
    serde_json::to_string(&list).map_err(Error::internal)
}

fn trigger_json(t: &Trigger) -> Result<String> {
    let cron = match t {
        Trigger::Scheduled(c) => c.clone(),
        _ => String::new(),
    };
    serde_json::to_string(&StoredTrigger {
        kind: t.kind().to_owned(),
        cron,
    })
    .map_err(Error::internal)
}

fn execution(row: &AnyRow) -> Result<Execution> {
    let status: String = row.try_get(3).map_err(internal)?;
    let planned: i64 = row.try_get(6).map_err(internal)?;
    Ok(Execution {
        id: row.try_get(0).map_err(internal)?,
        policy_id: row.try_get(1).map_err(internal)?,
        trigger: row.try_get(2).map_err(internal)?,
        status: ExecutionStatus::parse(&status).ok_or_else(|| inconsistent("execution status"))?,
        status_text: row.try_get(4).map_err(internal)?,
        job_id: row.try_get(5).map_err(internal)?,
        planned: planned != 0,
        started_ms: row.try_get(7).map_err(internal)?,
        ended_ms: row.try_get(8).map_err(internal)?,
        counts: TaskCounts {
            total: row.try_get(9).map_err(internal)?,
            failed: row.try_get(10).map_err(internal)?,
            succeed: row.try_get(11).map_err(internal)?,
            in_progress: row.try_get(12).map_err(internal)?,
            stopped: row.try_get(13).map_err(internal)?,
        },
    })
}

fn task(row: &AnyRow) -> Result<Task> {
    let status: String = row.try_get(2).map_err(internal)?;
    let plan: String = row.try_get(7).map_err(internal)?;
    let done: String = row.try_get(8).map_err(internal)?;
    Ok(Task {
        id: row.try_get(0).map_err(internal)?,
        execution_id: row.try_get(1).map_err(internal)?,
        status: TaskStatus::parse(&status).ok_or_else(|| inconsistent("task status"))?,
        plan: NewTask {
            operation: row.try_get(3).map_err(internal)?,
            resource_type: row.try_get(4).map_err(internal)?,
            src_repository: row.try_get(5).map_err(internal)?,
            dst_repository: row.try_get(6).map_err(internal)?,
            references: serde_json::from_str(&plan).map_err(|_| inconsistent("task plan"))?,
        },
        done: serde_json::from_str(&done).map_err(|_| inconsistent("task progress"))?,
        started_ms: row.try_get(9).map_err(internal)?,
        ended_ms: row.try_get(10).map_err(internal)?,
    })
}

fn write_error(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(format!(
            "a replication policy named {name:?} exists already"
        )),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::NotFound("the policy's registry does not exist".into())
        }
        _ => internal(e),
    }
}

async fn get_execution(s: &SqlMetadataStore, id: i64) -> Result<Option<Execution>> {
    let sql = format!("SELECT {EXECUTION_COLUMNS} FROM replication_executions e WHERE e.id = $1");
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&s.read)
        .await
        .map_err(internal)?
        .as_ref()
        .map(execution)
        .transpose()
}

#[async_trait]
impl ReplicationStore for SqlMetadataStore {
    async fn create_replication_policy_emitting(
        &self,
        s: &PolicySettings,
        creator: &str,
        events: &[NewEvent],
    ) -> Result<Policy> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO replication_policies (name, description, src_registry_id,
                 dest_registry_id, dest_namespace, dest_replace_count, filters, trig, deletion,
                 override_tags, enabled, speed_kbps, copy_by_chunk, single_active, creator,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
             RETURNING {POLICY_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&s.name)
            .bind(&s.description)
            .bind(s.src_registry)
            .bind(s.dest_registry)
            .bind(&s.dest_namespace)
            .bind(i64::from(s.dest_namespace_replace_count))
            .bind(filters_json(s)?)
            .bind(trigger_json(&s.trigger)?)
            .bind(i64::from(s.deletion))
            .bind(i64::from(s.override_))
            .bind(i64::from(s.enabled))
            .bind(i64::from(s.speed_kbps))
            .bind(i64::from(s.copy_by_chunk))
            .bind(i64::from(s.single_active))
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

    async fn replication_policy(&self, id: i64) -> Result<Option<Policy>> {
        let sql = format!("SELECT {POLICY_COLUMNS} FROM replication_policies WHERE id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(policy)
            .transpose()
    }

    async fn replication_policies(
        &self,
        q: &PolicyQuery,
        page: Page,
    ) -> Result<(Vec<Policy>, u64)> {
        let mut f = Filter::default();
        if let Some(name) = &q.name {
            f.matches("name", name);
        }
        paged(
            self,
            POLICY_COLUMNS,
            "FROM replication_policies",
            &f,
            "id",
            page,
            policy,
        )
        .await
    }

    async fn push_replication_policies(&self) -> Result<Vec<Policy>> {
        let sql = format!(
            "SELECT {POLICY_COLUMNS} FROM replication_policies
             WHERE src_registry_id IS NULL AND enabled = 1 ORDER BY id"
        );
        sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await
            .map_err(internal)?
            .iter()
            .map(policy)
            .collect()
    }

    async fn update_replication_policy_emitting(
        &self,
        id: i64,
        s: &PolicySettings,
        events: &[NewEvent],
    ) -> Result<Policy> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE replication_policies SET name = $1, description = $2, src_registry_id = $3,
                 dest_registry_id = $4, dest_namespace = $5, dest_replace_count = $6,
                 filters = $7, trig = $8, deletion = $9, override_tags = $10, enabled = $11,
                 speed_kbps = $12, copy_by_chunk = $13, single_active = $14, updated_at = $15
             WHERE id = $16 RETURNING {POLICY_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&s.name)
            .bind(&s.description)
            .bind(s.src_registry)
            .bind(s.dest_registry)
            .bind(&s.dest_namespace)
            .bind(i64::from(s.dest_namespace_replace_count))
            .bind(filters_json(s)?)
            .bind(trigger_json(&s.trigger)?)
            .bind(i64::from(s.deletion))
            .bind(i64::from(s.override_))
            .bind(i64::from(s.enabled))
            .bind(i64::from(s.speed_kbps))
            .bind(i64::from(s.copy_by_chunk))
            .bind(i64::from(s.single_active))
            .bind(now_ms())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| write_error(e, &s.name))?;
        let Some(row) = row else {
            return Err(Error::NotFound(format!(
                "replication policy {id} not found"
            )));
        };
        let changed = policy(&row)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(changed)
    }

    async fn delete_replication_policy_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let active = sqlx::query(
            "SELECT COUNT(*) FROM replication_executions WHERE policy_id = $1 AND status = 'InProgress'",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(internal)?;
        let active: i64 = active.try_get(0).map_err(internal)?;
        if active > 0 {
            return Err(Error::Precondition(format!(
                "replication policy {id} has an execution in progress: stop it first"
            )));
        }
        let done = sqlx::query("DELETE FROM replication_policies WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!(
                "replication policy {id} not found"
            )));
        }
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)
    }

    async fn start_replication(
        &self,
        policy_id: i64,
        trigger: &str,
        events: &[NewEvent],
    ) -> Result<Option<Execution>> {
        let mut tx = self.begin_write().await?;
        let lock = match self.dialect {
            Dialect::Postgres => "SELECT id FROM replication_policies WHERE id = $1 FOR UPDATE",
            Dialect::Sqlite => "SELECT id FROM replication_policies WHERE id = $1",
        };
        let found = sqlx::query(lock)
            .bind(policy_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(internal)?;
        if found.is_none() {
            return Err(Error::NotFound(format!(
                "replication policy {policy_id} not found"
            )));
        }
        let active = sqlx::query(
            "SELECT COUNT(*) FROM replication_executions WHERE policy_id = $1 AND status = 'InProgress'",
        )
        .bind(policy_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(internal)?;
        if active.try_get::<i64, _>(0).map_err(internal)? > 0 {
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO replication_executions (policy_id, trig, status, started_at)
             VALUES ($1, $2, 'InProgress', $3) RETURNING id",
        )
        .bind(policy_id)
        .bind(trigger)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(internal)?;
        let id: i64 = row.try_get(0).map_err(internal)?;
        append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        get_execution(self, id).await
    }

    async fn set_replication_job(&self, id: i64, job_id: i64) -> Result<()> {
        sqlx::query("UPDATE replication_executions SET job_id = $1 WHERE id = $2")
            .bind(job_id)
            .bind(id)
            .execute(&self.write)
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn replication_execution(&self, id: i64) -> Result<Option<Execution>> {
        get_execution(self, id).await
    }

    async fn replication_executions(
        &self,
        q: &ExecutionQuery,
        page: Page,
    ) -> Result<(Vec<Execution>, u64)> {
        let mut f = Filter::default();
        if let Some(p) = q.policy_id {
            f.int("e.policy_id", "=", p);
        }
        if let Some(s) = q.status {
            f.text("e.status", s.as_str());
        }
        if let Some(t) = &q.trigger {
            f.text("e.trig", t);
        }
        paged(
            self,
            EXECUTION_COLUMNS,
            "FROM replication_executions e",
            &f,
            "e.id DESC",
            page,
            execution,
        )
        .await
    }

    async fn plan_replication(&self, id: i64, tasks: &[NewTask]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT planned FROM replication_executions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(internal)?
            .ok_or_else(|| Error::NotFound(format!("replication execution {id} not found")))?;
        if row.try_get::<i64, _>(0).map_err(internal)? != 0 {
            return Ok(());
        }
        for t in tasks {
            let plan = serde_json::to_string(&t.references).map_err(Error::internal)?;
            sqlx::query(
                "INSERT INTO replication_tasks (execution_id, status, operation, resource_type,
                     src_repo, dst_repo, plan)
                 VALUES ($1, 'Pending', $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(&t.operation)
            .bind(&t.resource_type)
            .bind(&t.src_repository)
            .bind(&t.dst_repository)
            .bind(plan)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
        sqlx::query("UPDATE replication_executions SET planned = 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn replication_tasks(&self, execution_id: i64) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM replication_tasks WHERE execution_id = $1 ORDER BY id"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(execution_id)
            .fetch_all(&self.read)
            .await
            .map_err(internal)?
            .iter()
            .map(task)
            .collect()
    }

    async fn replication_task(&self, id: i64) -> Result<Option<Task>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM replication_tasks WHERE id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(task)
            .transpose()
    }

    async fn update_replication_task(
        &self,
        id: i64,
        status: TaskStatus,
        done: &[String],
    ) -> Result<()> {
        let now = now_ms();
        let done = serde_json::to_string(done).map_err(Error::internal)?;
        let q = match status {
            TaskStatus::Pending => sqlx::query(
                "UPDATE replication_tasks SET status = $1, done = $2, ended_at = NULL
                 WHERE id = $3",
            ),
            TaskStatus::InProgress => sqlx::query(
                "UPDATE replication_tasks SET status = $1, done = $2,
                     started_at = COALESCE(started_at, $4), ended_at = NULL
                 WHERE id = $3",
            ),
            _ => sqlx::query(
                "UPDATE replication_tasks SET status = $1, done = $2, ended_at = $4
                 WHERE id = $3",
            ),
        };
        let q = q.bind(status.as_str()).bind(done).bind(id);
        let q = if status == TaskStatus::Pending {
            q
        } else {
            q.bind(now)
        };
        q.execute(&self.write).await.map_err(internal)?;
        Ok(())
    }

    async fn append_replication_log(&self, id: i64, lines: &[(i64, String)]) -> Result<()> {
        super::logs::append(self, &TASK_LOGS, id, lines).await
    }

    async fn replication_log(&self, id: i64) -> Result<Vec<(i64, String)>> {
        super::logs::read(self, &TASK_LOGS, id).await
    }

    async fn finish_replication_emitting(
        &self,
        id: i64,
        status: ExecutionStatus,
        status_text: &str,
        events: &[NewEvent],
    ) -> Result<()> {
        let now = now_ms();
        let leftover = if status == ExecutionStatus::Stopped {
            "Stopped"
        } else {
            "Failed"
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE replication_tasks SET status = $1, ended_at = $2
             WHERE execution_id = $3 AND status IN ('Pending', 'InProgress')",
        )
        .bind(leftover)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        let done = sqlx::query(
            "UPDATE replication_executions SET status = $1, status_text = $2, ended_at = $3
             WHERE id = $4 AND status = 'InProgress'",
        )
        .bind(status.as_str())
        .bind(status_text)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if done.rows_affected() == 1 {
            append(&mut tx, self.dialect, events).await?;
        }
        tx.commit().await.map_err(internal)
    }
}
