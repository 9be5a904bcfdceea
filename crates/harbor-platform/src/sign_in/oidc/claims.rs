//! What an ID token (merged with the provider's userinfo) says about a user: who they are
//! at the provider, the username they get here, their groups and whether they are in the
//! admin group. Pure functions of the claims and the settings.

use serde_json::{Map, Value};

use crate::sign_in::OidcConfig;

/// A user as the OIDC provider describes them.
///
/// This is the seam for user groups: [`IdentitySync`](super::IdentitySync) receives it at
/// every portal sign-in and every refresh of a CLI secret's tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OidcIdentity {
    /// The `sub` claim.
    pub subject: String,
    /// The `iss` claim.
    pub issuer: String,
    /// The username the settings' user claim (`oidc_user_claim`, else `name`, else
    /// `preferred_username`) gives, if any.
    pub username: Option<String>,
    /// The `email` claim, if any.
    pub email: Option<String>,
    /// The `name` claim, else the username.
    pub realname: String,
    /// The names in the groups claim (`oidc_groups_claim`) that `oidc_group_filter`
    /// matches (all of them without a filter).
    pub groups: Vec<String>,
    /// The groups claim was present (an absent claim says nothing about groups, an empty
    /// one says "no groups").
    pub has_groups_claim: bool,
    /// The user is in `oidc_admin_group` (checked before the filter, as Harbor does).
    pub admin: bool,
}

impl OidcIdentity {
    /// The key the user is stored under: `sub` followed by `iss`.
    pub fn subiss(&self) -> String {
        harbor_core::oidc::subiss(&self.subject, &self.issuer)
    }
}

fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The identity `claims` describe under `config`.
pub fn identity(claims: &Map<String, Value>, config: &OidcConfig) -> OidcIdentity {
    let username = if config.user_claim.is_empty() {
        text(claims, "name").or_else(|| text(claims, "preferred_username"))
    } else {
        let found = text(claims, &config.user_claim);
        if found.is_none() {
            tracing::warn!(
                claim = %config.user_claim,
                "OIDC: the user claim is missing or not a string"
            );
        }
        found
    };
    let (all, has_groups_claim) = group_claim(claims, &config.groups_claim);
    let admin = !config.admin_group.is_empty() && all.contains(&config.admin_group);
    OidcIdentity {
        subject: text(claims, "sub").unwrap_or_default(),
        issuer: text(claims, "iss").unwrap_or_default(),
        realname: text(claims, "name")
            .or_else(|| username.clone())
            .unwrap_or_default(),
        username,
        email: text(claims, "email"),
        groups: filter_groups(all, &config.group_filter),
        has_groups_claim,
        admin,
    }
}

/// The group names of the claim `name` (a string or an array of strings; other items are
/// ignored) and whether the claim is there at all.
pub fn group_claim(claims: &Map<String, Value>, name: &str) -> (Vec<String>, bool) {
    if name.is_empty() {
        return (Vec::new(), false);
    }
    match claims.get(name) {
        Some(Value::String(s)) => (vec![s.clone()], true),
        Some(Value::Array(items)) => (
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            true,
        ),
        Some(other) => {
            tracing::warn!(claim = name, kind = %kind(other), "OIDC: the groups claim is neither a string nor an array");
            (Vec::new(), false)
        }
        None => (Vec::new(), false),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The groups `filter` (a regular expression, matched anywhere in the name, as Harbor's
/// `oidc_group_filter`) keeps; all of them when it is empty (or, since the settings check
/// it, unreadable).
pub fn filter_groups(groups: Vec<String>, filter: &str) -> Vec<String> {
    if filter.is_empty() {
        return groups;
    }
    match regex::Regex::new(filter) {
        Ok(re) => groups.into_iter().filter(|g| re.is_match(g)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "OIDC: oidc_group_filter is not a regular expression; groups are not filtered");
            groups
        }
    }
}

/// The username to suggest on the onboarding page: the claim's value with whitespace
/// turned into `_` (as Harbor does).
pub fn suggested_username(identity: &OidcIdentity) -> String {
    identity
        .username
        .as_deref()
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect()
}

/// Claims of the ID token completed with the userinfo answer: the ID token's claims win,
/// except the groups claim, which the userinfo answer gives in full when it has it
/// (providers often leave large claims out of ID tokens).
pub fn merge(
    mut id_token: Map<String, Value>,
    userinfo: Map<String, Value>,
    groups_claim: &str,
) -> Map<String, Value> {
    for (k, v) in userinfo {
        if (!groups_claim.is_empty() && k == groups_claim) || !id_token.contains_key(&k) {
            id_token.insert(k, v);
        }
    }
    id_token
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> OidcConfig {
        OidcConfig {
            groups_claim: "groups".into(),
            group_filter: "^dev".into(),
            admin_group: "admins".into(),
            ..OidcConfig::default()
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn groups_are_filtered_after_the_admin_check() {
        let c = claims(json!({
            "sub": "s1", "iss": "https://id", "name": "Alice Smith",
            "email": "a@example.com",
            "groups": ["admins", "dev-team", "ops", 3, "devops"]
        }));
        let id = identity(&c, &config());
        assert_eq!(id.subject, "s1");
        assert_eq!(id.subiss(), "s1https://id");
        assert_eq!(id.username.as_deref(), Some("Alice Smith"));
        assert_eq!(id.realname, "Alice Smith");
        assert_eq!(id.email.as_deref(), Some("a@example.com"));
        assert_eq!(id.groups, ["dev-team", "devops"]);
        assert!(id.has_groups_claim);
        assert!(id.admin);
        assert_eq!(suggested_username(&id), "Alice_Smith");
    }

    #[test]
    fn a_single_group_string_and_missing_claims() {
        let mut cfg = config();
        cfg.group_filter.clear();
        let id = identity(&claims(json!({"sub": "s", "groups": "ops"})), &cfg);
        assert_eq!(id.groups, ["ops"]);
        assert!(!id.admin);
        assert_eq!(id.username, None);
        let id = identity(&claims(json!({"sub": "s", "groups": {"a": 1}})), &cfg);
        assert!(!id.has_groups_claim);
        let id = identity(&claims(json!({"sub": "s"})), &cfg);
        assert!(!id.has_groups_claim);
        assert!(id.groups.is_empty());
    }

    #[test]
    fn the_user_claim_decides_the_username() {
        let c = claims(
            json!({"sub": "s", "name": "A B", "preferred_username": "ab", "login": "alice"}),
        );
        let mut cfg = config();
        assert_eq!(identity(&c, &cfg).username.as_deref(), Some("A B"));
        cfg.user_claim = "login".into();
        assert_eq!(identity(&c, &cfg).username.as_deref(), Some("alice"));
        cfg.user_claim = "missing".into();
        assert_eq!(identity(&c, &cfg).username, None);
        cfg.user_claim.clear();
        let c = claims(json!({"sub": "s", "preferred_username": "ab"}));
        assert_eq!(identity(&c, &cfg).username.as_deref(), Some("ab"));
    }

    #[test]
    fn userinfo_completes_the_id_token() {
        let id = claims(json!({"sub": "s", "name": "token", "groups": ["a"]}));
        let info =
            claims(json!({"sub": "s", "name": "info", "email": "e@x", "groups": ["a", "b"]}));
        let m = merge(id, info, "groups");
        assert_eq!(m["name"], "token");
        assert_eq!(m["email"], "e@x");
        assert_eq!(m["groups"], json!(["a", "b"]));
    }
}
