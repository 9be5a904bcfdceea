-- Scanner registrations (`/scanners`): the scanner adapters this server calls. `auth` is
-- Harbor's name ('' none, Basic, Bearer, X-ScannerAdapter-API-Key); `credential` is sealed
-- with the server's secret key (AES-256-GCM, harbor_auth::sealing), empty when none. At
-- most one registration is the default (the partial unique index).
CREATE TABLE scanner_registrations (
    uuid              TEXT    PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    description       TEXT    NOT NULL DEFAULT '',
    url               TEXT    NOT NULL UNIQUE,
    disabled          INTEGER NOT NULL DEFAULT 0,
    is_default        INTEGER NOT NULL DEFAULT 0,
    auth              TEXT    NOT NULL DEFAULT '',
    credential        BLOB    NOT NULL DEFAULT x'',
    skip_cert_verify  INTEGER NOT NULL DEFAULT 0,
    use_internal_addr INTEGER NOT NULL DEFAULT 0,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
CREATE UNIQUE INDEX scanner_registrations_one_default
    ON scanner_registrations (is_default) WHERE is_default = 1;
-- The registration a project chose; without one, the default scans it.
CREATE TABLE project_scanners (
    project_id        BIGINT  PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    registration_uuid TEXT    NOT NULL
                      REFERENCES scanner_registrations(uuid) ON DELETE CASCADE
);
CREATE INDEX project_scanners_registration ON project_scanners (registration_uuid);
