//! Users who sign in through an OpenID Connect provider: the link between an account and
//! its identity at the provider (Harbor's `oidc_user`), and the [`OidcUserStore`] port.
//!
//! The CLI secret and the provider's tokens arrive sealed (the platform seals them with
//! the server's secret key): the store never sees them in clear.

use async_trait::async_trait;

use crate::Result;
use crate::events::NewEvent;
use crate::identity::{NewUser, User};

/// An account's identity at the OIDC provider.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcLink {
    /// Database id (Harbor's `OIDCUserInfo.id`).
    pub id: i64,
    /// The account.
    pub user_id: i64,
    /// The ID token's `sub` followed by its `iss` (unique).
    pub subiss: String,
    /// The CLI secret, sealed.
    pub secret: Vec<u8>,
    /// The provider's tokens (refresh token, expiry), sealed.
    pub token: Vec<u8>,
    /// Created at (ms).
    pub created_ms: i64,
    /// Last updated at (ms).
    pub updated_ms: i64,
}

impl std::fmt::Debug for OidcLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLink")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("subiss", &self.subiss)
            .finish_non_exhaustive()
    }
}

/// `sub` and `iss` as one key, as Harbor stores them.
pub fn subiss(sub: &str, iss: &str) -> String {
    format!("{sub}{iss}")
}

/// Where OIDC links are kept. A duplicate user (name, e-mail) or `subiss` fails with
/// [`Error::Conflict`](crate::Error::Conflict); an update of a missing link with
/// [`Error::NotFound`](crate::Error::NotFound).
#[async_trait]
pub trait OidcUserStore: Send + Sync + 'static {
    /// The link of account `user_id`, if it signs in through OIDC.
    async fn oidc_link(&self, user_id: i64) -> Result<Option<OidcLink>>;
    /// The link whose `subiss` this is.
    async fn oidc_link_by_subiss(&self, subiss: &str) -> Result<Option<OidcLink>>;
    /// Creates the account `user` and its link in one transaction, with `events`.
    async fn onboard_oidc_user_emitting(
        &self,
        user: &NewUser,
        subiss: &str,
        secret: &[u8],
        token: &[u8],
        events: &[NewEvent],
    ) -> Result<(User, OidcLink)>;
    /// Replaces the sealed CLI secret of `user_id`'s link.
    async fn set_oidc_secret(&self, user_id: i64, secret: &[u8]) -> Result<()>;
    /// Replaces the sealed tokens of `user_id`'s link.
    async fn set_oidc_token(&self, user_id: i64, token: &[u8]) -> Result<()>;
}
