-- Users who sign in through an OpenID Connect provider (Harbor's `oidc_user`): the link
-- between an account and its identity at the provider (`subiss`: the ID token's `sub`
-- followed by its `iss`), the user's CLI secret and the provider's tokens (the refresh
-- token lets a CLI secret outlive the access token). `secret` and `token` are sealed
-- with the server's secret key (AES-256-GCM, harbor_auth::sealing): never in clear.
-- The link goes with the user.
CREATE TABLE oidc_users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT  NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    subiss     TEXT    NOT NULL UNIQUE,
    secret     BLOB    NOT NULL,
    token      BLOB    NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
