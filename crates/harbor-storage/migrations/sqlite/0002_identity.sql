-- Identity and tenancy: users, projects, members, robot accounts, web sessions, the audit
-- log and the shared token-signing key.
-- Timestamps are milliseconds since the Unix epoch; flags are 0/1 integers.
-- Ids of users, projects, members and robots are never reused (AUTOINCREMENT): a project
-- whose owner was deleted must not pass to the next user created.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    email         TEXT    UNIQUE,
    realname      TEXT    NOT NULL,
    comment       TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    sysadmin      BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- No foreign key on the owner: deleting a user keeps their projects.
CREATE TABLE projects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    owner_id    BIGINT  NOT NULL,
    public      BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- role: Harbor's role id (1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest).
CREATE TABLE project_members (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id     BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        BIGINT  NOT NULL,
    UNIQUE (project_id, user_id)
);
CREATE INDEX project_members_by_user ON project_members(user_id);

-- project_id 0 = system level; no foreign key: deleting a project deletes its robots.
-- permissions: JSON array of Harbor's robot permissions.
CREATE TABLE robots (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    description   TEXT    NOT NULL,
    project_id    BIGINT  NOT NULL,
    secret_hash   TEXT    NOT NULL,
    disabled      BIGINT  NOT NULL DEFAULT 0,
    duration_days BIGINT  NOT NULL,
    expires_at    BIGINT,
    permissions   TEXT    NOT NULL,
    creator       TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX robots_by_project ON robots(project_id);

-- Web sessions, by the SHA-256 of their cookie.
CREATE TABLE sessions (
    id_hash     TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    project_id    BIGINT,
    username      TEXT    NOT NULL,
    operation     TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource      TEXT    NOT NULL,
    op_time       BIGINT  NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log(op_time);
CREATE INDEX audit_log_by_project ON audit_log(project_id, op_time);

-- The one token-signing key every replica shares.
CREATE TABLE signing_keys (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    key         BLOB    NOT NULL,
    created_at  BIGINT  NOT NULL
);
