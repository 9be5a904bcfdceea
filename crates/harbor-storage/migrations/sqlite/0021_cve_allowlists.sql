-- CVE allowlists (Harbor's cve_allowlist): the system list (project_id 0) and one per
-- project. `project` repeats a project's id for the foreign key (NULL for the system
-- list), so deleting a project deletes its list. `items` is a JSON array of ids;
-- `expires_at` is in seconds since the Unix epoch, NULL for never.
CREATE TABLE cve_allowlists (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT  NOT NULL UNIQUE,
    project     BIGINT  REFERENCES projects(id) ON DELETE CASCADE,
    expires_at  BIGINT,
    items       TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    CHECK ((project_id = 0 AND project IS NULL) OR project = project_id)
);
