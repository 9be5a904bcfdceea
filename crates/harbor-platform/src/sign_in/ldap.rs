//! LDAP: signing users in against a directory, onboarding them at their first sign-in.

use std::sync::Arc;

use harbor_core::Result;
use harbor_core::identity::User;
use harbor_core::ports::IdentityStore;

use crate::settings::SystemSettings;
use crate::sign_in::LdapConfig;

/// The LDAP directory of the settings.
#[derive(Clone)]
pub struct Ldap {
    #[allow(dead_code)]
    settings: SystemSettings,
    #[allow(dead_code)]
    store: Arc<dyn IdentityStore>,
}

impl Ldap {
    /// The directory `settings` name; users kept in `store`.
    pub fn new(settings: SystemSettings, store: Arc<dyn IdentityStore>) -> Self {
        Ldap { settings, store }
    }

    /// Signs `username` in with `password`. Not built yet: refuses everyone.
    pub async fn sign_in(
        &self,
        _config: &LdapConfig,
        _username: &str,
        _password: &str,
    ) -> Result<Option<User>> {
        Ok(None)
    }
}
