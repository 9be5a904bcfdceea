-- Replication policies, their executions, tasks and task logs. A policy's registry
-- endpoint cannot be deleted while the policy exists (no ON DELETE: the delete fails).
-- `src_registry_id` NULL is this registry (push-based), `dest_registry_id` NULL likewise
-- (pull-based). `filters` and `trig` are JSON; `plan` and `done` of a task are JSON lists.
CREATE TABLE replication_policies (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    name                 TEXT    NOT NULL UNIQUE,
    description          TEXT    NOT NULL DEFAULT '',
    src_registry_id      BIGINT  REFERENCES registries(id),
    dest_registry_id     BIGINT  REFERENCES registries(id),
    dest_namespace       TEXT    NOT NULL DEFAULT '',
    dest_replace_count   INTEGER NOT NULL DEFAULT -1,
    filters              TEXT    NOT NULL DEFAULT '{}',
    trig                 TEXT    NOT NULL DEFAULT '{}',
    deletion             INTEGER NOT NULL DEFAULT 0,
    override_tags        INTEGER NOT NULL DEFAULT 1,
    enabled              INTEGER NOT NULL DEFAULT 1,
    speed_kbps           INTEGER NOT NULL DEFAULT 0,
    copy_by_chunk        INTEGER NOT NULL DEFAULT 0,
    single_active        INTEGER NOT NULL DEFAULT 0,
    creator              TEXT    NOT NULL DEFAULT '',
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);
CREATE INDEX replication_policies_by_src ON replication_policies(src_registry_id);
CREATE INDEX replication_policies_by_dest ON replication_policies(dest_registry_id);

CREATE TABLE replication_executions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_id    BIGINT  NOT NULL REFERENCES replication_policies(id) ON DELETE CASCADE,
    trig         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    status_text  TEXT    NOT NULL DEFAULT '',
    job_id       BIGINT,
    planned      INTEGER NOT NULL DEFAULT 0,
    started_at   BIGINT  NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX replication_executions_by_policy ON replication_executions(policy_id, id);
CREATE INDEX replication_executions_active ON replication_executions(policy_id) WHERE status = 'InProgress';

CREATE TABLE replication_tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id  BIGINT  NOT NULL REFERENCES replication_executions(id) ON DELETE CASCADE,
    status        TEXT    NOT NULL,
    operation     TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    src_repo      TEXT    NOT NULL,
    dst_repo      TEXT    NOT NULL,
    plan          TEXT    NOT NULL,
    done          TEXT    NOT NULL DEFAULT '[]',
    started_at    BIGINT,
    ended_at      BIGINT
);
CREATE INDEX replication_tasks_by_execution ON replication_tasks(execution_id, id);

CREATE TABLE replication_task_logs (
    task_id  BIGINT NOT NULL REFERENCES replication_tasks(id) ON DELETE CASCADE,
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    BIGINT NOT NULL,
    line     TEXT   NOT NULL
);
CREATE INDEX replication_task_logs_by_task ON replication_task_logs(task_id, seq);
