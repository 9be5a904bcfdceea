-- System settings changed at run time through /api/v2.0/configurations (read_only, ...),
-- shared by every replica: one row per setting, the value as JSON.
CREATE TABLE system_settings (
    name        TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);
