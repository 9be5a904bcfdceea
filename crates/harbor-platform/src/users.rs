//! User accounts: created by system administrators (or by visitors signing up when
//! `self_registration` is on), read and edited by themselves or an administrator.

use std::sync::Arc;

use harbor_auth::accounts::{hash_blocking, verify_blocking};
use harbor_auth::secret::check_policy;
use harbor_auth::{Accounts, AuthError, Principal};
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::{Match, NewUser, Page, User, UserQuery, UserUpdate, check_username};
use harbor_core::{Error, Result};

use crate::access;
use crate::settings::SystemSettings;

/// Longest realname, comment and e-mail address, in characters.
const MAX_TEXT: usize = 255;

/// An account to create.
#[derive(Clone, Debug, Default)]
pub struct CreateUser {
    /// Login name (Harbor's rules).
    pub username: String,
    /// E-mail address; blank for none.
    pub email: Option<String>,
    /// Display name.
    pub realname: String,
    /// Free text.
    pub comment: String,
    /// Password, checked against the policy and stored as an Argon2id hash.
    pub password: String,
}

/// Profile fields to change; `None` keeps a field (a blank e-mail clears it).
#[derive(Clone, Debug, Default)]
pub struct ProfileChanges {
    /// New e-mail address.
    pub email: Option<String>,
    /// New display name.
    pub realname: Option<String>,
    /// New comment.
    pub comment: Option<String>,
}

fn password_policy(e: AuthError) -> Error {
    match e {
        AuthError::Policy(m) => Error::Invalid(format!("password {m}")),
        other => Error::internal(other),
    }
}

/// A trimmed e-mail address, `None` when blank; a malformed one is refused.
fn check_email(email: Option<String>) -> Result<Option<String>> {
    match email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()) {
        None => Ok(None),
        Some(e) => {
            let valid = e.len() <= MAX_TEXT
                && e.split_once('@').is_some_and(|(a, b)| {
                    !a.is_empty() && b.contains('.') && !e.contains(char::is_whitespace)
                });
            if valid {
                Ok(Some(e))
            } else {
                Err(Error::Invalid(format!("invalid email {e:?}")))
            }
        }
    }
}

fn check_text(field: &str, v: &str) -> Result<()> {
    if v.chars().count() > MAX_TEXT {
        return Err(Error::Invalid(format!(
            "{field} is longer than {MAX_TEXT} characters"
        )));
    }
    Ok(())
}

/// Fails unless `by` is the user `id` or a system administrator.
fn self_or_admin(by: &Principal, id: i64) -> Result<()> {
    access::require_authenticated(by)?;
    if by.is_sysadmin() || by.user_id() == Some(id) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the user or a system administrator may do this".into(),
        ))
    }
}

/// The user service.
#[derive(Clone)]
pub struct Users {
    accounts: Arc<Accounts>,
    settings: SystemSettings,
}

impl Users {
    /// Users kept by `accounts`' store, under the run-time `settings`.
    pub fn new(accounts: Arc<Accounts>, settings: SystemSettings) -> Self {
        Users { accounts, settings }
    }

    /// Creates an account (never an administrator). System administrators may; with
    /// `self_registration` on, so may an anonymous visitor, for themselves (the event's
    /// actor is then the new user).
    /// Outside `db_auth`, users come from the directory or the provider: none is created
    /// here (Harbor's rule).
    pub async fn create(&self, by: &Principal, req: CreateUser) -> Result<User> {
        let settings = self.settings.get().await;
        if settings.auth.mode != crate::sign_in::AuthMode::Db {
            return Err(Error::Forbidden(format!(
                "users cannot be created here when auth_mode is {}: they sign in through it",
                settings.auth.mode
            )));
        }
        let signing_up = !by.is_authenticated() && settings.self_registration;
        if !signing_up {
            access::require_sysadmin(by)?;
        }
        check_username(&req.username)?;
        check_text("realname", &req.realname)?;
        check_text("comment", &req.comment)?;
        let email = check_email(req.email)?;
        check_policy(&req.password).map_err(password_policy)?;
        let actor = if signing_up {
            req.username.clone()
        } else {
            by.name().to_owned()
        };
        let event = DomainEvent::UserCreated {
            user: req.username.clone(),
        };
        let new = NewUser {
            username: req.username,
            email,
            realname: req.realname,
            comment: req.comment,
            password_hash: hash_blocking(req.password).await?,
            sysadmin: false,
        };
        self.accounts
            .store()
            .create_user_emitting(&new, &[NewEvent::now(&actor, event)])
            .await
    }

    /// How many accounts exist: a cheap query, which health checks use to probe the
    /// database.
    pub async fn count(&self) -> Result<u64> {
        self.accounts.store().user_count().await
    }

    /// One page of accounts (system administrators).
    pub async fn list(
        &self,
        by: &Principal,
        query: &UserQuery,
        page: Page,
    ) -> Result<(Vec<User>, u64)> {
        access::require_sysadmin(by)?;
        self.accounts.store().users(query, page).await
    }

    /// Accounts whose username contains `name`: any signed-in user may look names up (to
    /// add members).
    pub async fn search(&self, by: &Principal, name: &str, page: Page) -> Result<(Vec<User>, u64)> {
        access::require_authenticated(by)?;
        if name.is_empty() {
            return Err(Error::Invalid("username is required".into()));
        }
        let query = UserQuery {
            username: Some(Match::Fuzzy(name.to_owned())),
            email: None,
        };
        self.accounts.store().users(&query, page).await
    }

    /// One account (itself, or any for system administrators).
    pub async fn get(&self, by: &Principal, id: i64) -> Result<User> {
        self_or_admin(by, id)?;
        self.load(id).await
    }

    async fn load(&self, id: i64) -> Result<User> {
        self.accounts
            .store()
            .user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id} not found")))
    }

    fn updated(by: &Principal, user: &User, change: &str) -> [NewEvent; 1] {
        [NewEvent::now(
            by.name(),
            DomainEvent::UserUpdated {
                user: user.username.clone(),
                change: change.to_owned(),
            },
        )]
    }

    /// Changes profile fields (itself, or an administrator).
    pub async fn update_profile(
        &self,
        by: &Principal,
        id: i64,
        changes: ProfileChanges,
    ) -> Result<User> {
        self_or_admin(by, id)?;
        let user = self.load(id).await?;
        for (f, v) in [
            ("realname", &changes.realname),
            ("comment", &changes.comment),
        ] {
            if let Some(v) = v {
                check_text(f, v)?;
            }
        }
        let update = UserUpdate {
            email: match changes.email {
                Some(e) => Some(check_email(Some(e))?),
                None => None,
            },
            realname: changes.realname,
            comment: changes.comment,
        };
        self.accounts
            .store()
            .update_user_emitting(id, &update, &Self::updated(by, &user, "profile"))
            .await
    }

    /// Sets a new password and ends the user's web sessions. Users change their own with
    /// the old one; a system administrator resets another user's without it.
    pub async fn change_password(
        &self,
        by: &Principal,
        id: i64,
        old: String,
        new: String,
    ) -> Result<()> {
        self_or_admin(by, id)?;
        let user = self.load(id).await?;
        let mode = self.settings.get().await.auth.mode;
        if mode != crate::sign_in::AuthMode::Db && user.username != harbor_auth::accounts::ADMIN {
            return Err(Error::Forbidden(format!(
                "passwords are kept by the {mode} sign-in, not here"
            )));
        }
        if by.user_id() == Some(id) && !verify_blocking(user.password_hash.clone(), old).await? {
            return Err(Error::Forbidden("the old password is wrong".into()));
        }
        check_policy(&new).map_err(password_policy)?;
        let hash = hash_blocking(new).await?;
        self.accounts
            .store()
            .set_password_emitting(id, &hash, &Self::updated(by, &user, "password"))
            .await
    }

    /// Grants or revokes system administration (administrators; nobody revokes their
    /// own).
    pub async fn set_sysadmin(&self, by: &Principal, id: i64, sysadmin: bool) -> Result<()> {
        access::require_sysadmin(by)?;
        if by.user_id() == Some(id) && !sysadmin {
            return Err(Error::Forbidden(
                "you cannot revoke your own administrator rights".into(),
            ));
        }
        let user = self.load(id).await?;
        self.accounts
            .store()
            .set_sysadmin_emitting(id, sysadmin, &Self::updated(by, &user, "sysadmin"))
            .await
    }

    /// Deletes an account with its memberships and sessions (administrators; nobody
    /// deletes their own).
    pub async fn delete(&self, by: &Principal, id: i64) -> Result<()> {
        access::require_sysadmin(by)?;
        if by.user_id() == Some(id) {
            return Err(Error::Forbidden(
                "you cannot delete your own account".into(),
            ));
        }
        let user = self.load(id).await?;
        let event = DomainEvent::UserDeleted {
            user: user.username,
        };
        self.accounts
            .store()
            .delete_user_emitting(id, &[NewEvent::now(by.name(), event)])
            .await
    }
}
