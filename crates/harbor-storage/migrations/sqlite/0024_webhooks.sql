-- Webhook policies (Harbor's notification_policy) and their deliveries (Harbor's
-- executions with one task each). `targets` is a JSON array (auth headers sealed);
-- `event_types` a JSON array of Harbor's names. The breaker columns are the policy's
-- circuit breaker, shared by every replica.
CREATE TABLE webhook_policies (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id          BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    description         TEXT    NOT NULL DEFAULT '',
    targets             TEXT    NOT NULL,
    event_types         TEXT    NOT NULL,
    enabled             INTEGER NOT NULL DEFAULT 1,
    creator             TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    breaker_failures    BIGINT  NOT NULL DEFAULT 0,
    breaker_open_until  BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (project_id, name)
);

-- One row per (policy, target, outbox event): queued once, sent until it succeeds or its
-- attempts run out. `order_key` (the repository, else the project) orders deliveries to
-- one target. A claim holds `lease_token` until `lease_until`; an expired lease makes the
-- delivery claimable again (a replica that died mid-send). `log` holds one line per attempt.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_id        BIGINT  NOT NULL REFERENCES webhook_policies(id) ON DELETE CASCADE,
    target           BIGINT  NOT NULL,
    event_id         BIGINT  NOT NULL,
    event_type       TEXT    NOT NULL,
    order_key        TEXT    NOT NULL,
    uuid             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    occurred_at      BIGINT  NOT NULL,
    status           TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    status_text      TEXT    NOT NULL DEFAULT '',
    lease_token      TEXT,
    lease_until      BIGINT  NOT NULL DEFAULT 0,
    log              TEXT    NOT NULL DEFAULT '',
    created_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    ended_at         BIGINT,
    updated_at       BIGINT  NOT NULL,
    UNIQUE (policy_id, target, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('Pending', 'Running');
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (policy_id, target, order_key, id)
    WHERE status IN ('Pending', 'Running');
CREATE INDEX webhook_deliveries_policy ON webhook_deliveries (policy_id, id);
CREATE INDEX webhook_deliveries_ended ON webhook_deliveries (ended_at) WHERE ended_at IS NOT NULL;
