//! Portal sessions: signing in with a password (users only; robots use the registry's
//! tokens), resolving a session cookie, signing out. A session is stored by the hash of
//! its id, with a CSRF token the browser echoes on unsafe calls.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use harbor_auth::secret::{random_token, token_hash};
use harbor_auth::{Accounts, Principal};
use harbor_core::events::{DomainEvent, EventStore, NewEvent};
use harbor_core::identity::{Session, User};
use harbor_core::model::now_ms;
use harbor_core::{Error, Result};

use crate::settings::SystemSettings;

/// A session just started: the cookie value and CSRF token to hand to the browser once.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The session id (the cookie's value; only its hash is stored).
    pub sid: String,
    /// The CSRF token.
    pub csrf: String,
    /// How long the session lives.
    pub ttl: Duration,
    /// Who signed in.
    pub user: User,
}

/// The session service.
#[derive(Clone)]
pub struct Sessions {
    accounts: Arc<Accounts>,
    events: Arc<dyn EventStore>,
    settings: SystemSettings,
}

impl Sessions {
    /// Sessions kept by `accounts`' store, sign-ins recorded in `events`.
    pub fn new(
        accounts: Arc<Accounts>,
        events: Arc<dyn EventStore>,
        settings: SystemSettings,
    ) -> Self {
        Sessions {
            accounts,
            events,
            settings,
        }
    }

    /// Checks the credentials (through the login throttle) and starts a session living
    /// the `session_timeout` setting, else `configured_ttl`.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
        configured_ttl: Duration,
    ) -> Result<SignedIn> {
        let user = match self.accounts.login(username, password, client).await? {
            Some(Principal::User(u)) => u,
            Some(_) => {
                return Err(Error::Forbidden(
                    "robot accounts cannot log in to the portal".into(),
                ));
            }
            None => return Err(Error::Unauthorized("invalid username or password".into())),
        };
        self.start(user, configured_ttl).await
    }

    /// Starts a session for `user`, who signed in some other way (through the OIDC
    /// provider), living the `session_timeout` setting, else `configured_ttl`.
    pub async fn start(&self, user: User, configured_ttl: Duration) -> Result<SignedIn> {
        let sid = random_token().map_err(Error::internal)?;
        let csrf = random_token().map_err(Error::internal)?;
        let ttl = self.settings.get().await.session_ttl(configured_ttl);
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.accounts
            .store()
            .create_session(&Session {
                id_hash: token_hash(&sid),
                user_id: user.id,
                csrf_token: csrf.clone(),
                expires_ms: now_ms().saturating_add(ttl_ms),
            })
            .await?;
        // The sign-in is recorded after the session is stored (sessions take no events);
        // a failure is logged and the sign-in stands.
        let event = DomainEvent::UserSignedIn {
            user: user.username.clone(),
        };
        if let Err(e) = self
            .events
            .append_events(&[NewEvent::now(&user.username, event)])
            .await
        {
            tracing::warn!(error = %e, "cannot record a sign-in");
        }
        Ok(SignedIn {
            sid,
            csrf,
            ttl,
            user,
        })
    }

    /// The live session whose id is `sid`, with its user; `None` if it expired or its
    /// user no longer exists.
    pub async fn resolve(&self, sid: &str) -> Result<Option<(Session, User)>> {
        let store = self.accounts.store();
        let Some(session) = store.session(&token_hash(sid), now_ms()).await? else {
            return Ok(None);
        };
        Ok(store.user(session.user_id).await?.map(|u| (session, u)))
    }

    /// Ends a session.
    pub async fn sign_out(&self, session: &Session) -> Result<()> {
        self.accounts.store().delete_session(&session.id_hash).await
    }
}
