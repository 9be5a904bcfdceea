//! The accounts service: bootstrap, credential checks, the principal behind a token, and
//! the grants a principal holds in a project.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use harbor_core::identity::{NewUser, Project};
use harbor_core::model::now_ms;
use harbor_core::ports::IdentityStore;
use harbor_core::rbac::ProjectAccess;
use harbor_core::{Error, Result};
use sha2::{Digest as _, Sha256};

use crate::principal::{Grants, Principal, robot_grants};
use crate::sealing::SealingKey;
use crate::secret;
use crate::throttle::LoginThrottle;
use crate::token::SigningKey;
use crate::ttl::TtlMap;

/// The default prefix of robot login names (Harbor's `robot_name_prefix`).
pub const ROBOT_PREFIX: &str = "robot$";

/// The bootstrap administrator's username.
pub const ADMIN: &str = "admin";

/// The public project created at bootstrap.
pub const LIBRARY: &str = "library";

/// How long a successful password check is remembered, so that clients sending Basic
/// credentials on every request do not pay for Argon2 each time.
const VERIFIED_TTL: Duration = Duration::from_secs(300);
const VERIFIED_MAX: usize = 10_000;

/// A hash to verify against when the account does not exist, so that unknown and known
/// usernames take the same time to reject.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| secret::hash("not-a-real-password-0A").unwrap_or_default());

/// What an [`ExternalSignIn`] decided about a user's credentials.
#[derive(Debug)]
pub enum External {
    /// Not its business: check the password stored in the database (`db_auth`, or the
    /// `admin` account in every mode).
    Database,
    /// It checked them: the user (created or updated in the database by it), or `None`
    /// when they do not match.
    Checked(Option<harbor_core::identity::User>),
}

/// Another source of users' passwords (an LDAP directory, OIDC CLI secrets), asked by
/// [`Accounts::login`] before the database for every user (never for robots). The login
/// throttle counts its refusals like any other.
#[async_trait::async_trait]
pub trait ExternalSignIn: Send + Sync {
    /// Checks `username` and `password`.
    async fn check(&self, username: &str, password: &str) -> Result<External>;
}

/// Credentials checks and access resolution over an [`IdentityStore`].
pub struct Accounts {
    store: Arc<dyn IdentityStore>,
    robot_prefix: String,
    /// SHA-256(stored hash, candidate) of recently verified credentials. Keyed by the
    /// stored hash too, so that a password change invalidates the entry at once.
    verified: TtlMap<[u8; 32], ()>,
    /// Failed sign-in counting and lockouts; `None` checks every attempt.
    throttle: Option<LoginThrottle>,
    /// Where users' passwords are checked when not in the database.
    external: Option<Arc<dyn ExternalSignIn>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("robot_prefix", &self.robot_prefix)
            .finish_non_exhaustive()
    }
}

/// What [`Accounts::bootstrap`] did.
#[derive(Debug, Default)]
pub struct Bootstrap {
    /// The admin account was created.
    pub created_admin: bool,
    /// The admin password, when it was generated (shown once, never stored in clear).
    pub generated_password: Option<String>,
    /// An initial admin password was given but the accounts existed already, and it is
    /// not the admin's password: it was ignored (worth a loud warning).
    pub admin_password_ignored: bool,
}

impl Accounts {
    /// A service over `store`; robot login names start with `robot_prefix`.
    pub fn new(store: Arc<dyn IdentityStore>, robot_prefix: impl Into<String>) -> Self {
        Accounts {
            store,
            robot_prefix: robot_prefix.into(),
            verified: TtlMap::new(VERIFIED_TTL, VERIFIED_MAX),
            throttle: None,
            external: None,
        }
    }

    /// Asks `external` about users' credentials before the database.
    pub fn with_external(mut self, external: Arc<dyn ExternalSignIn>) -> Self {
        self.external = Some(external);
        self
    }

    /// Counts failed sign-ins in `throttle` and refuses them while it says so.
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn IdentityStore> {
        &self.store
    }

    /// The robot login-name prefix.
    pub fn robot_prefix(&self) -> &str {
        &self.robot_prefix
    }

    /// The login name of a robot stored as `name`.
    pub fn robot_login(&self, name: &str) -> String {
        format!("{}{name}", self.robot_prefix)
    }

    /// On an empty database: creates the `admin` system administrator (password
    /// `admin_password`, else a generated one that is returned to be shown once) and the
    /// public `library` project. Safe to run on every start and on several replicas.
    pub async fn bootstrap(&self, admin_password: Option<&str>) -> Result<Bootstrap> {
        let mut out = Bootstrap::default();
        if self.store.user_count().await? > 0 {
            if let Some(given) = admin_password {
                out.admin_password_ignored = match self.store.user_by_name(ADMIN).await? {
                    Some(admin) => !verify_blocking(admin.password_hash, given.to_owned()).await?,
                    None => true,
                };
            }
            return Ok(out);
        }
        let (password, generated) = match admin_password {
            Some(p) => {
                secret::check_policy(p)
                    .map_err(|e| Error::Invalid(format!("the initial admin password {e}")))?;
                (p.to_owned(), false)
            }
            None => (secret::generate().map_err(Error::internal)?, true),
        };
        let hash = hash_blocking(password.clone()).await?;
        let admin = match self
            .store
            .create_user(&NewUser {
                username: ADMIN.into(),
                email: None,
                realname: "system admin".into(),
                comment: "created at first start".into(),
                password_hash: hash,
                sysadmin: true,
            })
            .await
        {
            Ok(u) => u,
            // Another replica bootstrapped at the same moment.
            Err(Error::Conflict(_)) => return Ok(out),
            Err(e) => return Err(e),
        };
        out.created_admin = true;
        if generated {
            out.generated_password = Some(password);
        }
        match self.store.create_project(LIBRARY, admin.id, true).await {
            Ok(_) | Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(out)
    }

    /// Sets a new password for `username` without the old one (recovering a lost
    /// administrator password offline, from the machine holding the database): `new`
    /// (checked against the password policy) or a generated one, returned to be shown
    /// once. Ends the user's web sessions, clears the account's failed sign-in counter
    /// and records a `user_updated` event by `actor`. Robots are refused: they have
    /// secrets, refreshed through the API.
    pub async fn reset_password(
        &self,
        username: &str,
        new: Option<&str>,
        actor: &str,
    ) -> Result<Option<String>> {
        let user = self
            .store
            .user_by_name(username)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {username} not found")))?;
        let (password, generated) = match new {
            Some(p) => {
                secret::check_policy(p).map_err(|e| Error::Invalid(format!("the password {e}")))?;
                (p.to_owned(), false)
            }
            None => (secret::generate().map_err(Error::internal)?, true),
        };
        let hash = hash_blocking(password.clone()).await?;
        let event = harbor_core::events::NewEvent::now(
            actor,
            harbor_core::events::DomainEvent::UserUpdated {
                user: user.username.clone(),
                change: "password".into(),
            },
        );
        self.store
            .set_password_emitting(user.id, &hash, &[event])
            .await?;
        if let Some(throttle) = &self.throttle {
            throttle.forget_account(&user.username).await?;
        }
        Ok(generated.then_some(password))
    }

    /// The shared token-signing key: the stored one, or a new one stored for every
    /// replica. It is stored sealed with `sealing` (see [`crate::sealing`]); a key sealed
    /// with one of `previous` is re-sealed with `sealing` (a secret-key rotation), and a
    /// key an older version stored in clear is sealed now.
    pub async fn signing_key(
        &self,
        sealing: &SealingKey,
        previous: &[SealingKey],
    ) -> Result<SigningKey> {
        const WHAT: &str = "token signing key";
        let key_err = |e: crate::AuthError| Error::Invalid(e.to_string());
        let candidate = SigningKey::generate().map_err(Error::internal)?;
        let sealed = sealing
            .seal(candidate.pkcs8(), WHAT)
            .map_err(Error::internal)?;
        let stored = self.store.signing_key(&sealed).await?;
        let der = if SealingKey::is_sealed(&stored) {
            if let Ok(der) = sealing.open(&stored, WHAT) {
                return SigningKey::from_pkcs8(&der).map_err(key_err);
            }
            previous
                .iter()
                .find_map(|old| old.open(&stored, WHAT).ok())
                .ok_or_else(|| {
                    Error::Invalid(
                        "the token-signing key in the database is sealed with another secret \
                         key: give every replica the same secret key (auth.secret_key, \
                         HARBOR_SECRET_KEY), or name the old one in \
                         auth.previous_secret_keys while rotating"
                            .into(),
                    )
                })?
        } else {
            stored.clone()
        };
        // Re-sealed under the current key (or sealed for the first time).
        let key = SigningKey::from_pkcs8(&der).map_err(key_err)?;
        let resealed = sealing.seal(&der, WHAT).map_err(Error::internal)?;
        if !self.store.replace_signing_key(&stored, &resealed).await? {
            tracing::debug!("another replica re-sealed the signing key first");
        }
        Ok(key)
    }

    /// Checks a username (or robot login name) and password or secret, from `client` (the
    /// caller's address, when known). `None` when they do not match an enabled, unexpired
    /// account; the answer takes about the same time whether or not the account exists.
    /// With a throttle, an attempt it refuses fails with [`Error::Throttled`] before any
    /// check, and every failure is counted.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Option<Principal>> {
        let Some(throttle) = &self.throttle else {
            return self.check_credentials(username, password).await;
        };
        let attempt = throttle.admit(username, client, now_ms()).await?;
        let found = self.check_credentials(username, password).await?;
        match &found {
            Some(_) => throttle.succeeded(&attempt).await?,
            None => throttle.failed(&attempt, now_ms()).await?,
        }
        Ok(found)
    }

    async fn check_credentials(&self, username: &str, password: &str) -> Result<Option<Principal>> {
        if let Some(name) = username.strip_prefix(&self.robot_prefix) {
            let robot = self.store.robot_by_name(name).await?;
            let stored = robot.as_ref().map(|r| r.secret_hash.as_str());
            if !self.verify(stored, password).await? {
                return Ok(None);
            }
            return Ok(robot
                .filter(|r| !r.disabled && !r.expired(now_ms()))
                .map(|robot| Principal::Robot {
                    robot,
                    login: username.to_owned(),
                }));
        }
        if let Some(external) = &self.external
            && let External::Checked(user) = external.check(username, password).await?
        {
            return Ok(user.map(Principal::User));
        }
        let user = self.store.user_by_name(username).await?;
        let stored = user.as_ref().map(|u| u.password_hash.as_str());
        if !self.verify(stored, password).await? {
            return Ok(None);
        }
        Ok(user.map(Principal::User))
    }

    /// The principal named by a token's subject and account id, if that very account
    /// still exists and may still act (a deleted user, or a disabled, expired or deleted
    /// robot, may not; nor may a new account that took a deleted one's name).
    pub async fn subject(&self, sub: &str, account_id: Option<i64>) -> Result<Option<Principal>> {
        if sub.is_empty() {
            return Ok(Some(Principal::Anonymous));
        }
        let Some(id) = account_id else {
            return Ok(None);
        };
        if let Some(name) = sub.strip_prefix(&self.robot_prefix) {
            return Ok(self
                .store
                .robot_by_name(name)
                .await?
                .filter(|r| r.id == id && !r.disabled && !r.expired(now_ms()))
                .map(|robot| Principal::Robot {
                    robot,
                    login: sub.to_owned(),
                }));
        }
        Ok(self
            .store
            .user_by_name(sub)
            .await?
            .filter(|u| u.id == id)
            .map(Principal::User))
    }

    /// What `principal` may do in `project`.
    pub async fn grants(&self, principal: &Principal, project: &Project) -> Result<Grants> {
        Ok(match principal {
            Principal::Anonymous => Grants::Rbac(ProjectAccess {
                public: project.public,
                ..ProjectAccess::default()
            }),
            Principal::User(u) => Grants::Rbac(ProjectAccess {
                sysadmin: u.sysadmin,
                roles: if u.sysadmin {
                    Vec::new()
                } else {
                    self.store.roles(project.id, u.id).await?
                },
                public: project.public,
            }),
            Principal::Robot { robot, .. } => Grants::Robot {
                allowed: if robot.project_id == 0 || robot.project_id == project.id {
                    robot_grants(&robot.permissions, project)
                } else {
                    Vec::new()
                },
                public: project.public,
            },
        })
    }

    /// The project named `name` (if it exists) and the principal's grants in it. A
    /// missing project grants nothing, except to a system administrator.
    pub async fn project_grants(
        &self,
        principal: &Principal,
        name: &str,
    ) -> Result<(Option<Project>, Grants)> {
        match self.store.project_by_name(name).await? {
            Some(p) => {
                let g = self.grants(principal, &p).await?;
                Ok((Some(p), g))
            }
            None if principal.is_sysadmin() => Ok((
                None,
                Grants::Rbac(ProjectAccess {
                    sysadmin: true,
                    ..ProjectAccess::default()
                }),
            )),
            None => Ok((None, Grants::none())),
        }
    }

    async fn verify(&self, stored: Option<&str>, candidate: &str) -> Result<bool> {
        let Some(stored) = stored else {
            verify_blocking(DUMMY_HASH.clone(), candidate.to_owned()).await?;
            return Ok(false);
        };
        let key: [u8; 32] = Sha256::new()
            .chain_update(stored.as_bytes())
            .chain_update([0u8])
            .chain_update(candidate.as_bytes())
            .finalize()
            .into();
        if self.verified.get(&key).is_some() {
            return Ok(true);
        }
        let ok = verify_blocking(stored.to_owned(), candidate.to_owned()).await?;
        if ok {
            self.verified.put(key, ());
        }
        Ok(ok)
    }
}

/// Hashes a password on the blocking pool, within this process's bounds
/// ([`crate::passwords`]).
pub async fn hash_blocking(password: String) -> Result<String> {
    crate::passwords::global().hash(password).await
}

/// Verifies a password on the blocking pool, within this process's bounds; fails with
/// [`Error::Busy`] when too many checks are waiting already.
pub async fn verify_blocking(stored: String, candidate: String) -> Result<bool> {
    crate::passwords::global().verify(stored, candidate).await
}
