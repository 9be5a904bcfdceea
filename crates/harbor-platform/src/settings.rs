//! Settings changed at run time (Harbor's `/configurations`), stored in the database so
//! every replica follows them.
//!
//! Each replica keeps the last values it read and re-reads them when they are older than
//! the cache's TTL, and only when a caller asks: reads never wait for this. Secret
//! settings are opened once per sealed value and kept in clear in memory (never in
//! `Debug` output); a change made here applies at once, one made elsewhere within the TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use harbor_auth::Principal;
use harbor_auth::sealing::SealingKeys;
use harbor_core::events::{DomainEvent, EventStore, NewEvent};
use harbor_core::ports::IdentityStore;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// What a sealed setting is, bound into its seal.
fn secret_purpose(name: &str) -> String {
    format!("setting:{name}")
}

/// The settings this server changes at run time (Harbor's `/configurations` names). A
/// `None` means "as the server's configuration says".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Every write on `/v2/` and the REST API is refused (pulls go on).
    pub read_only: bool,
    /// Only system administrators create projects (`project_creation_restriction` =
    /// `adminonly`; robots with the system `project:create` permission still may).
    pub admin_only_projects: bool,
    /// Anyone may sign up (`POST /users` without credentials).
    pub self_registration: bool,
    /// Registry token lifetime in minutes (`token_expiration`).
    pub token_expiration_min: Option<u64>,
    /// Portal session lifetime in minutes (`session_timeout`).
    pub session_timeout_min: Option<u64>,
    /// Days a robot created with `duration: 0` lives (`robot_token_duration`).
    pub robot_token_duration_days: Option<i64>,
    /// Storage limit in bytes of new projects created without one (`storage_per_project`,
    /// -1 = unlimited).
    pub storage_per_project: Option<i64>,
    /// A message the portal shows on every page (`banner_message`), empty for none.
    pub banner_message: String,
    /// How users sign in, and the settings of each way (secrets still sealed).
    pub auth: crate::sign_in::AuthConfig,
}

/// Days a robot created with `duration: 0` lives unless `robot_token_duration` says.
pub const DEFAULT_ROBOT_DAYS: i64 = 30;

impl Settings {
    /// Registry token lifetime: the stored setting, else `configured`.
    pub fn token_ttl(&self, configured: Duration) -> Duration {
        self.token_expiration_min
            .map_or(configured, |m| Duration::from_secs(m * 60))
    }

    /// Portal session lifetime: the stored setting, else `configured`.
    pub fn session_ttl(&self, configured: Duration) -> Duration {
        self.session_timeout_min
            .map_or(configured, |m| Duration::from_secs(m * 60))
    }

    /// Harbor's `project_creation_restriction`: `adminonly` or `everyone`.
    pub fn project_creation_restriction(&self) -> &'static str {
        if self.admin_only_projects {
            "adminonly"
        } else {
            "everyone"
        }
    }

    /// Lifetime in days of robots created with `duration: 0`.
    pub fn robot_days(&self) -> i64 {
        self.robot_token_duration_days.unwrap_or(DEFAULT_ROBOT_DAYS)
    }

    /// The settings stored as `rows` (Harbor names, JSON values); unknown names are
    /// ignored.
    pub fn from_rows(rows: &[(String, String)]) -> Settings {
        let mut s = Settings {
            auth: crate::sign_in::config::from_rows(rows),
            ..Settings::default()
        };
        for (name, value) in rows {
            let v: Value = serde_json::from_str(value).unwrap_or(Value::Null);
            match name.as_str() {
                "read_only" => s.read_only = v.as_bool().unwrap_or(false),
                "project_creation_restriction" => {
                    s.admin_only_projects = v.as_str() == Some("adminonly");
                }
                "self_registration" => s.self_registration = v.as_bool().unwrap_or(false),
                "token_expiration" => s.token_expiration_min = v.as_u64(),
                "session_timeout" => s.session_timeout_min = v.as_u64(),
                "robot_token_duration" => s.robot_token_duration_days = v.as_i64(),
                "storage_per_project" => s.storage_per_project = v.as_i64(),
                "banner_message" => s.banner_message = v.as_str().unwrap_or_default().to_owned(),
                _ => {}
            }
        }
        s
    }
}

/// The settings last read: when (`None`: never), what they say, and the secret ones as
/// stored (sealed, hex) by name.
#[derive(Default)]
struct Current {
    at: Option<Instant>,
    settings: Settings,
    sealed: HashMap<String, String>,
}

impl Current {
    fn of_rows(rows: &[(String, String)]) -> Self {
        let sealed = rows
            .iter()
            .filter(|(n, _)| crate::sign_in::config::is_secret(n))
            .filter_map(|(n, v)| {
                let v = serde_json::from_str::<Value>(v).ok()?;
                let v = v.as_str().filter(|v| !v.is_empty())?;
                Some((n.clone(), v.to_owned()))
            })
            .collect();
        Current {
            at: Some(Instant::now()),
            settings: Settings::from_rows(rows),
            sealed,
        }
    }

    fn fresh(&self, ttl: Duration) -> bool {
        self.at.is_some_and(|at| at.elapsed() < ttl)
    }
}

/// A secret setting opened: the SHA-256 of the sealed value it was opened from, and the
/// value in clear.
struct Opened {
    sealed_sha256: [u8; 32],
    plain: String,
}

/// The shared settings, cached for `ttl`.
#[derive(Clone)]
pub struct SystemSettings {
    store: Arc<dyn IdentityStore>,
    events: Option<Arc<dyn EventStore>>,
    keys: Option<Arc<SealingKeys>>,
    ttl: Duration,
    current: Arc<RwLock<Current>>,
    opened: Arc<Mutex<HashMap<String, Opened>>>,
}

impl std::fmt::Debug for SystemSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemSettings")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SystemSettings {
    /// Settings stored in `store`, re-read when older than `ttl`.
    pub fn new(store: Arc<dyn IdentityStore>, ttl: Duration) -> Self {
        SystemSettings {
            store,
            events: None,
            keys: None,
            ttl,
            current: Arc::new(RwLock::new(Current::default())),
            opened: Arc::default(),
        }
    }

    /// The current settings: cached ones if fresh, else read from the database. When
    /// the database cannot be read, the last values read are used (and logged).
    pub async fn get(&self) -> Settings {
        if let Ok(cur) = self.current.read()
            && cur.fresh(self.ttl)
        {
            return cur.settings.clone();
        }
        match self.store.settings().await {
            Ok(rows) => self.remember(&rows),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read system settings; using the last known");
                self.current
                    .read()
                    .map(|c| c.settings.clone())
                    .unwrap_or_default()
            }
        }
    }

    /// Records changes made through [`SystemSettings::update`] in `events`.
    pub fn with_events(mut self, events: Arc<dyn EventStore>) -> Self {
        self.events = Some(events);
        self
    }

    /// Stores settings changed by `by` (a system administrator; the values validated by
    /// the caller) and records a `SettingsChanged` event right after them (the banner by
    /// name only).
    pub async fn update(
        &self,
        by: &Principal,
        values: &[(String, Value)],
    ) -> harbor_core::Result<Settings> {
        crate::access::require_sysadmin(by)?;
        let settings = self.put(values).await?;
        if let Some(events) = &self.events {
            let changed = values
                .iter()
                .map(|(k, v)| {
                    if k == "banner_message" || crate::sign_in::config::is_secret(k) {
                        k.clone()
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect();
            let event = DomainEvent::SettingsChanged { settings: changed };
            if let Err(e) = events
                .append_events(&[NewEvent::now(by.name(), event)])
                .await
            {
                tracing::warn!(error = %e, "cannot record a settings change");
            }
        }
        Ok(settings)
    }

    /// Seals and opens the secret settings (`ldap_search_password`, `oidc_client_secret`)
    /// with `keys`; without them, secrets cannot be stored.
    pub fn with_keys(mut self, keys: Arc<SealingKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The stored rows, as they are (secrets sealed), read from the database now.
    pub async fn rows(&self) -> harbor_core::Result<Vec<(String, String)>> {
        self.store.settings().await
    }

    /// The keys secrets are sealed with, if the server has them.
    pub fn sealing_keys(&self) -> Option<&Arc<SealingKeys>> {
        self.keys.as_ref()
    }

    /// How many user accounts exist (admin included).
    pub async fn user_count(&self) -> harbor_core::Result<u64> {
        self.store.user_count().await
    }

    /// `plain` sealed for the setting `name`, as stored (hex); empty stays empty.
    pub fn seal_secret(&self, name: &str, plain: &str) -> harbor_core::Result<String> {
        if plain.is_empty() {
            return Ok(String::new());
        }
        let keys = self.keys.as_ref().ok_or_else(|| {
            harbor_core::Error::Invalid(format!(
                "{name} cannot be stored: this server has no secret key to seal it with"
            ))
        })?;
        let sealed = keys
            .seal(plain.as_bytes(), &secret_purpose(name))
            .map_err(harbor_core::Error::internal)?;
        Ok(hex::encode(sealed))
    }

    /// The secret setting `name` in clear; `None` when it is not set. The sealed value is
    /// the one of the cached settings (re-read when older than the TTL, at once after a
    /// change made through [`SystemSettings::put`]); it is opened only when it differs
    /// from the one opened last.
    pub async fn secret(&self, name: &str) -> harbor_core::Result<Option<String>> {
        let cached = self
            .current
            .read()
            .ok()
            .filter(|c| c.fresh(self.ttl))
            .map(|c| c.sealed.get(name).cloned());
        let stored = match cached {
            Some(stored) => stored,
            None => {
                let rows = self.store.settings().await?;
                self.remember(&rows);
                self.current
                    .read()
                    .ok()
                    .and_then(|c| c.sealed.get(name).cloned())
            }
        };
        let Some(stored) = stored else {
            if let Ok(mut opened) = self.opened.lock() {
                opened.remove(name);
            }
            return Ok(None);
        };
        let sealed_sha256: [u8; 32] = Sha256::digest(stored.as_bytes()).into();
        if let Ok(opened) = self.opened.lock()
            && let Some(o) = opened.get(name)
            && o.sealed_sha256 == sealed_sha256
        {
            return Ok(Some(o.plain.clone()));
        }
        let keys = self.keys.as_ref().ok_or_else(|| {
            harbor_core::Error::internal(format!("{name} is sealed and no secret key is set"))
        })?;
        let sealed = hex::decode(&stored).map_err(harbor_core::Error::internal)?;
        let (plain, _) = keys
            .open(&sealed, &secret_purpose(name))
            .map_err(harbor_core::Error::internal)?;
        let plain = String::from_utf8(plain).map_err(harbor_core::Error::internal)?;
        if let Ok(mut opened) = self.opened.lock() {
            opened.insert(
                name.to_owned(),
                Opened {
                    sealed_sha256,
                    plain: plain.clone(),
                },
            );
        }
        Ok(Some(plain))
    }

    /// Stores `read_only` for every replica, and applies it here at once.
    pub async fn set_read_only(&self, read_only: bool) -> harbor_core::Result<Settings> {
        self.put(&[("read_only".into(), Value::Bool(read_only))])
            .await
    }

    /// Stores settings (Harbor names, validated JSON values) for every replica in one
    /// transaction, and applies them here at once.
    pub async fn put(&self, values: &[(String, Value)]) -> harbor_core::Result<Settings> {
        let rows: Vec<(String, String)> = values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        self.store.put_settings(&rows).await?;
        let rows = self.store.settings().await?;
        Ok(self.remember(&rows))
    }

    /// Caches the settings stored as `rows`, and returns them.
    fn remember(&self, rows: &[(String, String)]) -> Settings {
        let current = Current::of_rows(rows);
        let settings = current.settings.clone();
        if let Ok(mut cur) = self.current.write() {
            *cur = current;
        }
        settings
    }
}
