//! The durable job queue, job logs and cron schedules (`migrations/*/0008_jobs.sql`).
//!
//! Claiming takes the oldest claimable row in the store's write transaction: on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over rows another
//! claimer holds instead of waiting for it or taking the same row; SQLite has one writer
//! (`BEGIN IMMEDIATE`), so the same statement without the lock clause is enough. A
//! running job of an exclusive kind carries its kind in `lock_key`, which has a unique
//! index: two claimers racing for two jobs of such a kind cannot both commit, and the
//! loser simply tries again (and then sees the kind taken).

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::identity::{Match, Page};
use harbor_core::jobs::{
    Heartbeat, Job, JobQuery, JobStatus, JobStore, NewJob, NewSchedule, Outcome, Schedule, Trigger,
};
use harbor_core::model::now_ms;
use harbor_core::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row};

use super::identity::{Filter, paged};
use super::{Dialect, SqlMetadataStore, placeholders};
use crate::error::{StorageError, internal};

const JOB_COLUMNS: &str = "id, kind, params, job_trigger, status, attempts, max_attempts, \
     run_after, worker, lease_until, stop_requested, progress, error, schedule_id, \
     created_at, started_at, updated_at, finished_at";

const SCHEDULE_COLUMNS: &str = "id, name, kind, cron, schedule_type, params, next_run, \
     paused, created_at, updated_at";

/// Statuses of jobs that will not run again.
const FINAL: &str = "('Success', 'Error', 'Stopped')";

/// Log lines per `INSERT`.
const JOB_LOGS: super::logs::LogTable = super::logs::LogTable {
    insert: "job_logs (job_id, at, line)",
    select: "SELECT at, line FROM job_logs WHERE job_id = $1 ORDER BY id",
    owner: "job",
};

/// How often a claim starts over after losing a race for an exclusive kind, and how many
/// dead jobs one claim may end before giving up for this round.
const CLAIM_TRIES: usize = 5;
const DEAD_PER_CLAIM: usize = 100;

fn inconsistent(what: String) -> Error {
    internal(StorageError::Inconsistent(what))
}

fn count(row: &AnyRow, i: usize) -> Result<u32> {
    let v: i64 = row.try_get(i).map_err(internal)?;
    u32::try_from(v).map_err(|_| inconsistent(format!("job counter {v} out of range")))
}

fn job(row: &AnyRow) -> Result<Job> {
    let trigger: String = row.try_get(3).map_err(internal)?;
    let status: String = row.try_get(4).map_err(internal)?;
    let stop: i64 = row.try_get(10).map_err(internal)?;
    Ok(Job {
        id: row.try_get(0).map_err(internal)?,
        kind: row.try_get(1).map_err(internal)?,
        params: row.try_get(2).map_err(internal)?,
        trigger: Trigger::parse(&trigger)
            .ok_or_else(|| inconsistent(format!("unknown job trigger {trigger:?}")))?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| inconsistent(format!("unknown job status {status:?}")))?,
        attempts: count(row, 5)?,
        max_attempts: count(row, 6)?,
        run_after_ms: row.try_get(7).map_err(internal)?,
        worker: row.try_get(8).map_err(internal)?,
        lease_until_ms: row.try_get(9).map_err(internal)?,
        stop_requested: stop != 0,
        progress: row.try_get(11).map_err(internal)?,
        error: row.try_get(12).map_err(internal)?,
        schedule_id: row.try_get(13).map_err(internal)?,
        created_at: row.try_get(14).map_err(internal)?,
        started_at: row.try_get(15).map_err(internal)?,
        updated_at: row.try_get(16).map_err(internal)?,
        finished_at: row.try_get(17).map_err(internal)?,
    })
}

fn schedule(row: &AnyRow) -> Result<Schedule> {
    let paused: i64 = row.try_get(7).map_err(internal)?;
    Ok(Schedule {
        id: row.try_get(0).map_err(internal)?,
        name: row.try_get(1).map_err(internal)?,
        kind: row.try_get(2).map_err(internal)?,
        cron: row.try_get(3).map_err(internal)?,
        schedule_type: row.try_get(4).map_err(internal)?,
        params: row.try_get(5).map_err(internal)?,
        next_run_ms: row.try_get(6).map_err(internal)?,
        paused: paused != 0,
        created_at: row.try_get(8).map_err(internal)?,
        updated_at: row.try_get(9).map_err(internal)?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Inserts a `Pending` job.
async fn insert_job<'e, E>(exec: E, new: &NewJob, now: i64) -> Result<Job>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let sql = format!(
        "INSERT INTO jobs (kind, params, job_trigger, status, max_attempts, run_after,
         schedule_id, created_at, updated_at)
         VALUES ($1, $2, $3, 'Pending', $4, $5, $6, $7, $7) RETURNING {JOB_COLUMNS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(&new.kind)
        .bind(&new.params)
        .bind(new.trigger.as_str())
        .bind(i64::from(new.max_attempts.max(1)))
        .bind(new.run_after_ms)
        .bind(new.schedule_id)
        .bind(now)
        .fetch_one(exec)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Error::NotFound("the job's schedule does not exist".into())
            }
            _ => internal(e),
        })?;
    job(&row)
}

/// The advisory lock key that serialises [`JobStore::enqueue_exclusive`] for one kind on
/// PostgreSQL: FNV-1a of the kind, under a prefix of its own.
fn kind_lock(kind: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"job-kind:".iter().chain(kind.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// What one claim transaction ended with.
enum Claimed {
    Job(Box<Job>),
    Nothing,
    /// Lost a race for an exclusive kind: try again.
    Race,
}

/// One claim transaction.
async fn claim_once(
    s: &SqlMetadataStore,
    worker: &str,
    kinds: &[String],
    exclusive: &[String],
    lease_ms: i64,
    now: i64,
) -> Result<Claimed> {
    // $1 = now, then the kinds, then the exclusive kinds.
    let kind_list = placeholders(2, kinds.len());
    let exclusive_clause = if exclusive.is_empty() {
        String::new()
    } else {
        format!(
            " AND (j.kind NOT IN ({}) OR NOT EXISTS \
             (SELECT 1 FROM jobs r WHERE r.lock_key = j.kind))",
            placeholders(2 + kinds.len(), exclusive.len())
        )
    };
    let lock = match s.dialect {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let select = format!(
        "SELECT j.id, j.kind, j.status, j.attempts, j.max_attempts, j.stop_requested
         FROM jobs j
         WHERE j.kind IN ({kind_list})
           AND ((j.status = 'Pending' AND j.run_after <= $1{exclusive_clause})
             OR (j.status = 'Running' AND j.lease_until < $1))
         ORDER BY j.run_after, j.id LIMIT 1{lock}"
    );
    let mut tx = s.begin_write().await?;
    for _ in 0..DEAD_PER_CLAIM {
        let mut q = sqlx::query(AssertSqlSafe(select.as_str())).bind(now);
        for k in kinds.iter().chain(exclusive) {
            q = q.bind(k.as_str());
        }
        let Some(row) = q.fetch_optional(&mut *tx).await.map_err(internal)? else {
            tx.commit().await.map_err(internal)?;
            return Ok(Claimed::Nothing);
        };
        let id: i64 = row.try_get(0).map_err(internal)?;
        let kind: String = row.try_get(1).map_err(internal)?;
        let status: String = row.try_get(2).map_err(internal)?;
        let attempts: i64 = row.try_get(3).map_err(internal)?;
        let max_attempts: i64 = row.try_get(4).map_err(internal)?;
        let stop: i64 = row.try_get(5).map_err(internal)?;
        if status == "Running" && (stop != 0 || attempts >= max_attempts) {
            // Its worker died: end it rather than run it again.
            let (status, error) = if stop != 0 {
                ("Stopped", None)
            } else {
                ("Error", Some("worker lost"))
            };
            sqlx::query(
                "UPDATE jobs SET status = $1, error = COALESCE($2, error), lease_until = NULL,
                 lock_key = NULL, updated_at = $3, finished_at = $3 WHERE id = $4",
            )
            .bind(status)
            .bind(error)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
            continue;
        }
        let lock_key = exclusive.contains(&kind).then_some(kind);
        let update = format!(
            "UPDATE jobs SET status = 'Running', worker = $1, lease_until = $2,
             attempts = attempts + 1, lock_key = $3, started_at = COALESCE(started_at, $4),
             updated_at = $4 WHERE id = $5 RETURNING {JOB_COLUMNS}"
        );
        let updated = sqlx::query(AssertSqlSafe(update))
            .bind(worker)
            .bind(now.saturating_add(lease_ms))
            .bind(lock_key)
            .bind(now)
            .bind(id)
            .fetch_one(&mut *tx)
            .await;
        let row = match updated {
            Ok(row) => row,
            // Another claimer took a job of this exclusive kind meanwhile.
            Err(e) if is_unique_violation(&e) => return Ok(Claimed::Race),
            Err(e) => return Err(internal(e)),
        };
        let claimed = job(&row)?;
        tx.commit().await.map_err(internal)?;
        return Ok(Claimed::Job(Box::new(claimed)));
    }
    // Many dead jobs: keep what was ended, claim next time.
    tx.commit().await.map_err(internal)?;
    Ok(Claimed::Nothing)
}

#[async_trait]
impl JobStore for SqlMetadataStore {
    async fn enqueue(&self, new: &NewJob) -> Result<Job> {
        insert_job(&self.write, new, now_ms()).await
    }

    async fn enqueue_emitting(
        &self,
        new: &NewJob,
        events: &(dyn for<'j> Fn(&'j Job) -> Vec<NewEvent> + Send + Sync),
    ) -> Result<Job> {
        let mut tx = self.begin_write().await?;
        let created = insert_job(&mut *tx, new, now_ms()).await?;
        super::events::append(&mut tx, self.dialect, &events(&created)).await?;
        tx.commit().await.map_err(internal)?;
        Ok(created)
    }

    async fn enqueue_exclusive(
        &self,
        new: &NewJob,
        events: &(dyn for<'j> Fn(&'j Job) -> Vec<NewEvent> + Send + Sync),
    ) -> Result<std::result::Result<Job, Job>> {
        let mut tx = self.begin_write().await?;
        if self.dialect == Dialect::Postgres {
            // Callers for one kind queue up here; SQLite's writer lock does the same.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(kind_lock(&new.kind))
                .execute(&mut *tx)
                .await
                .map_err(internal)?;
        }
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 AND status IN ('Pending', 'Running') \
             ORDER BY id LIMIT 1"
        );
        let active = sqlx::query(AssertSqlSafe(sql))
            .bind(&new.kind)
            .fetch_optional(&mut *tx)
            .await
            .map_err(internal)?;
        if let Some(row) = active {
            return Ok(Err(job(&row)?));
        }
        let created = insert_job(&mut *tx, new, now_ms()).await?;
        super::events::append(&mut tx, self.dialect, &events(&created)).await?;
        tx.commit().await.map_err(internal)?;
        Ok(Ok(created))
    }

    async fn job(&self, id: i64) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(job)
            .transpose()
    }

    async fn jobs(&self, query: &JobQuery, page: Page) -> Result<(Vec<Job>, u64)> {
        let mut f = Filter::default();
        if let Some(kind) = &query.kind {
            f.matches("kind", &Match::Exact(kind.clone()));
        }
        if let Some(status) = query.status {
            f.matches("status", &Match::Exact(status.as_str().into()));
        }
        paged(self, JOB_COLUMNS, "FROM jobs", &f, "id DESC", page, job).await
    }

    async fn claim(
        &self,
        worker: &str,
        kinds: &[String],
        exclusive: &[String],
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Option<Job>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        for _ in 0..CLAIM_TRIES {
            match claim_once(self, worker, kinds, exclusive, lease_ms, now_ms).await {
                Ok(Claimed::Job(j)) => return Ok(Some(*j)),
                Ok(Claimed::Nothing) => return Ok(None),
                Ok(Claimed::Race) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    async fn heartbeat(
        &self,
        id: i64,
        worker: &str,
        lease_until_ms: i64,
        progress: Option<&str>,
    ) -> Result<Heartbeat> {
        let row = sqlx::query(
            "UPDATE jobs SET lease_until = $1, progress = COALESCE($2, progress), updated_at = $3
             WHERE id = $4 AND worker = $5 AND status = 'Running' RETURNING stop_requested",
        )
        .bind(lease_until_ms)
        .bind(progress)
        .bind(now_ms())
        .bind(id)
        .bind(worker)
        // Run to its end (`fetch_all`): SQLite commits a statement outside a transaction
        // when it finishes, and one dropped after its first row loses a failed commit's error
        // (a full disk): the write would be acknowledged but not stored.
        .fetch_all(&self.write)
        .await
        .map_err(internal)?;
        Ok(match row.first() {
            Some(row) => {
                let stop: i64 = row.try_get(0).map_err(internal)?;
                Heartbeat {
                    owned: true,
                    stop_requested: stop != 0,
                }
            }
            None => Heartbeat {
                owned: false,
                stop_requested: false,
            },
        })
    }

    async fn finish_emitting(
        &self,
        id: i64,
        worker: &str,
        outcome: &Outcome,
        now_ms: i64,
        events: &(dyn for<'j> Fn(&'j Job) -> Vec<NewEvent> + Send + Sync),
    ) -> Result<bool> {
        let owned =
            format!("WHERE id = $1 AND worker = $2 AND status = 'Running' RETURNING {JOB_COLUMNS}");
        let q = match outcome {
            Outcome::Success | Outcome::Stopped => {
                let status = if *outcome == Outcome::Success {
                    JobStatus::Success
                } else {
                    JobStatus::Stopped
                };
                let sql = format!(
                    "UPDATE jobs SET status = $3, lease_until = NULL, lock_key = NULL,
                     updated_at = $4, finished_at = $4 {owned}"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(id)
                    .bind(worker)
                    .bind(status.as_str())
                    .bind(now_ms)
            }
            Outcome::Failed { error, retry_at_ms } => {
                // Retry only with a time, attempts left and no stop requested.
                let retry = "$4 = 1 AND attempts < max_attempts AND stop_requested = 0";
                let sql = format!(
                    "UPDATE jobs SET
                     status = CASE WHEN {retry} THEN 'Pending' ELSE 'Error' END,
                     run_after = CASE WHEN {retry} THEN $5 ELSE run_after END,
                     finished_at = CASE WHEN {retry} THEN NULL ELSE $6 END,
                     worker = CASE WHEN {retry} THEN NULL ELSE worker END,
                     error = $3, lease_until = NULL, lock_key = NULL, updated_at = $6 {owned}"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(id)
                    .bind(worker)
                    .bind(error.as_str())
                    .bind(i64::from(retry_at_ms.is_some()))
                    .bind(retry_at_ms.unwrap_or(0))
                    .bind(now_ms)
            }
        };
        let mut tx = self.begin_write().await?;
        let Some(row) = q.fetch_optional(&mut *tx).await.map_err(internal)? else {
            return Ok(false);
        };
        let finished = job(&row)?;
        super::events::append(&mut tx, self.dialect, &events(&finished)).await?;
        tx.commit().await.map_err(internal)?;
        Ok(true)
    }

    async fn release(&self, id: i64, worker: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET
             status = CASE WHEN stop_requested = 1 THEN 'Stopped' ELSE 'Pending' END,
             finished_at = CASE WHEN stop_requested = 1 THEN $3 ELSE NULL END,
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
             worker = NULL, lease_until = NULL, lock_key = NULL, run_after = $3, updated_at = $3
             WHERE id = $1 AND worker = $2 AND status = 'Running'",
        )
        .bind(id)
        .bind(worker)
        .bind(now_ms)
        .execute(&self.write)
        .await
        .map_err(internal)?;
        Ok(done.rows_affected() > 0)
    }

    async fn request_stop_emitting(
        &self,
        id: i64,
        now_ms: i64,
        events: &[NewEvent],
    ) -> Result<Option<Job>> {
        let mut tx = self.begin_write().await?;
        // Every expression sees the row as it was before the update.
        let sql = format!(
            "UPDATE jobs SET
             status = CASE WHEN status = 'Pending' THEN 'Stopped' ELSE status END,
             finished_at = CASE WHEN status = 'Pending' THEN $2 ELSE finished_at END,
             stop_requested = CASE WHEN status IN ('Pending', 'Running') THEN 1
                                   ELSE stop_requested END,
             updated_at = CASE WHEN status IN ('Pending', 'Running') THEN $2
                               ELSE updated_at END
             WHERE id = $1 RETURNING {JOB_COLUMNS}"
        );
        let found = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await
            .map_err(internal)?
            .as_ref()
            .map(job)
            .transpose()?;
        if found.is_some() {
            super::events::append(&mut tx, self.dialect, events).await?;
        }
        tx.commit().await.map_err(internal)?;
        Ok(found)
    }

    async fn append_log(&self, id: i64, lines: &[(i64, String)]) -> Result<()> {
        super::logs::append(self, &JOB_LOGS, id, lines).await
    }

    async fn job_log(&self, id: i64) -> Result<Vec<(i64, String)>> {
        super::logs::read(self, &JOB_LOGS, id).await
    }

    async fn put_schedule_emitting(
        &self,
        new: &NewSchedule,
        events: &[NewEvent],
    ) -> Result<Schedule> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO job_schedules (name, kind, cron, schedule_type, params, next_run,
             paused, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, cron = excluded.cron,
             schedule_type = excluded.schedule_type, params = excluded.params,
             next_run = excluded.next_run, paused = excluded.paused,
             updated_at = excluded.updated_at
             RETURNING {SCHEDULE_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&new.name)
            .bind(&new.kind)
            .bind(&new.cron)
            .bind(&new.schedule_type)
            .bind(&new.params)
            .bind(new.next_run_ms)
            .bind(i64::from(new.paused))
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(internal)?;
        let stored = schedule(&row)?;
        super::events::append(&mut tx, self.dialect, events).await?;
        tx.commit().await.map_err(internal)?;
        Ok(stored)
    }

    async fn schedule(&self, name: &str) -> Result<Option<Schedule>> {
        let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM job_schedules WHERE name = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(schedule)
            .transpose()
    }

    async fn schedules(&self) -> Result<Vec<Schedule>> {
        let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM job_schedules ORDER BY name");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await
            .map_err(internal)?;
        rows.iter().map(schedule).collect()
    }

    async fn delete_schedule_emitting(&self, name: &str, events: &[NewEvent]) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM job_schedules WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            super::events::append(&mut tx, self.dialect, events).await?;
        }
        tx.commit().await.map_err(internal)?;
        Ok(deleted)
    }

    async fn set_schedule_paused(&self, name: &str, paused: bool) -> Result<bool> {
        let done =
            sqlx::query("UPDATE job_schedules SET paused = $1, updated_at = $2 WHERE name = $3")
                .bind(i64::from(paused))
                .bind(now_ms())
                .bind(name)
                .execute(&self.write)
                .await
                .map_err(internal)?;
        Ok(done.rows_affected() > 0)
    }

    async fn due_schedules(&self, now_ms: i64) -> Result<Vec<Schedule>> {
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM job_schedules
             WHERE next_run IS NOT NULL AND next_run <= $1 AND paused = 0
             ORDER BY next_run, id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(now_ms)
            .fetch_all(&self.read)
            .await
            .map_err(internal)?;
        rows.iter().map(schedule).collect()
    }

    async fn fire_schedule(
        &self,
        id: i64,
        expected_next_run_ms: i64,
        new_next_run_ms: Option<i64>,
        new: &NewJob,
    ) -> Result<Option<Job>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE job_schedules SET next_run = $1, updated_at = $2
             WHERE id = $3 AND next_run = $4 AND paused = 0",
        )
        .bind(new_next_run_ms)
        .bind(now)
        .bind(id)
        .bind(expected_next_run_ms)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if moved.rows_affected() == 0 {
            return Ok(None);
        }
        let fired = NewJob {
            schedule_id: Some(id),
            ..new.clone()
        };
        let created = insert_job(&mut *tx, &fired, now).await?;
        tx.commit().await.map_err(internal)?;
        Ok(Some(created))
    }

    async fn delete_jobs_before(&self, kind: Option<&str>, before_ms: i64) -> Result<u64> {
        let sql = format!(
            "DELETE FROM jobs WHERE status IN {FINAL} AND finished_at < $1{}",
            if kind.is_some() { " AND kind = $2" } else { "" }
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(before_ms);
        if let Some(kind) = kind {
            q = q.bind(kind);
        }
        let done = q.execute(&self.write).await.map_err(internal)?;
        Ok(done.rows_affected())
    }
}
