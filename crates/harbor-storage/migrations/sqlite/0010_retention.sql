-- Tag retention policies: at most one per project, stored as Harbor's RetentionPolicy
-- JSON. Timestamps are milliseconds since the Unix epoch.
CREATE TABLE retention_policies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT  NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
    policy      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
