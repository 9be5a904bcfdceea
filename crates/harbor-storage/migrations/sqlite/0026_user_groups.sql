-- User groups (Harbor's /usergroups) and group members of projects.
-- group_type: 1 LDAP (keyed by its DN), 2 HTTP auth proxy, 3 OIDC (keyed by type and name).
CREATE TABLE user_groups (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    group_type    BIGINT  NOT NULL,
    ldap_group_dn TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX user_groups_by_name ON user_groups(group_type, name) WHERE group_type <> 1;
CREATE UNIQUE INDEX user_groups_by_dn ON user_groups(ldap_group_dn) WHERE group_type = 1;

-- Which users belong to which groups (filled at sign-in by LDAP, OIDC, the auth proxy).
CREATE TABLE user_group_members (
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id  BIGINT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_group_members_by_group ON user_group_members(group_id);

-- A project member is a user or a group: project_members is rebuilt with user_id
-- optional and group_id added (SQLite cannot drop a NOT NULL in place). Nothing refers
-- to project_members; ids and the AUTOINCREMENT high-water mark are kept.
CREATE TABLE project_members_v2 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id     BIGINT  REFERENCES users(id) ON DELETE CASCADE,
    role        BIGINT  NOT NULL,
    group_id    BIGINT  REFERENCES user_groups(id) ON DELETE CASCADE,
    CHECK ((user_id IS NULL) <> (group_id IS NULL)),
    UNIQUE (project_id, user_id),
    UNIQUE (project_id, group_id)
);
INSERT INTO project_members_v2 (id, project_id, user_id, role)
    SELECT id, project_id, user_id, role FROM project_members;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'project_members_v2', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'project_members_v2');
UPDATE sqlite_sequence
    SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'project_members'), 0))
    WHERE name = 'project_members_v2';
DROP TABLE project_members;
ALTER TABLE project_members_v2 RENAME TO project_members;
CREATE INDEX project_members_by_user ON project_members(user_id);
CREATE INDEX project_members_by_group ON project_members(group_id);
