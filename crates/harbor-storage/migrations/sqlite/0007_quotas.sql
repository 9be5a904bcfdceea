-- Storage quotas (docs/quotas.md): one quota per project, and the set of digests charged
-- to it. `used` is always the sum of `size` over the project's `project_blobs` rows, and
-- that set is always the set of digests the project references (linked blobs, manifests
-- and the blobs its manifests reference); every change to either happens in the
-- transaction that links, records or deletes.
-- hard: bytes, -1 = unlimited.

CREATE TABLE project_quotas (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT  NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
    hard        BIGINT  NOT NULL,
    used        BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- Each digest charged to a project, once, with the size charged for it.
CREATE TABLE project_blobs (
    project_id  BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    digest      TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (project_id, digest)
);

-- "Is this digest still a manifest somewhere in the project?" on release.
CREATE INDEX manifests_by_digest ON manifests(digest);

-- Existing projects: unlimited, with their usage counted from what they hold.
INSERT INTO project_quotas (project_id, hard, used, created_at, updated_at)
    SELECT id, -1, 0, created_at, created_at FROM projects;

INSERT INTO project_blobs (project_id, digest, size, created_at)
    SELECT project_id, digest, MAX(size), 0 FROM (
        SELECT r.project_id AS project_id, rb.digest AS digest, b.size AS size
            FROM repository_blobs rb
            JOIN repositories r ON r.id = rb.repository_id
            JOIN projects p ON p.id = r.project_id
            JOIN blobs b ON b.digest = rb.digest
        UNION ALL
        SELECT r.project_id, m.digest, m.size
            FROM manifests m
            JOIN repositories r ON r.id = m.repository_id
            JOIN projects p ON p.id = r.project_id
        UNION ALL
        SELECT r.project_id, mr.digest, b.size
            FROM manifest_references mr
            JOIN manifests m ON m.id = mr.manifest_id
            JOIN repositories r ON r.id = m.repository_id
            JOIN projects p ON p.id = r.project_id
            JOIN blobs b ON b.digest = mr.digest
            WHERE mr.kind = 0
    ) AS referenced
    GROUP BY project_id, digest;

UPDATE project_quotas SET used = COALESCE(
    (SELECT SUM(pb.size) FROM project_blobs pb WHERE pb.project_id = project_quotas.project_id),
    0);
