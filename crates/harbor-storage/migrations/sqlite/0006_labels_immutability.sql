-- Labels and tag immutability rules. Timestamps are milliseconds since the Unix epoch.

-- Labels: scope 'g' (global, project_id NULL) or 'p' (a project's). Names are unique per
-- scope and project.
CREATE TABLE labels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    color       TEXT    NOT NULL DEFAULT '',
    scope       TEXT    NOT NULL,
    project_id  BIGINT  REFERENCES projects(id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX labels_by_name ON labels(scope, COALESCE(project_id, 0), name);
CREATE INDEX labels_by_project ON labels(project_id) WHERE project_id IS NOT NULL;

-- Labels attached to artifacts (manifest rows); both sides cascade.
CREATE TABLE artifact_labels (
    manifest_id BIGINT NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    label_id    BIGINT NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (manifest_id, label_id)
);
CREATE INDEX artifact_labels_by_label ON artifact_labels(label_id, manifest_id);

-- Tag immutability rules: one repository selector and one tag selector (doublestar
-- patterns; *_exclude 1 = "excludes"). The same selectors at most once per project.
CREATE TABLE immutable_rules (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id      BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    priority        BIGINT  NOT NULL DEFAULT 0,
    disabled        BIGINT  NOT NULL DEFAULT 0,
    repo_exclude    BIGINT  NOT NULL,
    repo_pattern    TEXT    NOT NULL,
    tag_exclude     BIGINT  NOT NULL,
    tag_pattern     TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    UNIQUE (project_id, repo_exclude, repo_pattern, tag_exclude, tag_pattern)
);
