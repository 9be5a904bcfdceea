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
