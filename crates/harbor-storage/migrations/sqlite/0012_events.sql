-- The outbox of domain events (harbor_core::events): written in the transaction of the
-- change they describe, read by subscribers in id order. Ids only grow and are never
-- reused (pruning deletes old rows, cursors point at ids). Times are milliseconds since
-- the Unix epoch. The payload is the event as JSON, tagged by its type.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_ms  BIGINT  NOT NULL,
    kind         TEXT    NOT NULL,
    repository   TEXT,
    actor        TEXT    NOT NULL,
    payload      TEXT    NOT NULL
);
CREATE INDEX events_occurred ON events (occurred_ms);

-- One cursor per subscriber: the id of the last event it handled, and the lease of the
-- replica delivering to it (token '<instance>.<random>', expiry).
CREATE TABLE event_cursors (
    subscriber   TEXT PRIMARY KEY,
    position     BIGINT  NOT NULL,
    lease_token  TEXT,
    lease_until  BIGINT  NOT NULL DEFAULT 0,
    claimed_ms   BIGINT  NOT NULL
);
