//! Maintenance on a server's storage from its configuration, without serving: what
//! `harbor-server reset-admin-password` runs.

use std::sync::Arc;

use harbor_auth::accounts::Accounts;
use harbor_auth::throttle::LoginThrottle;
use harbor_storage::SqlMetadataStore;
use harbor_storage::sql::PoolConfig;

use crate::OpenError;
use crate::config::Config;

/// Who reset-password events name as their actor.
pub const RESET_ACTOR: &str = "harbor-server reset-admin-password";

/// Sets `username`'s password to `new` (checked against the password policy) or a
/// generated one, which is returned to be shown once, in the registry database the
/// configuration names. The database must exist (a wrong data directory is refused, not
/// created). The user's web sessions end and their failed sign-ins are forgotten; a
/// running server sees the new password within `auth.identity_cache_ms`.
pub async fn reset_password(
    config: &Config,
    username: &str,
    new: Option<&str>,
) -> Result<Option<String>, OpenError> {
    let pool = PoolConfig {
        max_connections: 2,
        ..PoolConfig::default()
    };
    let meta = Arc::new(SqlMetadataStore::connect_existing(&config.database_url(), &pool).await?);
    let accounts = Accounts::new(meta.clone(), config.auth.robot_prefix.clone()).with_throttle(
        LoginThrottle::new(meta.clone(), config.auth.login_throttle.policy()),
    );
    let reset = accounts.reset_password(username, new, RESET_ACTOR).await;
    meta.close().await;
    Ok(reset?)
}
