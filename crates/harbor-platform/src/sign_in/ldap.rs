//! LDAP: signing users in against a directory (Harbor's `ldap_auth`), onboarding them at
//! their first sign-in, and the directory operations of Harbor's `/ldap` API (ping, user
//! and group searches, imports).
//!
//! A sign-in binds with the search DN, finds exactly one entry matching
//! `(&<ldap_filter>(<ldap_uid>=<username>))`, binds as that entry with the password, and
//! creates or updates the user. Successful checks are remembered for a minute (keyed by a
//! hash of the credentials), so that clients sending Basic credentials on every request
//! do not bind every time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use harbor_auth::Principal;
use harbor_auth::ttl::TtlMap;
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::groups::GroupType;
use harbor_core::identity::{NewUser, User, UserUpdate, check_username};
use harbor_core::ports::IdentityStore;
use harbor_core::{Error, Result};
use ldap3::{Ldap as Conn, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, ldap_escape};
use sha2::{Digest as _, Sha256};

use crate::access;
use crate::settings::SystemSettings;
use crate::sign_in::config::{self, LdapConfig, LdapScope};
use crate::sign_in::memberships::Memberships;

/// How long a successful sign-in is remembered.
const REMEMBER: Duration = Duration::from_secs(60);
/// At most this many remembered sign-ins.
const REMEMBER_MAX: usize = 10_000;
/// At most this many entries of a search are read.
const SEARCH_LIMIT: i32 = 500;
/// LDAP's "invalid credentials" result code.
const INVALID_CREDENTIALS: u32 = 49;
/// LDAP's "size limit exceeded" result code: the entries read so far are kept.
const SIZE_LIMIT_EXCEEDED: u32 = 4;

/// A directory user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LdapUser {
    /// The login name (the `ldap_uid` attribute).
    pub username: String,
    /// The display name (`displayName`, else `cn`).
    pub realname: String,
    /// The e-mail address (`mail`, else `email`), when there is one.
    pub email: Option<String>,
    /// The entry's DN.
    pub dn: String,
}

/// A directory group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LdapGroup {
    /// Its name (the `ldap_group_attribute_name` attribute).
    pub name: String,
    /// Its DN.
    pub dn: String,
}

/// Who signed in: the user, the DNs of their groups, and whether one of them is the
/// administrators' group.
#[derive(Clone, Debug)]
pub struct LdapIdentity {
    /// The user, as stored.
    pub user: User,
    /// The DNs of the user's groups.
    pub groups: Vec<String>,
    /// Whether the user is in `ldap_group_admin_dn`.
    pub admin: bool,
}

/// What `/ldap/ping` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingResult {
    /// Whether the server bound and searched.
    pub success: bool,
    /// What went wrong, or what was found.
    pub message: String,
}

/// One failed import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportFailure {
    /// The login name asked for.
    pub uid: String,
    /// Why it failed.
    pub error: String,
}

/// Why a directory operation failed.
#[derive(Debug)]
enum Failure {
    /// The directory could not be reached or did not answer in time.
    Unreachable(String),
    /// A bind was refused (LDAP result 49).
    BadCredentials,
    /// Anything else the directory said.
    Refused(String),
}

impl Failure {
    fn from_ldap(e: ldap3::LdapError, what: &str) -> Failure {
        match e {
            ldap3::LdapError::LdapResult { result } if result.rc == INVALID_CREDENTIALS => {
                Failure::BadCredentials
            }
            ldap3::LdapError::LdapResult { result } => Failure::Refused(format!(
                "{what}: result {} {}",
                result.rc,
                result.text.trim()
            )),
            ldap3::LdapError::Timeout { .. } => Failure::Unreachable(format!("{what}: timed out")),
            other => Failure::Unreachable(format!("{what}: {other}")),
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Unreachable(m) | Failure::Refused(m) => m.clone(),
            Failure::BadCredentials => "the directory refused the credentials".into(),
        }
    }

    /// The error a sign-in or API call answers with: the directory being away is the
    /// server's trouble, for a moment (503); anything else is a bad setting (400).
    fn into_error(self) -> Error {
        match self {
            Failure::Unreachable(m) => {
                Error::Busy(format!("the LDAP directory cannot be reached ({m})"))
            }
            Failure::BadCredentials => Error::Invalid(
                "the LDAP directory refused the search DN and password (ldap_search_dn)".into(),
            ),
            Failure::Refused(m) => Error::Invalid(format!("the LDAP directory refused: {m}")),
        }
    }
}

/// An open, bound connection.
struct Session {
    conn: Conn,
    timeout: Duration,
}

impl Session {
    /// Connects to `cfg`'s directory (TLS for `ldaps://`, StartTLS when asked).
    async fn open(cfg: &LdapConfig) -> std::result::Result<Session, Failure> {
        let url = config::ldap_url(&cfg.url)
            .map_err(|why| Failure::Refused(format!("ldap_url must be {why}")))?;
        let timeout = Duration::from_secs(cfg.timeout_secs);
        let settings = LdapConnSettings::new()
            .set_conn_timeout(timeout)
            .set_starttls(cfg.starttls && url.starts_with("ldap://"))
            .set_no_tls_verify(!cfg.verify_cert);
        let open = LdapConnAsync::with_settings(settings, &url);
        let (conn, ldap) = tokio::time::timeout(timeout, open)
            .await
            .map_err(|_| Failure::Unreachable(format!("connecting to {url}: timed out")))?
            .map_err(|e| Failure::from_ldap(e, &format!("connecting to {url}")))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection ended");
            }
        });
        Ok(Session {
            conn: ldap,
            timeout,
        })
    }

    /// Binds as `dn` with `password`; an empty DN stays anonymous.
    async fn bind(&mut self, dn: &str, password: &str) -> std::result::Result<(), Failure> {
        if dn.is_empty() {
            return Ok(());
        }
        let result = self
            .conn
            .with_timeout(self.timeout)
            .simple_bind(dn, password)
            .await
            .map_err(|e| Failure::from_ldap(e, "binding"))?;
        match result.rc {
            0 => Ok(()),
            INVALID_CREDENTIALS => Err(Failure::BadCredentials),
            rc => Err(Failure::Refused(format!(
                "binding: result {rc} {}",
                result.text.trim()
            ))),
        }
    }

    /// Up to `limit` entries under `base` matching `filter`.
    async fn search(
        &mut self,
        base: &str,
        scope: LdapScope,
        filter: &str,
        attrs: Vec<String>,
        limit: i32,
    ) -> std::result::Result<Vec<SearchEntry>, Failure> {
        let scope = match scope {
            LdapScope::Base => Scope::Base,
            LdapScope::OneLevel => Scope::OneLevel,
            LdapScope::Subtree => Scope::Subtree,
        };
        let result = self
            .conn
            .with_timeout(self.timeout)
            .with_search_options(ldap3::SearchOptions::new().sizelimit(limit))
            .search(base, scope, filter, attrs)
            .await
            .map_err(|e| Failure::from_ldap(e, "searching"))?;
        let ldap3::SearchResult(entries, res) = result;
        if res.rc != 0 && res.rc != SIZE_LIMIT_EXCEEDED {
            return Err(Failure::Refused(format!(
                "searching {base}: result {} {}",
                res.rc,
                res.text.trim()
            )));
        }
        Ok(entries.into_iter().map(SearchEntry::construct).collect())
    }

    async fn close(mut self) {
        let _ = self.conn.unbind().await;
    }
}

/// The first value of the attribute `name` (compared without case).
fn attr<'a>(entry: &'a SearchEntry, name: &str) -> Option<&'a str> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// Every value of the attribute `name` (compared without case).
fn attrs<'a>(entry: &'a SearchEntry, name: &str) -> Vec<&'a str> {
    entry
        .attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.iter().map(String::as_str))
        .collect()
}

/// `(&<extra>(<uid>=<value>))`, or without `extra` when it is empty; `value` is
/// escaped unless `raw` (a search pattern of ours with `*`).
fn and_filter(extra: &str, attribute: &str, value: &str) -> String {
    if extra.is_empty() {
        format!("({attribute}={value})")
    } else {
        format!("(&{extra}({attribute}={value}))")
    }
}

/// Whether two DNs name the same entry (compared without case and spaces around
/// separators).
pub fn same_dn(a: &str, b: &str) -> bool {
    normal_dn(a) == normal_dn(b)
}

/// `dn` normalised for comparisons: no case, no spaces around separators.
fn normal_dn(s: &str) -> String {
    s.split(',')
        .map(|p| {
            p.split_once('=').map_or_else(
                || p.trim().to_ascii_lowercase(),
                |(k, v)| format!("{}={}", k.trim(), v.trim()).to_ascii_lowercase(),
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `dn` is below `base`.
fn dn_under(dn: &str, base: &str) -> bool {
    normal_dn(dn).ends_with(&format!(",{}", normal_dn(base)))
}

/// The value of a DN's first part (`developers` of `cn=developers,ou=groups,...`).
fn first_rdn_value(dn: &str) -> Option<String> {
    let first = dn.split(',').next()?;
    let (_, v) = first.split_once('=')?;
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// The directory of the settings, and the users it signs in.
#[derive(Clone)]
pub struct Ldap {
    settings: SystemSettings,
    store: Arc<dyn IdentityStore>,
    memberships: Memberships,
    remembered: Arc<TtlMap<[u8; 32], User>>,
}

impl Ldap {
    /// The directory `settings` name; users kept in `store`.
    pub fn new(settings: SystemSettings, store: Arc<dyn IdentityStore>) -> Self {
        Ldap {
            settings,
            memberships: Memberships::new(store.clone()),
            store,
            remembered: Arc::new(TtlMap::new(REMEMBER, REMEMBER_MAX)),
        }
    }

    /// A bound session with the search DN of `cfg` (`password` given, else the stored one).
    async fn session(
        &self,
        cfg: &LdapConfig,
        password: Option<String>,
    ) -> std::result::Result<Session, Failure> {
        let password = match password {
            Some(p) => p,
            None => self
                .settings
                .secret("ldap_search_password")
                .await
                .map_err(|e| Failure::Refused(format!("reading the search password: {e}")))?
                .unwrap_or_default(),
        };
        let mut session = Session::open(cfg).await?;
        if let Err(e) = session.bind(&cfg.search_dn, &password).await {
            session.close().await;
            return Err(e);
        }
        Ok(session)
    }

    /// The attributes read of a user entry.
    fn user_attrs(cfg: &LdapConfig) -> Vec<String> {
        let mut a: Vec<String> = ["mail", "email", "cn", "displayName"]
            .into_iter()
            .map(String::from)
            .collect();
        a.push(cfg.uid.clone());
        if !cfg.group_membership_attribute.is_empty() {
            a.push(cfg.group_membership_attribute.clone());
        }
        a
    }

    fn to_user(cfg: &LdapConfig, entry: &SearchEntry) -> Option<LdapUser> {
        let username = attr(entry, &cfg.uid)?.to_owned();
        Some(LdapUser {
            realname: attr(entry, "displayName")
                .or_else(|| attr(entry, "cn"))
                .unwrap_or(&username)
                .to_owned(),
            email: attr(entry, "mail")
                .or_else(|| attr(entry, "email"))
                .map(str::to_owned),
            dn: entry.dn.clone(),
            username,
        })
    }

    /// The one entry whose `ldap_uid` is `username`; `None` when there is none or more.
    async fn find(
        session: &mut Session,
        cfg: &LdapConfig,
        username: &str,
    ) -> std::result::Result<Option<SearchEntry>, Failure> {
        let filter = and_filter(&cfg.filter, &cfg.uid, &ldap_escape(username));
        let mut found = session
            .search(&cfg.base_dn, cfg.scope, &filter, Self::user_attrs(cfg), 2)
            .await?;
        Ok((found.len() == 1).then(|| found.remove(0)))
    }

    /// The DNs of `entry`'s groups: its membership attribute, else (when a group base is
    /// set) the groups listing it as a member.
    async fn groups_of(
        session: &mut Session,
        cfg: &LdapConfig,
        entry: &SearchEntry,
    ) -> std::result::Result<Vec<String>, Failure> {
        let mut dns: Vec<String> = attrs(entry, &cfg.group_membership_attribute)
            .into_iter()
            .map(str::to_owned)
            .collect();
        if dns.is_empty() && !cfg.group_base_dn.is_empty() {
            let dn = ldap_escape(&entry.dn);
            let uid = attr(entry, &cfg.uid).map(|u| ldap_escape(u).into_owned());
            let mut any = format!("(|(member={dn})(uniqueMember={dn})");
            if let Some(uid) = uid {
                any.push_str(&format!("(memberUid={uid})"));
            }
            any.push(')');
            let filter = if cfg.group_search_filter.is_empty() {
                any
            } else {
                format!("(&{}{any})", cfg.group_search_filter)
            };
            let found = session
                .search(
                    &cfg.group_base_dn,
                    cfg.group_search_scope,
                    &filter,
                    vec!["1.1".into()],
                    SEARCH_LIMIT,
                )
                .await?;
            dns = found.into_iter().map(|e| e.dn).collect();
        }
        Ok(dns)
    }

    /// Signs `username` in with `password` against the directory: the stored user
    /// (created at the first sign-in, its name and e-mail kept current), or `None` when
    /// the directory does not know the pair. An empty password is refused without asking
    /// (an LDAP bind with one would be anonymous, and succeed).
    pub async fn sign_in(
        &self,
        cfg: &LdapConfig,
        username: &str,
        password: &str,
    ) -> Result<Option<User>> {
        Ok(self
            .authenticate(cfg, username, password)
            .await?
            .map(|i| i.user))
    }

    /// As [`Ldap::sign_in`], with the user's groups.
    pub async fn authenticate(
        &self,
        cfg: &LdapConfig,
        username: &str,
        password: &str,
    ) -> Result<Option<LdapIdentity>> {
        if password.is_empty() || username.is_empty() || check_username(username).is_err() {
            return Ok(None);
        }
        let key = remember_key(cfg, username, password);
        if let Some(user) = self.remembered.get(&key) {
            return Ok(Some(LdapIdentity {
                user,
                groups: Vec::new(),
                admin: false,
            }));
        }
        let mut session = self.session(cfg, None).await.map_err(Failure::into_error)?;
        let result = self.check(&mut session, cfg, username, password).await;
        session.close().await;
        let Some((found, groups)) = result.map_err(Failure::into_error)? else {
            return Ok(None);
        };
        let user = self.onboard(&found).await?;
        let admin = !cfg.group_admin_dn.is_empty()
            && groups.iter().any(|g| same_dn(g, &cfg.group_admin_dn));
        let user = self.sync_groups(cfg, user, &groups, admin).await?;
        self.remembered.put(key, user.clone());
        Ok(Some(LdapIdentity {
            user,
            groups,
            admin,
        }))
    }

    /// Records the user's LDAP groups (those under `ldap_group_base_dn` when it is set,
    /// named by their DN's first value) and whether they are an administrator through
    /// `ldap_group_admin_dn`; the user as stored afterwards.
    async fn sync_groups(
        &self,
        cfg: &LdapConfig,
        user: User,
        groups: &[String],
        admin: bool,
    ) -> Result<User> {
        let pairs: Vec<(String, String)> = groups
            .iter()
            .filter(|dn| cfg.group_base_dn.is_empty() || dn_under(dn, &cfg.group_base_dn))
            .filter_map(|dn| Some((first_rdn_value(dn)?, dn.clone())))
            .collect();
        self.memberships
            .apply(user, GroupType::Ldap, &pairs, admin)
            .await
    }

    /// Finds the entry and binds as it: the user and their groups, `None` when refused.
    async fn check(
        &self,
        session: &mut Session,
        cfg: &LdapConfig,
        username: &str,
        password: &str,
    ) -> std::result::Result<Option<(LdapUser, Vec<String>)>, Failure> {
        let Some(entry) = Self::find(session, cfg, username).await? else {
            return Ok(None);
        };
        let Some(found) = Self::to_user(cfg, &entry) else {
            return Ok(None);
        };
        // The groups are read with the search DN's rights, before binding as the user.
        let groups = Self::groups_of(session, cfg, &entry).await?;
        match session.bind(&entry.dn, password).await {
            Ok(()) => Ok(Some((found, groups))),
            Err(Failure::BadCredentials) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The stored user for a directory user: created when missing (with an unusable
    /// password: the directory checks it), its display name and e-mail updated when they
    /// changed.
    async fn onboard(&self, found: &LdapUser) -> Result<User> {
        if let Some(user) = self.store.user_by_name(&found.username).await? {
            if user.realname == found.realname && user.email == found.email {
                return Ok(user);
            }
            let update = UserUpdate {
                email: Some(found.email.clone()),
                realname: Some(found.realname.clone()),
                comment: None,
            };
            return match self.store.update_user(user.id, &update).await {
                Ok(u) => Ok(u),
                // Another account holds the e-mail address: keep the stored one.
                Err(Error::Conflict(_)) => Ok(user),
                Err(e) => Err(e),
            };
        }
        check_username(&found.username)?;
        let random = uuid::Uuid::new_v4().to_string() + &uuid::Uuid::new_v4().to_string();
        let password_hash = harbor_auth::accounts::hash_blocking(random).await?;
        let mut new = NewUser {
            username: found.username.clone(),
            email: found.email.clone(),
            realname: found.realname.clone(),
            comment: "onboarded from LDAP".into(),
            password_hash,
            sysadmin: false,
        };
        let events = [NewEvent::now(
            &found.username,
            DomainEvent::UserCreated {
                user: found.username.clone(),
            },
        )];
        match self.store.create_user_emitting(&new, &events).await {
            Ok(u) => Ok(u),
            Err(Error::Conflict(_)) => {
                // The same user onboarded by a concurrent sign-in, or the e-mail held by
                // another account.
                if let Some(u) = self.store.user_by_name(&found.username).await? {
                    return Ok(u);
                }
                new.email = None;
                self.store.create_user_emitting(&new, &events).await
            }
            Err(e) => Err(e),
        }
    }

    /// Whether `cfg` (the stored settings with the given fields over them) can bind and
    /// search; `password` overrides the stored search password (system administrators).
    pub async fn ping(
        &self,
        by: &Principal,
        cfg: &LdapConfig,
        password: Option<String>,
    ) -> Result<PingResult> {
        access::require_sysadmin(by)?;
        if cfg.url.is_empty() {
            return Err(Error::Invalid("ldap_url is not set".into()));
        }
        let mut session = match self.session(cfg, password).await {
            Ok(s) => s,
            Err(e) => {
                return Ok(PingResult {
                    success: false,
                    message: e.message(),
                });
            }
        };
        let filter = and_filter(&cfg.filter, &cfg.uid, "*");
        let result = session
            .search(&cfg.base_dn, cfg.scope, &filter, vec!["1.1".into()], 1)
            .await;
        session.close().await;
        Ok(match result {
            Ok(_) => PingResult {
                success: true,
                message: "bound and searched the directory".into(),
            },
            Err(e) => PingResult {
                success: false,
                message: e.message(),
            },
        })
    }

    /// The stored LDAP settings, refused when the URL is not set.
    async fn configured(&self) -> Result<LdapConfig> {
        let cfg = self.settings.get().await.auth.ldap;
        if cfg.url.is_empty() {
            return Err(Error::Invalid(
                "LDAP is not configured: set ldap_url and ldap_base_dn".into(),
            ));
        }
        Ok(cfg)
    }

    /// Directory users whose login name contains `username` (all when empty), at most
    /// 500 (system administrators).
    pub async fn search_users(&self, by: &Principal, username: &str) -> Result<Vec<LdapUser>> {
        access::require_sysadmin(by)?;
        let cfg = self.configured().await?;
        let pattern = if username.is_empty() {
            "*".to_owned()
        } else {
            format!("*{}*", ldap_escape(username))
        };
        let filter = and_filter(&cfg.filter, &cfg.uid, &pattern);
        let mut session = self
            .session(&cfg, None)
            .await
            .map_err(Failure::into_error)?;
        let found = session
            .search(
                &cfg.base_dn,
                cfg.scope,
                &filter,
                Self::user_attrs(&cfg),
                SEARCH_LIMIT,
            )
            .await;
        session.close().await;
        Ok(found
            .map_err(Failure::into_error)?
            .iter()
            .filter_map(|e| Self::to_user(&cfg, e))
            .collect())
    }

    /// Creates the users of `uids` from the directory (system administrators): what
    /// failed and why (unknown, ambiguous, already a user, an invalid name).
    pub async fn import_users(
        &self,
        by: &Principal,
        uids: &[String],
    ) -> Result<Vec<ImportFailure>> {
        access::require_sysadmin(by)?;
        if uids.is_empty() {
            return Err(Error::Invalid("ldap_uid_list is empty".into()));
        }
        if uids.len() > 1000 {
            return Err(Error::Invalid(
                "at most 1000 users are imported at once".into(),
            ));
        }
        let cfg = self.configured().await?;
        let mut session = self
            .session(&cfg, None)
            .await
            .map_err(Failure::into_error)?;
        let mut failures = Vec::new();
        let mut found_users = Vec::new();
        for uid in uids {
            let fail = |error: &str| ImportFailure {
                uid: uid.clone(),
                error: error.to_owned(),
            };
            if check_username(uid).is_err() {
                failures.push(fail("not a valid username"));
                continue;
            }
            match Self::find(&mut session, &cfg, uid).await {
                Ok(Some(entry)) => match Self::to_user(&cfg, &entry) {
                    Some(u) => found_users.push(u),
                    None => failures.push(fail("the entry has no login name attribute")),
                },
                Ok(None) => failures.push(fail("not found in the directory (or not unique)")),
                Err(e) => {
                    session.close().await;
                    return Err(e.into_error());
                }
            }
        }
        session.close().await;
        for found in found_users {
            if self.store.user_by_name(&found.username).await?.is_some() {
                failures.push(ImportFailure {
                    uid: found.username.clone(),
                    error: "the user exists already".into(),
                });
                continue;
            }
            self.onboard(&found).await?;
        }
        Ok(failures)
    }

    /// Directory groups named `name` (a substring) or with the DN `dn` (system
    /// administrators), at most 500.
    pub async fn search_groups(
        &self,
        by: &Principal,
        name: &str,
        dn: &str,
    ) -> Result<Vec<LdapGroup>> {
        access::require_sysadmin(by)?;
        let cfg = self.configured().await?;
        if cfg.group_base_dn.is_empty() && dn.is_empty() {
            return Err(Error::Invalid(
                "ldap_group_base_dn is not set: groups cannot be searched".into(),
            ));
        }
        let name_attr = cfg.group_attribute_name.clone();
        let base_filter = if cfg.group_search_filter.is_empty() {
            "(objectClass=*)".to_owned()
        } else {
            cfg.group_search_filter.clone()
        };
        let (base, scope, filter) = if dn.is_empty() {
            let pattern = if name.is_empty() {
                "*".to_owned()
            } else {
                format!("*{}*", ldap_escape(name))
            };
            (
                cfg.group_base_dn.clone(),
                cfg.group_search_scope,
                format!("(&{base_filter}({name_attr}={pattern}))"),
            )
        } else {
            (dn.to_owned(), LdapScope::Base, base_filter)
        };
        let mut session = self
            .session(&cfg, None)
            .await
            .map_err(Failure::into_error)?;
        let found = session
            .search(&base, scope, &filter, vec![name_attr.clone()], SEARCH_LIMIT)
            .await;
        session.close().await;
        let found = match found {
            Ok(f) => f,
            // A DN that does not exist: no group.
            Err(Failure::Refused(m)) if !dn.is_empty() && m.contains("result 32") => Vec::new(),
            Err(e) => return Err(e.into_error()),
        };
        Ok(found
            .into_iter()
            .map(|e| LdapGroup {
                name: attr(&e, &name_attr).unwrap_or_default().to_owned(),
                dn: e.dn,
            })
            .collect())
    }

    /// Forgets remembered sign-ins (after the settings changed).
    pub fn forget(&self) {
        self.remembered.clear();
    }
}

/// The key a successful sign-in is remembered under: the settings, the username and the
/// password, hashed.
fn remember_key(cfg: &LdapConfig, username: &str, password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    // Every setting (none of them secret): a changed one checks again.
    let settings = format!("{cfg:?}");
    for part in [settings.as_str(), username, password] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// Settings from a ping request: the stored ones with the given fields over them.
pub fn with_overrides(
    mut cfg: LdapConfig,
    fields: &HashMap<String, serde_json::Value>,
) -> Result<LdapConfig> {
    for (name, value) in fields {
        let v = config::check(name, value)?;
        let s = || v.as_str().unwrap_or_default().to_owned();
        match name.as_str() {
            "ldap_url" => cfg.url = s(),
            "ldap_search_dn" => cfg.search_dn = s(),
            "ldap_base_dn" => cfg.base_dn = s(),
            "ldap_filter" => cfg.filter = s(),
            "ldap_uid" => cfg.uid = s(),
            "ldap_scope" => {
                cfg.scope = match v.as_i64() {
                    Some(0) => LdapScope::Base,
                    Some(1) => LdapScope::OneLevel,
                    _ => LdapScope::Subtree,
                }
            }
            "ldap_timeout" => cfg.timeout_secs = v.as_u64().unwrap_or(5),
            "ldap_verify_cert" => cfg.verify_cert = v.as_bool().unwrap_or(true),
            "ldap_starttls" => cfg.starttls = v.as_bool().unwrap_or(false),
            _ => {}
        }
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_escape_what_users_type() {
        let f = and_filter("(objectClass=person)", "uid", &ldap_escape("a*)(uid=*"));
        assert_eq!(f, "(&(objectClass=person)(uid=a\\2a\\29\\28uid=\\2a))");
        assert_eq!(and_filter("", "cn", "bob"), "(cn=bob)");
    }

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert!(same_dn(
            "cn=Admins, ou=Groups,dc=example,dc=com",
            "CN=admins,ou=groups,DC=example, dc=com"
        ));
        assert!(!same_dn("cn=admins,dc=example", "cn=users,dc=example"));
    }

    #[test]
    fn groups_are_named_by_their_first_part_and_kept_under_the_base() {
        assert_eq!(
            first_rdn_value("cn=developers, ou=groups,dc=x").as_deref(),
            Some("developers")
        );
        assert!(dn_under("cn=a,ou=Groups,dc=x", "ou=groups, dc=x"));
        assert!(!dn_under("cn=a,ou=other,dc=x", "ou=groups,dc=x"));
        assert!(!dn_under("ou=groups,dc=x", "ou=groups,dc=x"));
    }

    #[test]
    fn remembered_sign_ins_depend_on_every_credential() {
        let cfg = LdapConfig::default();
        assert_ne!(remember_key(&cfg, "a", "bc"), remember_key(&cfg, "ab", "c"));
        assert_ne!(remember_key(&cfg, "a", "b"), remember_key(&cfg, "a", "c"));
    }
}
