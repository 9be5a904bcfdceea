//! OpenID Connect: CLI secrets (`docker login` for users who sign in through the provider).

use std::sync::Arc;

use harbor_core::Result;
use harbor_core::identity::User;
use harbor_core::ports::IdentityStore;

use crate::settings::SystemSettings;

/// Checks OIDC users' CLI secrets.
#[derive(Clone)]
pub struct CliSecrets {
    #[allow(dead_code)]
    settings: SystemSettings,
    #[allow(dead_code)]
    store: Arc<dyn IdentityStore>,
}

impl CliSecrets {
    /// CLI secrets by `settings`, users in `store`.
    pub fn new(settings: SystemSettings, store: Arc<dyn IdentityStore>) -> Self {
        CliSecrets { settings, store }
    }

    /// The user whose CLI secret `secret` is, if it is theirs and their provider session
    /// can still be refreshed. Not built yet: refuses every secret.
    pub async fn check(&self, _username: &str, _secret: &str) -> Result<Option<User>> {
        Ok(None)
    }
}
