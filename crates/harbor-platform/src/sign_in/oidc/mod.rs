//! OpenID Connect: portal sign-in through the provider (authorization code with PKCE,
//! state and nonce), onboarding, and CLI secrets (`docker login` for users who sign in
//! through the provider).
//!
//! - [`provider`]: discovery, the provider's keys, the token and userinfo endpoints.
//! - [`verify`]: ID-token verification.
//! - [`claims`]: the user the claims describe ([`OidcIdentity`]): username, groups, admin.
//! - [`secrets`]: CLI secrets: generation, Harbor's rules, sealing.
//! - [`flow`]: what a sign-in in progress keeps (sealed into a short-lived cookie).
//!
//! A user is linked to the provider by `sub` and `iss` (`oidc_users`); their CLI secret
//! and the provider's tokens are sealed with the server's secret key. A CLI secret works
//! while the provider's access token is valid, or can be refreshed with the stored refresh
//! token; when the refresh fails the secret is refused until the user signs in to the
//! portal again (Harbor's behaviour).

pub mod claims;
pub mod flow;
pub mod provider;
pub mod secrets;
pub mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use harbor_auth::Principal;
use harbor_auth::sealing::SealingKeys;
use harbor_auth::secret::{constant_time_eq, random_token};
use harbor_core::Result;
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::{NewUser, User, check_username};
use harbor_core::model::now_ms;
use harbor_core::oidc::{OidcLink, OidcUserStore};
use harbor_core::ports::IdentityStore;
use serde_json::{Map, Value};

pub use claims::OidcIdentity;
pub use flow::{Callback, Finished, Started};

use crate::settings::SystemSettings;
use crate::sign_in::{AuthMode, OidcConfig};
use flow::{PendingLogin, PendingOnboard, StoredToken};
use provider::{Client, Provider};

/// Why an OIDC sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// `auth_mode` is not `oidc_auth`, or the provider settings are incomplete.
    #[error("OIDC sign-in is not configured")]
    NotConfigured,
    /// The callback does not belong to a sign-in this server started (state, cookie) or
    /// the sign-in took too long.
    #[error("this sign-in is not valid: {0}; start again")]
    BadState(String),
    /// The provider refused (the user denied, the code or refresh token was refused).
    #[error("the OIDC provider refused the sign-in: {0}")]
    Refused(String),
    /// The ID token does not verify.
    #[error("the ID token is not valid: {0}")]
    InvalidToken(String),
    /// The provider cannot be reached or answered something unusable.
    #[error("the OIDC provider cannot be used: {0}")]
    Provider(String),
    /// Anything else (the database, a conflict while onboarding, a bad username).
    #[error(transparent)]
    Core(#[from] harbor_core::Error),
}

impl From<OidcError> for harbor_core::Error {
    fn from(e: OidcError) -> Self {
        match e {
            OidcError::Core(e) => e,
            OidcError::NotConfigured => harbor_core::Error::Precondition(e.to_string()),
            OidcError::BadState(_) => harbor_core::Error::Invalid(e.to_string()),
            OidcError::Refused(_) | OidcError::InvalidToken(_) => {
                harbor_core::Error::Unauthorized(e.to_string())
            }
            OidcError::Provider(_) => harbor_core::Error::Invalid(e.to_string()),
        }
    }
}

type OidcResult<T> = std::result::Result<T, OidcError>;

/// Told about a user's identity at the provider whenever it is read: at every portal
/// sign-in through OIDC and every refresh of a CLI secret's tokens. User groups (the
/// groups claim, the admin group) are applied here.
#[async_trait::async_trait]
pub trait IdentitySync: Send + Sync {
    /// `user` signed in (or had their tokens refreshed) as `identity`.
    async fn synced(&self, user: &User, identity: &OidcIdentity) -> Result<()>;
}

/// What `GET /users/{id}` shows of an OIDC user (Harbor's `OIDCUserInfo`).
#[derive(Clone, Debug)]
pub struct OidcMeta {
    /// The link's id.
    pub id: i64,
    /// The user.
    pub user_id: i64,
    /// `sub` followed by `iss`.
    pub subiss: String,
    /// The CLI secret, in clear.
    pub secret: String,
    /// Created at (ms).
    pub created_ms: i64,
    /// Updated at (ms).
    pub updated_ms: i64,
}

/// OIDC sign-in and CLI secrets. Cheap to clone; clones share caches.
#[derive(Clone)]
pub struct Oidc {
    settings: SystemSettings,
    users: Arc<dyn IdentityStore>,
    links: Option<Arc<dyn OidcUserStore>>,
    sync: Option<Arc<dyn IdentitySync>>,
    client: Arc<Client>,
    /// One refresh at a time per user (a rotating refresh token used twice may end the
    /// provider's session).
    refreshing: Arc<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc").finish_non_exhaustive()
    }
}

/// The old name of [`Oidc`], for the CLI-secret checks.
pub type CliSecrets = Oidc;

const SEAL_SECRET: &str = "oidc-cli-secret";
/// As long as a sealed CLI secret; opens to nothing.
const DUMMY_SEALED: [u8; 60] = [0; 60];
const SEAL_TOKEN: &str = "oidc-token";

impl Oidc {
    /// OIDC by `settings`, users in `users`. Without [`with_store`](Self::with_store)
    /// nobody signs in through OIDC.
    pub fn new(settings: SystemSettings, users: Arc<dyn IdentityStore>) -> Self {
        Oidc {
            settings,
            users,
            links: None,
            sync: None,
            client: Arc::new(Client::new()),
            refreshing: Arc::default(),
        }
    }

    /// Keeps OIDC links (sub and issuer, CLI secret, tokens) in `links`.
    pub fn with_store(mut self, links: Arc<dyn OidcUserStore>) -> Self {
        self.links = Some(links);
        self
    }

    /// Tells `sync` about users' identities (groups, admin group).
    pub fn with_identity_sync(mut self, sync: Arc<dyn IdentitySync>) -> Self {
        self.sync = Some(sync);
        self
    }

    fn links(&self) -> OidcResult<&Arc<dyn OidcUserStore>> {
        self.links.as_ref().ok_or(OidcError::NotConfigured)
    }

    fn keys(&self) -> OidcResult<&Arc<SealingKeys>> {
        self.settings.sealing_keys().ok_or_else(|| {
            OidcError::Core(harbor_core::Error::Precondition(
                "OIDC needs the server's secret key (to seal CLI secrets and tokens)".into(),
            ))
        })
    }

    fn seal(&self, plain: &[u8], what: &str) -> OidcResult<Vec<u8>> {
        self.keys()?
            .seal(plain, what)
            .map_err(|e| OidcError::Core(harbor_core::Error::internal(e)))
    }

    fn open(&self, sealed: &[u8], what: &str) -> OidcResult<Vec<u8>> {
        self.keys()?
            .open(sealed, what)
            .map(|(plain, _)| plain)
            .map_err(|e| OidcError::Core(harbor_core::Error::internal(e)))
    }

    /// The settings when `auth_mode` is `oidc_auth` and the provider is set, with the
    /// client secret in clear.
    async fn config(&self) -> OidcResult<(OidcConfig, String)> {
        let s = self.settings.get().await;
        if s.auth.mode != AuthMode::Oidc || s.auth.oidc.endpoint.is_empty() {
            return Err(OidcError::NotConfigured);
        }
        let secret = self
            .settings
            .secret("oidc_client_secret")
            .await?
            .unwrap_or_default();
        Ok((s.auth.oidc, secret))
    }

    async fn provider(&self, c: &OidcConfig) -> OidcResult<Arc<Provider>> {
        self.client
            .discover(&c.endpoint, c.verify_cert, false)
            .await
    }

    /// Checks the discovery document at `url` (`POST /system/oidc/ping`).
    pub async fn ping(&self, by: &Principal, url: &str, verify_cert: bool) -> Result<()> {
        if !by.is_sysadmin() {
            return Err(harbor_core::Error::Forbidden(
                "only system administrators may test an OIDC endpoint".into(),
            ));
        }
        if url.trim().is_empty() {
            return Err(harbor_core::Error::Invalid("url is required".into()));
        }
        self.client
            .discover(url.trim(), verify_cert, true)
            .await
            .map(|_| ())
            .map_err(|e| harbor_core::Error::Invalid(e.to_string()))
    }

    /// Starts a sign-in: the provider's authorization URL to send the browser to and the
    /// sealed state to keep in a cookie until the callback. `redirect_uri` is this
    /// server's callback; `then` the local path to show afterwards.
    pub async fn begin(&self, redirect_uri: &str, then: &str) -> OidcResult<Started> {
        let (c, _) = self.config().await?;
        let p = self.provider(&c).await?;
        let random =
            || random_token().map_err(|e| OidcError::Core(harbor_core::Error::internal(e)));
        let pending = PendingLogin {
            state: random()?,
            nonce: random()?,
            verifier: random()?,
            then: then.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            issuer: p.issuer.clone(),
            expires_ms: now_ms() + flow::PENDING_TTL_MS,
        };
        let url = flow::authorization_url(&p, &c, &pending)?;
        let cookie = flow::seal_cookie(self.keys()?, flow::LOGIN_COOKIE, &pending)?;
        Ok(Started { url, cookie })
    }

    /// Finishes a sign-in from the provider's callback: `cookie` is what
    /// [`begin`](Self::begin) sealed, `query` the callback's parameters.
    pub async fn finish(
        &self,
        cookie: Option<&str>,
        query: &flow::Callback,
    ) -> OidcResult<Finished> {
        let pending: PendingLogin = cookie
            .and_then(|c| flow::open_cookie(self.keys().ok()?, flow::LOGIN_COOKIE, c))
            .ok_or_else(|| {
                OidcError::BadState("no sign-in was started from this browser".into())
            })?;
        if pending.expires_ms < now_ms() {
            return Err(OidcError::BadState("the sign-in took too long".into()));
        }
        let state = query.state.as_deref().unwrap_or("");
        if !constant_time_eq(state.as_bytes(), pending.state.as_bytes()) {
            return Err(OidcError::BadState("the state does not match".into()));
        }
        if let Some(error) = &query.error {
            let d = query.error_description.as_deref().unwrap_or("");
            return Err(OidcError::Refused(format!("{error} {d}").trim().to_owned()));
        }
        let code = query
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OidcError::BadState("the callback has no code".into()))?;
        let (c, client_secret) = self.config().await?;
        let p = self.provider(&c).await?;
        if p.issuer != pending.issuer {
            return Err(OidcError::BadState("the provider changed meanwhile".into()));
        }
        let answer = self
            .client
            .token(
                &p,
                &c.client_id,
                &client_secret,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &pending.redirect_uri),
                    ("code_verifier", &pending.verifier),
                ],
            )
            .await?;
        let id_token = answer
            .id_token
            .clone()
            .ok_or_else(|| OidcError::Provider("the token endpoint sent no ID token".into()))?;
        let claims = self
            .verified_claims(
                &p,
                &c,
                &id_token,
                Some(&pending.nonce),
                &answer.access_token,
            )
            .await?;
        let identity = claims::identity(&claims, &c);
        let token = StoredToken::from_answer(answer, None);
        let links = self.links()?;
        if let Some(link) = links.oidc_link_by_subiss(&identity.subiss()).await? {
            let user = self.users.user(link.user_id).await?.ok_or_else(|| {
                OidcError::Core(harbor_core::Error::NotFound(
                    "the linked user is gone".into(),
                ))
            })?;
            links
                .set_oidc_token(user.id, &self.seal(&token.to_json(), SEAL_TOKEN)?)
                .await?;
            self.sync(&user, &identity).await?;
            return Ok(Finished::SignedIn {
                user,
                identity: Box::new(identity),
                then: pending.then,
            });
        }
        if c.auto_onboard {
            let Some(username) = identity.username.clone() else {
                return Err(OidcError::Refused(format!(
                    "the provider sent no username (claim {:?}): cannot onboard the user",
                    if c.user_claim.is_empty() {
                        "name"
                    } else {
                        &c.user_claim
                    }
                )));
            };
            let user = self.onboard_user(&identity, &token, &username).await?;
            return Ok(Finished::SignedIn {
                user,
                identity: Box::new(identity),
                then: pending.then,
            });
        }
        let suggested = claims::suggested_username(&identity);
        let onboard = PendingOnboard {
            identity,
            token,
            then: pending.then,
            expires_ms: now_ms() + flow::PENDING_TTL_MS,
        };
        Ok(Finished::Onboard {
            cookie: flow::seal_cookie(self.keys()?, flow::ONBOARD_COOKIE, &onboard)?,
            suggested,
        })
    }

    /// Creates the account of a user waiting to be onboarded (`POST /c/oidc/onboard`):
    /// `cookie` is what [`finish`](Self::finish) sealed. The user and the local path to
    /// show next.
    pub async fn onboard(
        &self,
        cookie: Option<&str>,
        username: &str,
    ) -> OidcResult<(User, String)> {
        let pending: PendingOnboard = cookie
            .and_then(|c| flow::open_cookie(self.keys().ok()?, flow::ONBOARD_COOKIE, c))
            .ok_or_else(|| {
                OidcError::BadState("no OIDC sign-in is waiting for a username".into())
            })?;
        if pending.expires_ms < now_ms() {
            return Err(OidcError::BadState("the sign-in took too long".into()));
        }
        self.config().await?;
        let user = self
            .onboard_user(&pending.identity, &pending.token, username.trim())
            .await?;
        Ok((user, pending.then))
    }

    async fn onboard_user(
        &self,
        identity: &OidcIdentity,
        token: &StoredToken,
        username: &str,
    ) -> OidcResult<User> {
        check_username(username)?;
        let secret = secrets::generate()?;
        let new = NewUser {
            username: username.to_owned(),
            email: identity.email.clone(),
            realname: identity.realname.clone(),
            comment: "Onboarded via OIDC provider".into(),
            // Never a password: OIDC users sign in through the provider or with their
            // CLI secret.
            password_hash: String::new(),
            sysadmin: false,
        };
        let events = [NewEvent::now(
            username,
            DomainEvent::UserCreated {
                user: username.to_owned(),
            },
        )];
        let (user, _) = self
            .links()?
            .onboard_oidc_user_emitting(
                &new,
                &identity.subiss(),
                &self.seal(secret.as_bytes(), SEAL_SECRET)?,
                &self.seal(&token.to_json(), SEAL_TOKEN)?,
                &events,
            )
            .await?;
        tracing::info!(user = %user.username, "OIDC: onboarded a user");
        self.sync(&user, identity).await?;
        Ok(user)
    }

    async fn sync(&self, user: &User, identity: &OidcIdentity) -> Result<()> {
        match &self.sync {
            Some(s) => s.synced(user, identity).await,
            None => Ok(()),
        }
    }

    /// Verifies `id_token` and merges the userinfo claims into its claims.
    async fn verified_claims(
        &self,
        p: &Provider,
        c: &OidcConfig,
        id_token: &str,
        nonce: Option<&str>,
        access_token: &str,
    ) -> OidcResult<Map<String, Value>> {
        let (kid, _) = verify::header(id_token)?;
        let keys = self.client.keys(p, kid.as_deref()).await?;
        let expected = verify::Expected {
            issuer: &p.issuer,
            client_id: &c.client_id,
            nonce,
            now: now_ms() / 1000,
        };
        let claims = verify::verify(id_token, &keys, &expected)?;
        let Some(info) = self.client.userinfo(p, access_token).await? else {
            return Ok(claims);
        };
        if info.get("sub") != claims.get("sub") {
            return Err(OidcError::InvalidToken(
                "the userinfo answer is about another subject".into(),
            ));
        }
        Ok(claims::merge(claims, info, &c.groups_claim))
    }

    /// Where to send the browser to sign out at the provider as well (`oidc_logout`),
    /// coming back to `post_logout`; `None` when not configured.
    pub async fn logout_url(&self, user_id: i64, post_logout: &str) -> Option<String> {
        let (c, _) = self.config().await.ok()?;
        if !c.logout {
            return None;
        }
        let p = self.provider(&c).await.ok()?;
        let end = p.end_session_endpoint.as_deref()?;
        let id_token = match self.links().ok()?.oidc_link(user_id).await {
            Ok(Some(link)) => self
                .open(&link.token, SEAL_TOKEN)
                .ok()
                .and_then(|t| StoredToken::from_json(&t))
                .and_then(|t| t.id_token),
            _ => None,
        };
        let mut url = url::Url::parse(end).ok()?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &c.client_id);
            q.append_pair("post_logout_redirect_uri", post_logout);
            if let Some(t) = &id_token {
                q.append_pair("id_token_hint", t);
            }
        }
        Some(url.into())
    }

    /// The OIDC record of `user_id` with the CLI secret in clear, if they sign in through
    /// OIDC (shown to the user and to administrators).
    pub async fn meta(&self, user_id: i64) -> Result<Option<OidcMeta>> {
        let Some(links) = &self.links else {
            return Ok(None);
        };
        let Some(link) = links.oidc_link(user_id).await? else {
            return Ok(None);
        };
        let secret = String::from_utf8(self.open(&link.secret, SEAL_SECRET)?)
            .map_err(harbor_core::Error::internal)?;
        Ok(Some(OidcMeta {
            id: link.id,
            user_id: link.user_id,
            subiss: link.subiss,
            secret,
            created_ms: link.created_ms,
            updated_ms: link.updated_ms,
        }))
    }

    /// Sets the CLI secret of `user_id` (`PUT /users/{id}/cli_secret`): by the user or a
    /// system administrator, in `oidc_auth` mode, following Harbor's rules for secrets.
    pub async fn set_cli_secret(&self, by: &Principal, user_id: i64, secret: &str) -> Result<()> {
        let allowed = match by {
            Principal::User(u) => u.id == user_id || u.sysadmin,
            _ => false,
        };
        if !allowed {
            return Err(if matches!(by, Principal::Anonymous) {
                harbor_core::Error::Unauthorized("sign in first".into())
            } else {
                harbor_core::Error::Forbidden(
                    "only the user or a system administrator may set a CLI secret".into(),
                )
            });
        }
        let mode = self.settings.get().await.auth.mode;
        if mode != AuthMode::Oidc {
            return Err(harbor_core::Error::Precondition(format!(
                "unable to update CLI secret under authmode: {}",
                mode.as_str()
            )));
        }
        secrets::check_rules(secret)?;
        let Some(user) = self.users.user(user_id).await? else {
            return Err(harbor_core::Error::NotFound(format!(
                "user {user_id} not found"
            )));
        };
        let links = self.links()?;
        if links.oidc_link(user.id).await?.is_none() {
            return Err(harbor_core::Error::NotFound(format!(
                "user {} does not sign in through OIDC",
                user.username
            )));
        }
        links
            .set_oidc_secret(user.id, &self.seal(secret.as_bytes(), SEAL_SECRET)?)
            .await?;
        tracing::info!(user = %user.username, by = %by.name(), "OIDC: CLI secret changed");
        Ok(())
    }

    /// The user whose CLI secret `secret` is, if it is theirs and their provider session
    /// is still valid or can be refreshed. A refused refresh refuses the secret (until
    /// the user signs in to the portal again), with a log line saying why.
    pub async fn check(&self, username: &str, secret: &str) -> Result<Option<User>> {
        let Some(links) = &self.links else {
            return Ok(None);
        };
        // The same work whether or not the user exists and signs in through OIDC, so
        // that the answer's timing does not tell (a look-up and an opening that fails).
        let user = self.users.user_by_name(username).await?;
        let link = links.oidc_link(user.as_ref().map_or(-1, |u| u.id)).await?;
        let (Some(user), Some(link)) = (user, link) else {
            let _ = self.open(&DUMMY_SEALED, SEAL_SECRET);
            return Ok(None);
        };
        let stored = self.open(&link.secret, SEAL_SECRET)?;
        if !constant_time_eq(&stored, secret.as_bytes()) {
            return Ok(None);
        }
        if self.token_of(&link).is_some_and(|t| t.valid(now_ms())) {
            return Ok(Some(user));
        }
        let lock = {
            let mut m = self
                .refreshing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            m.retain(|_, l| Arc::strong_count(l) > 1);
            m.entry(user.id).or_default().clone()
        };
        let _one = lock.lock().await;
        // Another request may have refreshed meanwhile.
        let Some(link) = links.oidc_link(user.id).await? else {
            return Ok(None);
        };
        let Some(token) = self.token_of(&link) else {
            tracing::warn!(user = %user.username, "OIDC: CLI secret refused: the stored provider tokens cannot be read; sign in to the portal again");
            return Ok(None);
        };
        if token.valid(now_ms()) {
            return Ok(Some(user));
        }
        match self.refresh(&user, token).await {
            Ok(()) => Ok(Some(user)),
            Err(e) => {
                tracing::warn!(
                    user = %user.username,
                    reason = %e,
                    "OIDC: CLI secret refused: the provider session expired and cannot be refreshed; the user must sign in to the portal again"
                );
                Ok(None)
            }
        }
    }

    fn token_of(&self, link: &OidcLink) -> Option<StoredToken> {
        self.open(&link.token, SEAL_TOKEN)
            .ok()
            .and_then(|t| StoredToken::from_json(&t))
    }

    async fn refresh(&self, user: &User, token: StoredToken) -> OidcResult<()> {
        let Some(refresh_token) = token.refresh_token.clone() else {
            return Err(OidcError::Refused(
                "there is no refresh token (add offline_access to oidc_scope)".into(),
            ));
        };
        let (c, client_secret) = self.config().await?;
        let p = self.provider(&c).await?;
        let answer = self
            .client
            .token(
                &p,
                &c.client_id,
                &client_secret,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh_token),
                ],
            )
            .await?;
        let identity = match &answer.id_token {
            Some(id_token) => {
                let claims = self
                    .verified_claims(&p, &c, id_token, None, &answer.access_token)
                    .await?;
                let identity = claims::identity(&claims, &c);
                if identity.subiss()
                    != self
                        .links()?
                        .oidc_link(user.id)
                        .await?
                        .map(|l| l.subiss)
                        .unwrap_or_default()
                {
                    return Err(OidcError::InvalidToken(
                        "the refreshed ID token is about another subject".into(),
                    ));
                }
                Some(identity)
            }
            None => None,
        };
        let fresh = StoredToken::from_answer(answer, Some(&token));
        self.links()?
            .set_oidc_token(user.id, &self.seal(&fresh.to_json(), SEAL_TOKEN)?)
            .await?;
        tracing::debug!(user = %user.username, "OIDC: refreshed the provider tokens for a CLI secret");
        if let Some(identity) = identity {
            self.sync(user, &identity).await?;
        }
        Ok(())
    }
}
