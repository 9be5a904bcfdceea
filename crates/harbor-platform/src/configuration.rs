//! Harbor's `/configurations`: every field of Harbor's `Configurations` answered for. The
//! ones this server applies are validated and stored in the database ([`SystemSettings`]),
//! so every replica follows them; this includes the sign-in settings (`auth_mode` and
//! every `ldap_*`, `oidc_*` and `http_authproxy_*` field, [`crate::sign_in::config`]),
//! whose secrets are stored sealed and never shown. The ones fixed by this server (quotas
//! always on, no audit forwarding yet) are read-only and accept only their current value;
//! the fields of UAA, which this server does not have, take only empty values. Anything
//! else is refused by name, and a request with one bad field changes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use harbor_auth::Principal;
use harbor_core::{Error, Result};
use serde_json::{Map, Value, json};

use crate::access;
use crate::settings::{Settings, SystemSettings};
use crate::sign_in::config as sign_in;

/// What the server was started with, for the fields that show or default to it.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The robot login prefix (`robot$`).
    pub robot_prefix: String,
    /// The configured registry token lifetime.
    pub token_ttl: Duration,
    /// The configured portal session lifetime.
    pub session_ttl: Duration,
    /// The configured storage limit of new projects (-1 unlimited).
    pub default_storage_limit: i64,
    /// `auth_mode` may change although users other than admin exist.
    pub allow_auth_mode_change: bool,
}

/// One field: its value and whether it may be changed here.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The value.
    pub value: Value,
    /// Whether `PUT /configurations` may change it.
    pub editable: bool,
}

/// Fields fixed by how this server works: name, value, and why it cannot change.
fn fixed(env: &Environment) -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "robot_name_prefix",
            json!(env.robot_prefix),
            "set auth.robot_prefix in the server's configuration (it renames every robot's login)",
        ),
        (
            "quota_per_project_enable",
            json!(true),
            "storage quotas are always enforced (use -1 for unlimited)",
        ),
        (
            "notification_enable",
            json!(true),
            "webhooks are always on: a project's policies are enabled or disabled one by one",
        ),
        (
            "audit_log_forward_endpoint",
            json!(""),
            "audit log forwarding is not supported yet",
        ),
        (
            "skip_audit_log_database",
            json!(false),
            "the audit log is kept in the database",
        ),
        (
            "disabled_audit_log_event_types",
            json!(""),
            "every audit event type is recorded",
        ),
        (
            "scanner_skip_update_pulltime",
            json!(false),
            "vulnerability scanning is not supported yet",
        ),
    ]
}

/// The current value of every field this server changes at run time.
fn editable_values(env: &Environment, s: &Settings) -> Vec<(&'static str, Value)> {
    let minutes = |d: std::time::Duration| d.as_secs().div_ceil(60);
    vec![
        ("read_only", json!(s.read_only)),
        (
            "project_creation_restriction",
            json!(s.project_creation_restriction()),
        ),
        ("self_registration", json!(s.self_registration)),
        (
            "token_expiration",
            json!(minutes(s.token_ttl(env.token_ttl))),
        ),
        (
            "session_timeout",
            json!(minutes(s.session_ttl(env.session_ttl))),
        ),
        ("robot_token_duration", json!(s.robot_days())),
        (
            "storage_per_project",
            json!(s.storage_per_project.unwrap_or(env.default_storage_limit)),
        ),
        ("banner_message", json!(s.banner_message)),
    ]
}

/// Checks one editable field; its value as stored.
fn check(name: &str, v: &Value) -> Result<Option<Value>> {
    let bad = |what: &str| Error::Invalid(format!("{name} must be {what}"));
    let minutes = |v: &Value| match v.as_u64() {
        Some(n @ 1..=525_600) => Ok(json!(n)),
        _ => Err(bad("a number of minutes from 1 to 525600")),
    };
    Ok(Some(match name {
        "read_only" | "self_registration" => {
            json!(v.as_bool().ok_or_else(|| bad("true or false"))?)
        }
        "project_creation_restriction" => match v.as_str() {
            Some(s @ ("everyone" | "adminonly")) => json!(s),
            _ => return Err(bad("\"everyone\" or \"adminonly\"")),
        },
        "token_expiration" | "session_timeout" => minutes(v)?,
        "robot_token_duration" => match v.as_i64() {
            Some(n @ 1..=36_500) => json!(n),
            _ => return Err(bad("a number of days from 1 to 36500")),
        },
        "storage_per_project" => match v.as_i64() {
            Some(n) if n == -1 || n > 0 => json!(n),
            _ => return Err(bad("-1 (unlimited) or a positive number of bytes")),
        },
        "banner_message" => match v.as_str() {
            Some(s) if s.chars().count() <= 1024 => json!(s),
            _ => return Err(bad("a string of at most 1024 characters")),
        },
        _ => return Ok(None),
    }))
}

/// Whether `v` is an "off" value: null, false, an empty string or list.
fn is_off(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

impl SystemSettings {
    /// Every field with its value (system administrators).
    pub async fn configurations(
        &self,
        by: &Principal,
        env: &Environment,
    ) -> Result<BTreeMap<String, Item>> {
        access::require_sysadmin(by)?;
        let s = self.get().await;
        let rows = self.rows().await?;
        let mut out = BTreeMap::new();
        for (name, value) in sign_in::shown(&rows) {
            out.insert(
                name.to_owned(),
                Item {
                    value,
                    editable: true,
                },
            );
        }
        for (name, value) in editable_values(env, &s) {
            out.insert(
                name.to_owned(),
                Item {
                    value,
                    editable: true,
                },
            );
        }
        for (name, value, _) in fixed(env) {
            out.insert(
                name.to_owned(),
                Item {
                    value,
                    editable: false,
                },
            );
        }
        Ok(out)
    }

    /// Changes fields (system administrators), all or nothing: every field is checked
    /// before anything is stored.
    pub async fn configure(
        &self,
        by: &Principal,
        env: &Environment,
        body: &Map<String, Value>,
    ) -> Result<()> {
        access::require_sysadmin(by)?;
        let fixed = fixed(env);
        let mut writes = Vec::new();
        let mut signing_in = false;
        for (name, value) in body {
            if let Some(v) = check(name, value)? {
                writes.push((name.clone(), v));
            } else if sign_in::is_field(name) {
                let v = sign_in::check(name, value)?;
                let v = match v.as_str() {
                    Some(plain) if sign_in::is_secret(name) => {
                        json!(self.seal_secret(name, plain)?)
                    }
                    _ => v,
                };
                writes.push((name.clone(), v));
                signing_in = true;
            } else if let Some((_, current, why)) = fixed.iter().find(|(n, _, _)| n == name) {
                if value != current {
                    return Err(Error::Invalid(format!("{name} cannot be changed: {why}")));
                }
            } else if sign_in::is_uaa(name) {
                if !is_off(value) {
                    return Err(Error::Invalid(format!(
                        "{name} is not supported: this server has no UAA sign-in"
                    )));
                }
            } else {
                return Err(Error::Invalid(format!("unknown configuration {name}")));
            }
        }
        if signing_in {
            self.check_sign_in(env, &writes).await?;
        }
        if !writes.is_empty() {
            self.update(by, &writes).await?;
        }
        Ok(())
    }

    /// Checks sign-in changes against what is stored: the mode changes only while admin
    /// is the only user (unless allowed), and the resulting mode has what it needs.
    async fn check_sign_in(&self, env: &Environment, writes: &[(String, Value)]) -> Result<()> {
        let mut rows = self.rows().await?;
        let current = sign_in::from_rows(&rows);
        for (name, value) in writes {
            rows.retain(|(n, _)| n != name);
            rows.push((name.clone(), value.to_string()));
        }
        let next = sign_in::from_rows(&rows);
        if next.mode != current.mode {
            let users = self.user_count().await?;
            sign_in::check_mode_change(current.mode, next.mode, users, env.allow_auth_mode_change)?;
        }
        sign_in::check_complete(&next)
    }
}
