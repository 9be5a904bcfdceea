-- Failed sign-in counters of the login throttle (harbor_auth::throttle), shared by every
-- replica. Keys are SHA-256 hashes of what is counted (an account at a client address,
-- an address, an account), so no typed username is kept in clear. Times are milliseconds
-- since the Unix epoch. Rows are transient: they are purged once their window is over
-- and are not copied by copy-metadata.
CREATE TABLE login_failures (
    key_hash  TEXT COLLATE "C" PRIMARY KEY,
    failures  BIGINT  NOT NULL,
    last_ms   BIGINT  NOT NULL
);
CREATE INDEX login_failures_last ON login_failures (last_ms);
