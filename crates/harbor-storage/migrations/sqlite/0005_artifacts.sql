-- Artifacts and tags for the REST API: the last pull time of each manifest and tag
-- (written with the batched pull counts), tag ids, and indexes for artifact listings
-- sorted by push or pull time.

ALTER TABLE manifests ADD COLUMN pulled_at BIGINT;

-- Tags get a surrogate id (Harbor's tag id): SQLite cannot add a generated column to an
-- existing table, so the table is rebuilt (nothing references it). The id is the rowid
-- and survives moving a tag to another manifest (an upsert on (repository_id, name)).
CREATE TABLE tags_0005 (
    id            INTEGER PRIMARY KEY,
    repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name          TEXT   NOT NULL,
    manifest_id   BIGINT NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    updated_at    BIGINT NOT NULL,
    pulled_at     BIGINT,
    UNIQUE (repository_id, name)
);
INSERT INTO tags_0005 (repository_id, name, manifest_id, updated_at)
    SELECT repository_id, name, manifest_id, updated_at FROM tags ORDER BY updated_at, name;
DROP TABLE tags;
ALTER TABLE tags_0005 RENAME TO tags;
CREATE INDEX tags_by_manifest ON tags(manifest_id);

-- Artifact listings: a repository's manifests newest first, or by last pull.
CREATE INDEX manifests_by_push ON manifests(repository_id, created_at, id);
CREATE INDEX manifests_by_pull ON manifests(repository_id, pulled_at, id);
