//! Registry authentication: `WWW-Authenticate` challenges, credentials, and bearer tokens
//! cached per set of scopes.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

/// Basic credentials for a registry (also sent to its token service).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// User name (or access key).
    pub username: String,
    secret: String,
}

impl Credential {
    /// Basic credentials.
    pub fn basic(username: impl Into<String>, secret: impl Into<String>) -> Self {
        Credential {
            username: username.into(),
            secret: secret.into(),
        }
    }

    /// The secret (password, token or access secret).
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// What a registry asked for in `WWW-Authenticate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// Basic credentials on every request.
    Basic,
    /// A token from `realm`.
    Bearer {
        /// Token service URL.
        realm: String,
        /// `service` parameter, if any.
        service: Option<String>,
        /// `scope` parameter, if any (space-separated scopes).
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses the first Basic or Bearer challenge of a `WWW-Authenticate` value; quoted
    /// values may contain commas and escaped quotes.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = match header.find(char::is_whitespace) {
            Some(i) => (&header[..i], &header[i..]),
            None => (header, ""),
        };
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(rest);
        let get = |k: &str| {
            params
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `k=v, k="v, with commas", ...`
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        if chars.next() != Some('=') {
            if chars.peek().is_none() {
                return out;
            }
            continue;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key.trim().to_owned(), value.trim().to_owned()));
    }
}

/// A token service's answer.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token (`token`, else `access_token`) and its lifetime (default 60 s).
    pub(crate) fn into_parts(self) -> Option<(String, Duration)> {
        let token = self
            .token
            .filter(|t| !t.is_empty())
            .or(self.access_token.filter(|t| !t.is_empty()))?;
        let secs = self.expires_in.filter(|s| *s > 0).unwrap_or(60);
        Some((token, Duration::from_secs(secs)))
    }
}

/// A set of scopes, in canonical order (the key of the token cache).
pub(crate) type ScopeSet = BTreeSet<String>;

/// What the client learned about the registry's authentication, and its tokens.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    /// The scheme the registry asked for last; `None` until the first challenge.
    pub(crate) scheme: Option<Challenge>,
    tokens: HashMap<ScopeSet, (String, Instant)>,
}

impl AuthState {
    /// A cached token for exactly these scopes that is not about to expire.
    pub(crate) fn token(&self, scopes: &ScopeSet) -> Option<String> {
        self.tokens
            .get(scopes)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(t, _)| t.clone())
    }

    /// Caches a token; it is used until shortly before it expires (a tenth of its life, at
    /// least 2 s and at most 30 s).
    pub(crate) fn store(&mut self, scopes: ScopeSet, token: String, lifetime: Duration) {
        let margin = (lifetime / 10).clamp(Duration::from_secs(2), Duration::from_secs(30));
        let until = Instant::now() + lifetime.saturating_sub(margin);
        self.tokens.retain(|_, (_, u)| Instant::now() < *u);
        self.tokens.insert(scopes, (token, until));
    }
}

/// `repository:<name>:<actions>`
pub fn repository_scope(repo: &str, actions: &str) -> String {
    format!("repository:{repo}:{actions}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_commas_in_quotes() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull,push".into()),
            })
        );
        let c = Challenge::parse(r#"bearer  realm="http://h/t?a=b,c", error="insufficient_scope""#);
        assert!(
            matches!(c, Some(Challenge::Bearer { realm, service: None, scope: None }) if realm == "http://h/t?a=b,c")
        );
        let c = Challenge::parse(r#"Bearer realm=http://h/token, service=reg"#);
        assert!(
            matches!(c, Some(Challenge::Bearer { realm, service: Some(s), .. }) if realm == "http://h/token" && s == "reg")
        );
        let c = Challenge::parse(r#"Bearer realm="a\"b""#);
        assert!(matches!(c, Some(Challenge::Bearer { realm, .. }) if realm == "a\"b"));
    }

    #[test]
    fn basic_and_unknown() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("basic"), Some(Challenge::Basic));
        assert_eq!(Challenge::parse("Negotiate abc"), None);
        assert_eq!(Challenge::parse(r#"Bearer service="no realm""#), None);
    }

    #[test]
    fn token_fields_and_default_lifetime() {
        let t: TokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).expect("json");
        assert_eq!(t.into_parts(), Some(("a".into(), Duration::from_secs(60))));
        let t: TokenResponse =
            serde_json::from_str(r#"{"token":"t","access_token":"a","expires_in":300}"#)
                .expect("json");
        assert_eq!(t.into_parts(), Some(("t".into(), Duration::from_secs(300))));
        let t: TokenResponse = serde_json::from_str(r#"{"token":""}"#).expect("json");
        assert_eq!(t.into_parts(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_expire_early() {
        let mut s = AuthState::default();
        let scopes: ScopeSet = [repository_scope("a", "pull")].into();
        s.store(scopes.clone(), "t".into(), Duration::from_secs(60));
        assert_eq!(s.token(&scopes).as_deref(), Some("t"));
        let other: ScopeSet = [repository_scope("a", "pull,push")].into();
        assert_eq!(s.token(&other), None);
        tokio::time::advance(Duration::from_secs(53)).await;
        assert_eq!(s.token(&scopes).as_deref(), Some("t"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(s.token(&scopes), None, "refreshed 6 s before expiry");
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = Credential::basic("robot$x", "s3cr3t-value");
        let shown = format!("{c:?}");
        assert!(
            shown.contains("robot$x") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
