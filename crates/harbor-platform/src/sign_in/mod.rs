//! Signing in other than with this server's own passwords: the sign-in settings
//! (`auth_mode` and the `ldap_*`, `oidc_*` and `http_authproxy_*` fields) and
//! [`SignIn`], which [`harbor_auth::Accounts`] asks about every user's credentials.

pub mod config;
pub mod ldap;
pub mod memberships;
pub mod oidc;

use std::sync::Arc;

use harbor_auth::accounts::{ADMIN, External, ExternalSignIn};
use harbor_core::Result;
use harbor_core::ports::IdentityStore;

pub use config::{AuthConfig, AuthMode, LdapConfig, LdapScope, OidcConfig};

use crate::settings::SystemSettings;

/// Checks users' credentials the way `auth_mode` says: the database (`db_auth`, and the
/// `admin` account in every mode), the LDAP directory, or OIDC CLI secrets.
#[derive(Clone)]
pub struct SignIn {
    settings: SystemSettings,
    store: Arc<dyn IdentityStore>,
    ldap: ldap::Ldap,
    oidc: oidc::Oidc,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").finish_non_exhaustive()
    }
}

impl SignIn {
    /// Sign-in by `settings`, users kept in `store`.
    pub fn new(settings: SystemSettings, store: Arc<dyn IdentityStore>) -> Self {
        SignIn {
            ldap: ldap::Ldap::new(settings.clone(), store.clone()),
            oidc: oidc::Oidc::new(settings.clone(), store.clone())
                .with_identity_sync(Arc::new(memberships::Memberships::new(store.clone()))),
            settings,
            store,
        }
    }

    /// The LDAP directory (ping, searches, imports).
    pub fn ldap(&self) -> &ldap::Ldap {
        &self.ldap
    }

    /// OpenID Connect sign-in and CLI secrets.
    pub fn oidc(&self) -> &oidc::Oidc {
        &self.oidc
    }

    /// Keeps OIDC users' links (sub and issuer, CLI secret, tokens) in `links`.
    pub fn with_oidc_store(mut self, links: Arc<dyn harbor_core::oidc::OidcUserStore>) -> Self {
        self.oidc = self.oidc.with_store(links);
        self
    }

    /// The store users are kept in.
    pub fn store(&self) -> &Arc<dyn IdentityStore> {
        &self.store
    }
}

#[async_trait::async_trait]
impl ExternalSignIn for SignIn {
    async fn check(&self, username: &str, password: &str) -> Result<External> {
        if username == ADMIN {
            return Ok(External::Database);
        }
        let settings = self.settings.get().await;
        match settings.auth.mode {
            AuthMode::Ldap => Ok(External::Checked(
                self.ldap
                    .sign_in(&settings.auth.ldap, username, password)
                    .await?,
            )),
            AuthMode::Oidc => Ok(External::Checked(
                self.oidc.check(username, password).await?,
            )),
            AuthMode::Db | AuthMode::Http | AuthMode::Uaa => Ok(External::Database),
        }
    }
}
