-- Trusted signature keys (our extension of Harbor's content trust): public keys (cosign)
-- and root certificates (Notation) a project trusts. With keys of a kind configured,
-- signatures of that kind must verify with one of them. A project's keys go with the
-- project. `fingerprint` is `sha256:<hex>` of the key's DER.
CREATE TABLE signature_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    pem         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    UNIQUE (project_id, name),
    UNIQUE (project_id, fingerprint)
);
