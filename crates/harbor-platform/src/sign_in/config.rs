//! The sign-in settings of Harbor's `/configurations`: `auth_mode`, `primary_auth_mode`
//! and every `ldap_*`, `oidc_*` and `http_authproxy_*` field, with their defaults, their
//! rules and their typed form ([`AuthConfig`]).
//!
//! The fields are stored with the other system settings, so every replica reads the same.
//! The secrets (`ldap_search_password`, `oidc_client_secret`) are stored sealed, never
//! shown by `GET /configurations`, and opened only when a sign-in needs them.

use std::fmt;

use harbor_core::{Error, Result};
use serde_json::{Value, json};

/// How users sign in (Harbor's `auth_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Passwords in this server's database (`db_auth`).
    #[default]
    Db,
    /// An LDAP directory (`ldap_auth`); the admin account still signs in from the database.
    Ldap,
    /// An OpenID Connect provider (`oidc_auth`); the admin account still signs in from
    /// the database.
    Oidc,
    /// An HTTP authentication proxy (`http_auth`).
    Http,
    /// Cloud Foundry UAA (`uaa_auth`).
    Uaa,
}

impl AuthMode {
    /// Harbor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Db => "db_auth",
            AuthMode::Ldap => "ldap_auth",
            AuthMode::Oidc => "oidc_auth",
            AuthMode::Http => "http_auth",
            AuthMode::Uaa => "uaa_auth",
        }
    }

    /// The mode named `s`.
    pub fn parse(s: &str) -> Option<AuthMode> {
        Some(match s {
            "db_auth" => AuthMode::Db,
            "ldap_auth" => AuthMode::Ldap,
            "oidc_auth" => AuthMode::Oidc,
            "http_auth" => AuthMode::Http,
            "uaa_auth" => AuthMode::Uaa,
            _ => return None,
        })
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An LDAP search scope (Harbor's numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LdapScope {
    /// The base entry only (0).
    Base,
    /// The base's children (1).
    OneLevel,
    /// The whole subtree (2, Harbor's default).
    #[default]
    Subtree,
}

impl LdapScope {
    fn from_number(n: i64) -> LdapScope {
        match n {
            0 => LdapScope::Base,
            1 => LdapScope::OneLevel,
            _ => LdapScope::Subtree,
        }
    }
}

/// The LDAP settings (`ldap_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LdapConfig {
    /// `ldap://host[:port]` or `ldaps://host[:port]` (a bare host means `ldap://`).
    pub url: String,
    /// The DN the server binds as to search; empty for an anonymous search.
    pub search_dn: String,
    /// Whether a search password is stored (opened by [`crate::SystemSettings`] on use).
    pub has_search_password: bool,
    /// Where users are searched.
    pub base_dn: String,
    /// An extra filter users must match, such as `(objectClass=person)`.
    pub filter: String,
    /// The attribute holding the login name (`cn` by default; `uid`, `sAMAccountName`).
    pub uid: String,
    /// How deep users are searched.
    pub scope: LdapScope,
    /// Seconds a connection, bind or search may take.
    pub timeout_secs: u64,
    /// Whether the server's certificate is verified (on by default).
    pub verify_cert: bool,
    /// Whether an `ldap://` connection is upgraded with StartTLS before binding (ours,
    /// not Harbor's: off by default).
    pub starttls: bool,
    /// Where groups are searched.
    pub group_base_dn: String,
    /// The filter groups must match, such as `(objectClass=groupOfNames)`.
    pub group_search_filter: String,
    /// The attribute holding a group's name (`cn` by default).
    pub group_attribute_name: String,
    /// How deep groups are searched.
    pub group_search_scope: LdapScope,
    /// Members of this group are system administrators.
    pub group_admin_dn: String,
    /// The user attribute listing the user's groups (`memberof` by default).
    pub group_membership_attribute: String,
    /// Harbor's switch for attaching groups in parallel (accepted and stored).
    pub group_attach_parallel: bool,
}

/// The OpenID Connect settings (`oidc_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OidcConfig {
    /// The provider's name, shown on the login page.
    pub name: String,
    /// The issuer URL (discovery at `<endpoint>/.well-known/openid-configuration`).
    pub endpoint: String,
    /// The client id registered at the provider.
    pub client_id: String,
    /// Whether a client secret is stored.
    pub has_client_secret: bool,
    /// The scopes asked for, comma-separated (`openid` is always asked).
    pub scope: String,
    /// The claim listing the user's groups.
    pub groups_claim: String,
    /// A regular expression groups must match to be kept (empty: all).
    pub group_filter: String,
    /// Members of this group are system administrators.
    pub admin_group: String,
    /// The claim giving the username (empty: the `name` claim, else onboarding asks).
    pub user_claim: String,
    /// Whether the provider's certificate is verified (on by default).
    pub verify_cert: bool,
    /// Whether new users are created at their first login without asking a username.
    pub auto_onboard: bool,
    /// Extra parameters of the authorization request, a JSON object of strings.
    pub extra_redirect_parms: String,
    /// Whether signing out also signs out at the provider.
    pub logout: bool,
}

/// The HTTP authentication proxy settings (`http_authproxy_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpAuthProxyConfig {
    /// Where credentials are checked.
    pub endpoint: String,
    /// Where tokens are reviewed.
    pub tokenreview_endpoint: String,
    /// Groups whose members are system administrators, comma-separated.
    pub admin_groups: String,
    /// Users who are system administrators, comma-separated.
    pub admin_usernames: String,
    /// Whether the proxy's certificate is verified.
    pub verify_cert: bool,
    /// Whether users are onboarded without a search.
    pub skip_search: bool,
    /// The proxy's certificate (PEM), when not signed by a known authority.
    pub server_certificate: String,
}

/// Every sign-in setting, typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// How users sign in.
    pub mode: AuthMode,
    /// Whether the portal offers the external mode first (`primary_auth_mode`).
    pub primary: bool,
    /// LDAP.
    pub ldap: LdapConfig,
    /// OpenID Connect.
    pub oidc: OidcConfig,
    /// HTTP authentication proxy.
    pub http: HttpAuthProxyConfig,
}

/// What a field holds and how it is checked.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A string of at most this many characters, without control characters.
    Text(usize),
    /// A distinguished name (`cn=x,dc=y`) or nothing.
    Dn,
    /// An LDAP filter in parentheses or nothing.
    Filter,
    /// An attribute name.
    Attribute,
    /// `ldap://`, `ldaps://` or a bare `host[:port]`, or nothing.
    LdapUrl,
    /// An `https://` URL (`http://` only for loopback hosts), or nothing.
    Url,
    /// A regular expression or nothing.
    Regex,
    /// A JSON object of strings or nothing.
    JsonObject,
    /// A comma-separated list of OIDC scopes.
    Scopes,
    /// A PEM certificate or nothing.
    Pem,
    /// A secret: stored sealed, never shown.
    Secret,
    /// true or false.
    Bool,
    /// An LDAP scope: 0, 1 or 2.
    Scope,
    /// Whole seconds from 1 to 300.
    Seconds,
}

/// Every sign-in field: name, kind, default.
const FIELDS: &[(&str, Kind, DefaultValue)] = &[
    ("ldap_url", Kind::LdapUrl, DefaultValue::Str("")),
    ("ldap_search_dn", Kind::Dn, DefaultValue::Str("")),
    ("ldap_search_password", Kind::Secret, DefaultValue::Str("")),
    ("ldap_base_dn", Kind::Dn, DefaultValue::Str("")),
    ("ldap_filter", Kind::Filter, DefaultValue::Str("")),
    ("ldap_uid", Kind::Attribute, DefaultValue::Str("cn")),
    ("ldap_scope", Kind::Scope, DefaultValue::Int(2)),
    ("ldap_timeout", Kind::Seconds, DefaultValue::Int(5)),
    ("ldap_verify_cert", Kind::Bool, DefaultValue::Bool(true)),
    ("ldap_starttls", Kind::Bool, DefaultValue::Bool(false)),
    ("ldap_group_base_dn", Kind::Dn, DefaultValue::Str("")),
    (
        "ldap_group_search_filter",
        Kind::Filter,
        DefaultValue::Str(""),
    ),
    (
        "ldap_group_attribute_name",
        Kind::Attribute,
        DefaultValue::Str("cn"),
    ),
    ("ldap_group_search_scope", Kind::Scope, DefaultValue::Int(2)),
    ("ldap_group_admin_dn", Kind::Dn, DefaultValue::Str("")),
    (
        "ldap_group_membership_attribute",
        Kind::Attribute,
        DefaultValue::Str("memberof"),
    ),
    (
        "ldap_group_attach_parallel",
        Kind::Bool,
        DefaultValue::Bool(false),
    ),
    ("oidc_name", Kind::Text(255), DefaultValue::Str("")),
    ("oidc_endpoint", Kind::Url, DefaultValue::Str("")),
    ("oidc_client_id", Kind::Text(1024), DefaultValue::Str("")),
    ("oidc_client_secret", Kind::Secret, DefaultValue::Str("")),
    (
        "oidc_scope",
        Kind::Scopes,
        DefaultValue::Str("openid,offline_access"),
    ),
    ("oidc_groups_claim", Kind::Text(255), DefaultValue::Str("")),
    ("oidc_group_filter", Kind::Regex, DefaultValue::Str("")),
    ("oidc_admin_group", Kind::Text(1024), DefaultValue::Str("")),
    ("oidc_user_claim", Kind::Text(255), DefaultValue::Str("")),
    ("oidc_verify_cert", Kind::Bool, DefaultValue::Bool(true)),
    ("oidc_auto_onboard", Kind::Bool, DefaultValue::Bool(false)),
    (
        "oidc_extra_redirect_parms",
        Kind::JsonObject,
        DefaultValue::Str(""),
    ),
    ("oidc_logout", Kind::Bool, DefaultValue::Bool(false)),
    ("http_authproxy_endpoint", Kind::Url, DefaultValue::Str("")),
    (
        "http_authproxy_tokenreview_endpoint",
        Kind::Url,
        DefaultValue::Str(""),
    ),
    (
        "http_authproxy_admin_groups",
        Kind::Text(4096),
        DefaultValue::Str(""),
    ),
    (
        "http_authproxy_admin_usernames",
        Kind::Text(4096),
        DefaultValue::Str(""),
    ),
    (
        "http_authproxy_verify_cert",
        Kind::Bool,
        DefaultValue::Bool(true),
    ),
    (
        "http_authproxy_skip_search",
        Kind::Bool,
        DefaultValue::Bool(false),
    ),
    (
        "http_authproxy_server_certificate",
        Kind::Pem,
        DefaultValue::Str(""),
    ),
];

/// A field's value when it was never set.
#[derive(Clone, Copy, Debug)]
enum DefaultValue {
    Str(&'static str),
    Int(i64),
    Bool(bool),
}

impl DefaultValue {
    fn json(self) -> Value {
        match self {
            DefaultValue::Str(s) => json!(s),
            DefaultValue::Int(n) => json!(n),
            DefaultValue::Bool(b) => json!(b),
        }
    }
}

/// Whether `name` is one of the sign-in fields (`auth_mode` and `primary_auth_mode`
/// included).
pub fn is_field(name: &str) -> bool {
    matches!(name, "auth_mode" | "primary_auth_mode") || FIELDS.iter().any(|f| f.0 == name)
}

/// Whether `name` is a secret (stored sealed, never shown).
pub fn is_secret(name: &str) -> bool {
    FIELDS
        .iter()
        .any(|f| f.0 == name && matches!(f.1, Kind::Secret))
}

/// The names of the UAA fields, refused unless empty: this server has no UAA sign-in.
pub fn is_uaa(name: &str) -> bool {
    name.starts_with("uaa_")
}

/// Checks one sign-in field; its value as stored (secrets still in clear: the caller
/// seals them). `auth_mode` is checked for its name only: whether it may change is
/// [`check_mode_change`]'s.
pub fn check(name: &str, v: &Value) -> Result<Value> {
    let bad = |what: &str| Error::Invalid(format!("{name} must be {what}"));
    match name {
        "auth_mode" => {
            let mode = v.as_str().and_then(AuthMode::parse).ok_or_else(|| {
                bad("db_auth, ldap_auth or oidc_auth (http_auth and uaa_auth are not supported)")
            })?;
            if matches!(mode, AuthMode::Http | AuthMode::Uaa) {
                return Err(Error::Invalid(format!(
                    "auth_mode {mode} is not supported: use db_auth, ldap_auth or oidc_auth"
                )));
            }
            return Ok(json!(mode.as_str()));
        }
        "primary_auth_mode" => return Ok(json!(v.as_bool().ok_or_else(|| bad("true or false"))?)),
        _ => {}
    }
    let Some((_, kind, _)) = FIELDS.iter().find(|f| f.0 == name) else {
        return Err(Error::Invalid(format!("unknown configuration {name}")));
    };
    let text = || -> Result<&str> {
        let s = v.as_str().ok_or_else(|| bad("a string"))?;
        if s.chars().any(char::is_control) && !matches!(kind, Kind::Pem) {
            return Err(bad("a string without control characters"));
        }
        Ok(s.trim())
    };
    Ok(match *kind {
        Kind::Bool => json!(v.as_bool().ok_or_else(|| bad("true or false"))?),
        Kind::Scope => match v.as_i64() {
            Some(n @ 0..=2) => json!(n),
            _ => return Err(bad("0 (base), 1 (one level) or 2 (subtree)")),
        },
        Kind::Seconds => match v.as_i64() {
            Some(n @ 1..=300) => json!(n),
            _ => return Err(bad("a number of seconds from 1 to 300")),
        },
        Kind::Text(max) => {
            let s = text()?;
            if s.chars().count() > max {
                return Err(bad(&format!("at most {max} characters")));
            }
            json!(s)
        }
        Kind::Secret => {
            let s = v.as_str().ok_or_else(|| bad("a string"))?;
            if s.len() > 4096 || s.chars().any(char::is_control) {
                return Err(bad("at most 4096 characters without control characters"));
            }
            json!(s)
        }
        Kind::Dn => {
            let s = text()?;
            check_dn(s).map_err(|why| bad(&format!("a distinguished name ({why})")))?;
            json!(s)
        }
        Kind::Filter => {
            let s = text()?;
            check_filter(s).map_err(|why| bad(&format!("an LDAP filter ({why})")))?;
            json!(s)
        }
        Kind::Attribute => {
            let s = text()?;
            let ok = s.len() <= 128
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';');
            if !ok {
                return Err(bad(
                    "an attribute name (a letter, then letters, digits or -)",
                ));
            }
            json!(s)
        }
        Kind::LdapUrl => {
            let s = text()?;
            if !s.is_empty() {
                ldap_url(s).map_err(|why| bad(&format!("an LDAP address ({why})")))?;
            }
            json!(s)
        }
        Kind::Url => {
            let s = text()?;
            if !s.is_empty() {
                check_url(s).map_err(|why| bad(&format!("an https:// address ({why})")))?;
            }
            json!(s.trim_end_matches('/'))
        }
        Kind::Regex => {
            let s = text()?;
            if s.len() > 1024 {
                return Err(bad("at most 1024 characters"));
            }
            if !s.is_empty() {
                regex::Regex::new(s).map_err(|e| bad(&format!("a regular expression ({e})")))?;
            }
            json!(s)
        }
        Kind::JsonObject => {
            let s = text()?;
            if !s.is_empty() {
                let parsed: serde_json::Map<String, Value> = serde_json::from_str(s)
                    .map_err(|_| bad("a JSON object of strings, such as {\"prompt\":\"login\"}"))?;
                if parsed.values().any(|v| !v.is_string()) || s.len() > 4096 {
                    return Err(bad("a JSON object of strings of at most 4096 characters"));
                }
            }
            json!(s)
        }
        Kind::Scopes => {
            let s = text()?;
            let ok = s.len() <= 1024
                && s.split(',').map(str::trim).all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
                });
            if !ok {
                return Err(bad(
                    "scopes separated by commas, such as openid,offline_access",
                ));
            }
            json!(s)
        }
        Kind::Pem => {
            let s = v.as_str().ok_or_else(|| bad("a string"))?.trim();
            if !s.is_empty() && (!s.starts_with("-----BEGIN CERTIFICATE-----") || s.len() > 65_536)
            {
                return Err(bad("a PEM certificate"));
            }
            json!(s)
        }
    })
}

/// Checks a distinguished name's shape: `attr=value` parts separated by commas.
fn check_dn(s: &str) -> std::result::Result<(), &'static str> {
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > 1024 {
        return Err("at most 1024 characters");
    }
    let mut escaped = false;
    let mut part = String::new();
    let mut parts = Vec::new();
    for c in s.chars() {
        if escaped {
            part.push(c);
            escaped = false;
        } else if c == '\\' {
            part.push(c);
            escaped = true;
        } else if c == ',' {
            parts.push(std::mem::take(&mut part));
        } else {
            part.push(c);
        }
    }
    parts.push(part);
    if parts.iter().all(|p| {
        p.split_once('=')
            .is_some_and(|(k, _)| !k.trim().is_empty() && !k.trim().contains(' '))
    }) {
        Ok(())
    } else {
        Err("attribute=value parts separated by commas, such as dc=example,dc=com")
    }
}

/// Checks an LDAP filter's shape: parenthesised and balanced.
fn check_filter(s: &str) -> std::result::Result<(), &'static str> {
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > 1024 {
        return Err("at most 1024 characters");
    }
    if !s.starts_with('(') || !s.ends_with(')') {
        return Err("in parentheses, such as (objectClass=person)");
    }
    let mut depth = 0i32;
    let mut escaped = false;
    for c in s.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '(' if !escaped => depth += 1,
            ')' if !escaped => {
                depth -= 1;
                if depth < 0 {
                    return Err("with balanced parentheses");
                }
            }
            _ => escaped = false,
        }
    }
    if depth == 0 {
        Ok(())
    } else {
        Err("with balanced parentheses")
    }
}

/// An LDAP address with its scheme: `ldap://host[:port]` or `ldaps://host[:port]`; a
/// bare `host[:port]` means `ldap://`.
pub fn ldap_url(s: &str) -> std::result::Result<String, &'static str> {
    let full = if s.contains("://") {
        s.to_owned()
    } else {
        format!("ldap://{s}")
    };
    let url = url::Url::parse(&full).map_err(|_| "such as ldaps://ldap.example.com:636")?;
    if !matches!(url.scheme(), "ldap" | "ldaps") {
        return Err("ldap:// or ldaps://");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("with a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("without credentials: use ldap_search_dn and ldap_search_password");
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return Err("without a path or query: use ldap_base_dn and ldap_filter");
    }
    Ok(full.trim_end_matches('/').to_owned())
}

/// Checks an address the server calls: `https://`, or `http://` to a loopback host.
fn check_url(s: &str) -> std::result::Result<(), &'static str> {
    let url = url::Url::parse(s).map_err(|_| "such as https://id.example.com/realms/main")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("without credentials");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("without a query or fragment");
    }
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => Ok(()),
        ("http", Some(url::Host::Ipv4(ip))) if ip.is_loopback() => Ok(()),
        ("http", Some(url::Host::Ipv6(ip))) if ip.is_loopback() => Ok(()),
        ("http", Some(url::Host::Domain("localhost"))) => Ok(()),
        ("http", _) => Err("plain http:// is allowed only to a loopback host"),
        _ => Err("https://"),
    }
}

/// Whether `from` may become `to` with `users` accounts in the database (admin
/// included): Harbor allows a change only while admin is the only user, unless the
/// operator allowed it (`auth.allow_auth_mode_change`).
pub fn check_mode_change(from: AuthMode, to: AuthMode, users: u64, allowed: bool) -> Result<()> {
    if from == to || users <= 1 || allowed {
        return Ok(());
    }
    Err(Error::Invalid(
        "the auth mode cannot be modified as new users have been inserted into database \
         (set auth.allow_auth_mode_change in the server's configuration to change it anyway)"
            .into(),
    ))
}

/// Checks that `config`'s mode has what it needs to sign anyone in.
pub fn check_complete(config: &AuthConfig) -> Result<()> {
    let missing = |fields: &[(&str, bool)], mode: AuthMode| {
        let absent: Vec<&str> = fields.iter().filter(|f| !f.1).map(|f| f.0).collect();
        if absent.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "auth_mode {mode} needs {}",
                absent.join(", ")
            )))
        }
    };
    match config.mode {
        AuthMode::Ldap => missing(
            &[
                ("ldap_url", !config.ldap.url.is_empty()),
                ("ldap_base_dn", !config.ldap.base_dn.is_empty()),
            ],
            config.mode,
        ),
        AuthMode::Oidc => missing(
            &[
                ("oidc_name", !config.oidc.name.is_empty()),
                ("oidc_endpoint", !config.oidc.endpoint.is_empty()),
                ("oidc_client_id", !config.oidc.client_id.is_empty()),
                ("oidc_client_secret", config.oidc.has_client_secret),
            ],
            config.mode,
        ),
        _ => Ok(()),
    }
}

/// The current value of every sign-in field but the secrets, as `GET /configurations`
/// shows it: stored values over defaults.
pub fn shown(stored: &[(String, String)]) -> Vec<(&'static str, Value)> {
    let lookup = |name: &str| {
        stored
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| serde_json::from_str::<Value>(v).ok())
    };
    let mut out = vec![
        (
            "auth_mode",
            lookup("auth_mode").unwrap_or_else(|| json!("db_auth")),
        ),
        (
            "primary_auth_mode",
            lookup("primary_auth_mode").unwrap_or(json!(false)),
        ),
    ];
    for (name, kind, default) in FIELDS {
        if matches!(kind, Kind::Secret) {
            continue;
        }
        out.push((name, lookup(name).unwrap_or_else(|| default.json())));
    }
    out
}

/// The typed settings from the stored rows (Harbor names, JSON values; unknown names and
/// unreadable values fall back to the defaults).
pub fn from_rows(rows: &[(String, String)]) -> AuthConfig {
    let values: std::collections::HashMap<&str, Value> = rows
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), serde_json::from_str(v).ok()?)))
        .collect();
    let default = |name: &str| {
        FIELDS
            .iter()
            .find(|f| f.0 == name)
            .map_or(Value::Null, |f| f.2.json())
    };
    let get = |name: &str| values.get(name).cloned().unwrap_or_else(|| default(name));
    let s = |name: &str| get(name).as_str().unwrap_or_default().to_owned();
    let b = |name: &str| get(name).as_bool().unwrap_or(false);
    let n = |name: &str| get(name).as_i64().unwrap_or(0);
    let set = |name: &str| {
        values
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    AuthConfig {
        mode: values
            .get("auth_mode")
            .and_then(Value::as_str)
            .and_then(AuthMode::parse)
            .unwrap_or_default(),
        primary: b("primary_auth_mode"),
        ldap: LdapConfig {
            url: s("ldap_url"),
            search_dn: s("ldap_search_dn"),
            has_search_password: set("ldap_search_password"),
            base_dn: s("ldap_base_dn"),
            filter: s("ldap_filter"),
            uid: s("ldap_uid"),
            scope: LdapScope::from_number(n("ldap_scope")),
            timeout_secs: u64::try_from(n("ldap_timeout")).unwrap_or(5).clamp(1, 300),
            verify_cert: b("ldap_verify_cert"),
            starttls: b("ldap_starttls"),
            group_base_dn: s("ldap_group_base_dn"),
            group_search_filter: s("ldap_group_search_filter"),
            group_attribute_name: s("ldap_group_attribute_name"),
            group_search_scope: LdapScope::from_number(n("ldap_group_search_scope")),
            group_admin_dn: s("ldap_group_admin_dn"),
            group_membership_attribute: s("ldap_group_membership_attribute"),
            group_attach_parallel: b("ldap_group_attach_parallel"),
        },
        oidc: OidcConfig {
            name: s("oidc_name"),
            endpoint: s("oidc_endpoint"),
            client_id: s("oidc_client_id"),
            has_client_secret: set("oidc_client_secret"),
            scope: s("oidc_scope"),
            groups_claim: s("oidc_groups_claim"),
            group_filter: s("oidc_group_filter"),
            admin_group: s("oidc_admin_group"),
            user_claim: s("oidc_user_claim"),
            verify_cert: b("oidc_verify_cert"),
            auto_onboard: b("oidc_auto_onboard"),
            extra_redirect_parms: s("oidc_extra_redirect_parms"),
            logout: b("oidc_logout"),
        },
        http: HttpAuthProxyConfig {
            endpoint: s("http_authproxy_endpoint"),
            tokenreview_endpoint: s("http_authproxy_tokenreview_endpoint"),
            admin_groups: s("http_authproxy_admin_groups"),
            admin_usernames: s("http_authproxy_admin_usernames"),
            verify_cert: b("http_authproxy_verify_cert"),
            skip_search: b("http_authproxy_skip_search"),
            server_certificate: s("http_authproxy_server_certificate"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, Value)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_harbors() {
        let c = from_rows(&[]);
        assert_eq!(c.mode, AuthMode::Db);
        assert_eq!(c.ldap.uid, "cn");
        assert_eq!(c.ldap.scope, LdapScope::Subtree);
        assert_eq!(c.ldap.timeout_secs, 5);
        assert!(c.ldap.verify_cert);
        assert_eq!(c.ldap.group_membership_attribute, "memberof");
        assert!(c.oidc.verify_cert);
        assert!(!c.oidc.auto_onboard);
        assert!(!c.ldap.has_search_password);
    }

    #[test]
    fn stored_values_are_typed() {
        let c = from_rows(&rows(&[
            ("auth_mode", json!("ldap_auth")),
            ("ldap_url", json!("ldaps://dir:636")),
            ("ldap_scope", json!(1)),
            ("ldap_search_password", json!("sealed")),
            ("ldap_verify_cert", json!(false)),
        ]));
        assert_eq!(c.mode, AuthMode::Ldap);
        assert_eq!(c.ldap.url, "ldaps://dir:636");
        assert_eq!(c.ldap.scope, LdapScope::OneLevel);
        assert!(c.ldap.has_search_password);
        assert!(!c.ldap.verify_cert);
    }

    #[test]
    fn fields_are_checked() {
        let ok = |n: &str, v: Value| check(n, &v).unwrap_or_else(|e| panic!("{n}: {e}"));
        let bad = |n: &str, v: Value| assert!(check(n, &v).is_err(), "{n} {v} accepted");
        assert_eq!(
            ok("ldap_url", json!("dir.example.com")),
            json!("dir.example.com")
        );
        ok("ldap_url", json!("ldaps://dir.example.com:636"));
        bad("ldap_url", json!("http://dir"));
        bad("ldap_url", json!("ldap://user:pw@dir"));
        bad("ldap_url", json!("ldap://dir/dc=x"));
        ok("ldap_base_dn", json!("ou=people,dc=example,dc=com"));
        ok("ldap_base_dn", json!("cn=a\\,b,dc=x"));
        bad("ldap_base_dn", json!("people"));
        ok(
            "ldap_filter",
            json!("(&(objectClass=person)(!(disabled=1)))"),
        );
        bad("ldap_filter", json!("objectClass=person"));
        bad("ldap_filter", json!("((objectClass=person)"));
        ok("ldap_uid", json!("sAMAccountName"));
        bad("ldap_uid", json!("uid)(cn=*"));
        bad("ldap_scope", json!(3));
        bad("ldap_timeout", json!(0));
        bad("ldap_verify_cert", json!("yes"));
        ok(
            "oidc_endpoint",
            json!("https://id.example.com/realms/main/"),
        );
        ok("oidc_endpoint", json!("http://127.0.0.1:9000"));
        bad("oidc_endpoint", json!("http://id.example.com"));
        bad("oidc_endpoint", json!("https://u:p@id.example.com"));
        bad("oidc_group_filter", json!("(unclosed"));
        ok("oidc_extra_redirect_parms", json!("{\"prompt\":\"login\"}"));
        bad("oidc_extra_redirect_parms", json!("{\"n\":1}"));
        ok("oidc_scope", json!("openid,offline_access"));
        bad("oidc_scope", json!("openid,,email"));
        bad("oidc_name", json!("a\nb"));
        bad("auth_mode", json!("uaa_auth"));
        bad("auth_mode", json!("http_auth"));
        bad("auth_mode", json!("kerberos"));
        bad("nonsense", json!(""));
        bad("http_authproxy_server_certificate", json!("not pem"));
    }

    #[test]
    fn the_mode_changes_only_while_admin_is_alone() {
        assert!(check_mode_change(AuthMode::Db, AuthMode::Ldap, 1, false).is_ok());
        assert!(check_mode_change(AuthMode::Db, AuthMode::Ldap, 2, false).is_err());
        assert!(check_mode_change(AuthMode::Db, AuthMode::Ldap, 2, true).is_ok());
        assert!(check_mode_change(AuthMode::Ldap, AuthMode::Ldap, 9, false).is_ok());
    }

    #[test]
    fn a_mode_needs_its_settings() {
        let mut c = AuthConfig {
            mode: AuthMode::Ldap,
            ..AuthConfig::default()
        };
        let e = check_complete(&c).unwrap_err().to_string();
        assert!(e.contains("ldap_url") && e.contains("ldap_base_dn"), "{e}");
        c.ldap.url = "ldap://dir".into();
        c.ldap.base_dn = "dc=x".into();
        assert!(check_complete(&c).is_ok());
        c.mode = AuthMode::Oidc;
        assert!(
            check_complete(&c)
                .unwrap_err()
                .to_string()
                .contains("oidc_client_secret")
        );
    }

    #[test]
    fn secrets_are_never_shown() {
        let shown = shown(&rows(&[("ldap_search_password", json!("x"))]));
        assert!(shown.iter().all(|(n, _)| !is_secret(n)));
        assert!(shown.iter().any(|(n, v)| *n == "ldap_uid" && v == "cn"));
    }
}
