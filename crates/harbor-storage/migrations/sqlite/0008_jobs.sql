-- Durable background jobs (harbor_core::jobs): the queue, each job's log, and the cron
-- schedules that enqueue jobs. Timestamps are milliseconds since the Unix epoch.

-- Schedules: `name` is the key callers use ("gc", "retention:12"); `next_run` NULL = never.
-- Firing compares and sets `next_run` in the transaction that enqueues the job.
CREATE TABLE job_schedules (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    cron          TEXT    NOT NULL,
    schedule_type TEXT    NOT NULL,
    params        TEXT    NOT NULL DEFAULT '{}',
    next_run      BIGINT,
    paused        BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX job_schedules_due ON job_schedules(next_run) WHERE next_run IS NOT NULL;

-- Jobs: status is Harbor's ("Pending", "Running", "Success", "Error", "Stopped").
-- A Running job belongs to `worker` until `lease_until`. `lock_key` is the kind of a
-- Running job of an exclusive kind (NULL otherwise): its unique index lets at most one
-- such job run at a time.
CREATE TABLE jobs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL,
    params         TEXT    NOT NULL DEFAULT '{}',
    job_trigger    TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    attempts       BIGINT  NOT NULL DEFAULT 0,
    max_attempts   BIGINT  NOT NULL,
    run_after      BIGINT  NOT NULL,
    worker         TEXT,
    lease_until    BIGINT,
    lock_key       TEXT,
    stop_requested BIGINT  NOT NULL DEFAULT 0,
    progress       TEXT    NOT NULL DEFAULT '{}',
    error          TEXT,
    schedule_id    BIGINT  REFERENCES job_schedules(id) ON DELETE SET NULL,
    created_at     BIGINT  NOT NULL,
    started_at     BIGINT,
    updated_at     BIGINT  NOT NULL,
    finished_at    BIGINT
);
CREATE INDEX jobs_pending ON jobs(run_after, id) WHERE status = 'Pending';
CREATE INDEX jobs_running ON jobs(lease_until) WHERE status = 'Running';
CREATE INDEX jobs_by_kind ON jobs(kind, id);
CREATE INDEX jobs_by_status ON jobs(status, id);
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_by_schedule ON jobs(schedule_id) WHERE schedule_id IS NOT NULL;
CREATE UNIQUE INDEX jobs_exclusive ON jobs(lock_key) WHERE lock_key IS NOT NULL;

-- Log lines of a job, in `id` order; deleted with the job.
CREATE TABLE job_logs (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id  BIGINT  NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    at      BIGINT  NOT NULL,
    line    TEXT    NOT NULL
);
CREATE INDEX job_logs_by_job ON job_logs(job_id, id);
