-- The built-in scanner's vulnerability database and layer inventory cache.
-- An import writes its advisories under a new generation; committing it marks it current
-- and deletes older generations, so readers see one whole database at a time.
CREATE TABLE vuln_db_imports (
    generation   INTEGER PRIMARY KEY AUTOINCREMENT,
    state        TEXT    NOT NULL,             -- importing | current | old
    source       TEXT    NOT NULL DEFAULT '',
    newest       TEXT    NOT NULL DEFAULT '',
    records      BIGINT  NOT NULL DEFAULT 0,
    advisories   BIGINT  NOT NULL DEFAULT 0,
    started_at   BIGINT  NOT NULL,
    imported_at  BIGINT  NOT NULL DEFAULT 0
);
CREATE TABLE vuln_advisories (
    generation  BIGINT NOT NULL,
    ecosystem   TEXT   NOT NULL,
    package     TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    data        BLOB   NOT NULL,
    PRIMARY KEY (generation, ecosystem, package, id)
);
-- Inventories of layers, by layer digest and the scanner version that computed them.
CREATE TABLE scan_layer_inventories (
    digest      TEXT   NOT NULL,
    version     TEXT   NOT NULL,
    data        BLOB   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (digest, version)
);
-- Scan requests the built-in scanner adapter accepted (`POST /api/v1/scan`), shared by
-- every replica: the job that runs one may be on another replica than the report's reader.
-- `credential` (the registry authorization the request carried) is sealed with the
-- server's secret key and cleared when the scan ends; `result` is the encoded outcome.
CREATE TABLE scan_requests (
    id             TEXT   PRIMARY KEY,
    request        TEXT   NOT NULL,
    credential     BLOB   NOT NULL,
    state          TEXT   NOT NULL,             -- queued | running | done | failed
    error          TEXT   NOT NULL DEFAULT '',
    result         BLOB   NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX scan_requests_by_age ON scan_requests(created_at);
