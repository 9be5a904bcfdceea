-- The OCI registry: repositories, blobs and their links, manifests, tags, uploads.
-- Timestamps are milliseconds since the Unix epoch.

CREATE TABLE repositories (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- Every committed blob, once.
CREATE TABLE blobs (
    digest      TEXT    PRIMARY KEY,
    size        BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- Which repositories may serve which blobs.
CREATE TABLE repository_blobs (
    repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest        TEXT   NOT NULL REFERENCES blobs(digest),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repository_blobs_by_digest ON repository_blobs(digest);

-- Manifests, bytes exactly as pushed.
CREATE TABLE manifests (
    id            INTEGER PRIMARY KEY,
    repository_id BIGINT  NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest        TEXT    NOT NULL,
    media_type    TEXT    NOT NULL,
    artifact_type TEXT,
    subject       TEXT,
    size          BIGINT  NOT NULL,
    annotations   TEXT,
    content       BLOB    NOT NULL,
    created_at    BIGINT  NOT NULL,
    UNIQUE (repository_id, digest)
);
CREATE INDEX manifests_by_subject ON manifests(repository_id, subject) WHERE subject IS NOT NULL;

-- What each manifest references: kind 0 = blob (config, layer), 1 = child manifest.
CREATE TABLE manifest_references (
    manifest_id BIGINT   NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    digest      TEXT     NOT NULL,
    kind        SMALLINT NOT NULL,
    PRIMARY KEY (manifest_id, digest)
);
CREATE INDEX manifest_references_by_digest ON manifest_references(digest);

CREATE TABLE tags (
    repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name          TEXT   NOT NULL,
    manifest_id   BIGINT NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (repository_id, name)
);
CREATE INDEX tags_by_manifest ON tags(manifest_id);

-- Blob uploads in progress; a lease marks the one request writing to a session.
CREATE TABLE upload_sessions (
    id          TEXT    PRIMARY KEY,
    repository  TEXT    NOT NULL,
    received    BIGINT  NOT NULL,
    hash_state  BLOB    NOT NULL,
    store_state TEXT    NOT NULL,
    lease_token TEXT,
    lease_until BIGINT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX upload_sessions_by_update ON upload_sessions(updated_at);
