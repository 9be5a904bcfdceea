-- Registry endpoints (`/registries`): remote registries for replication and proxy cache.
-- `credential_type` '' means anonymous access; `access_secret` is sealed with the server's
-- secret key (AES-256-GCM, harbor_auth::sealing), empty when there is none. `status` is
-- the last health check's outcome.
CREATE TABLE registries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    description     TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    credential_type TEXT    NOT NULL DEFAULT '',
    access_key      TEXT    NOT NULL DEFAULT '',
    access_secret   BLOB    NOT NULL DEFAULT x'',
    insecure        INTEGER NOT NULL DEFAULT 0,
    ca_certificate  TEXT,
    status          TEXT    NOT NULL DEFAULT 'unknown',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
