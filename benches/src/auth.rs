//! Registry authentication as Docker clients do it, for registries that ask for it (and
//! only for them: a registry that never answers `401` never sees credentials).
//!
//! A `401` with `WWW-Authenticate: Bearer realm=...,service=...` sends the client to the
//! realm (the token service) for a token for the repository's scope, asked for as
//! `repository:<name>:pull,push` with the Basic credentials if there are any (anonymously
//! otherwise); the request is then retried once with `Authorization: Bearer <token>`.
//! Tokens are cached per scope until shortly before they expire, so once a repository
//! has a token its requests go out with it directly: no extra round trip, and the hot
//! path is a read lock and a hash lookup. A `401` with a `Basic` challenge is retried
//! with the Basic credentials, which are then sent up front for that scope.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};

/// A `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// Fetch a token from `realm`.
    Bearer {
        /// The token service's URL.
        realm: String,
        /// The `service` to ask for.
        service: Option<String>,
        /// The scope the registry asked for.
        scope: Option<String>,
    },
    /// Send Basic credentials.
    Basic,
}

/// Parses one challenge, e.g. `Bearer realm="https://r/token",service="r",scope="a:b:pull"`.
pub fn parse_challenge(value: &str) -> Option<Challenge> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = auth_params(rest);
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    Some(Challenge::Bearer {
        realm: get("realm").filter(|r| !r.is_empty())?,
        service: get("service"),
        scope: get("scope"),
    })
}

/// `key=value` and `key="quoted, value"` pairs separated by commas.
fn auth_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ',') {
            key.push(c);
        }
        if chars.next() != Some('=') {
            return out;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        out.push((key.trim().to_owned(), value.trim().to_owned()));
    }
}

/// What a request touches, which decides the token it needs.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// `GET /v2/`.
    Base,
    /// `GET /v2/_catalog`.
    Catalog,
    /// Anything under `/v2/<name>/`.
    Repository(&'a str),
}

impl Scope<'_> {
    /// The cache key (repository names cannot be empty or start with `_`).
    fn key(&self) -> &str {
        match self {
            Scope::Base => "",
            Scope::Catalog => "_catalog",
            Scope::Repository(r) => r,
        }
    }

    /// The token scope to ask for: a repository's token covers both pulls and pushes.
    fn token_scope(&self, asked: Option<&str>) -> Option<String> {
        match self {
            Scope::Base => asked.map(str::to_owned),
            Scope::Catalog => Some(asked.unwrap_or("registry:catalog:*").to_owned()),
            Scope::Repository(r) => Some(format!("repository:{r}:pull,push")),
        }
    }
}

/// A cached `Authorization` header.
#[derive(Clone)]
struct Entry {
    header: HeaderValue,
    /// When to fetch a new token (`None`: Basic, never).
    refresh_at: Option<Instant>,
}

/// What the cache holds for a scope.
pub enum Cached {
    /// A header to send.
    Fresh(HeaderValue),
    /// A token about to expire: fetch a new one first.
    Stale,
    /// Nothing: send the request without credentials.
    Missing,
}

/// The token service learnt from a challenge.
#[derive(Clone)]
struct Realm {
    realm: String,
    service: Option<String>,
}

/// Credentials and cached tokens of one registry.
pub struct Auth {
    basic: Option<HeaderValue>,
    cache: RwLock<HashMap<String, Entry>>,
    realm: RwLock<Option<Realm>>,
    /// One token fetch at a time: concurrent requests for the same scope wait for the
    /// first fetch and reuse its token.
    fetching: tokio::sync::Mutex<()>,
    round_trips: AtomicU64,
}

/// The body of a token service's answer.
#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Auth {
    /// No tokens yet; `credentials` are (user, password).
    pub fn new(credentials: Option<(String, String)>) -> Self {
        Auth {
            basic: credentials.map(|(u, p)| basic_header(&u, &p)),
            cache: RwLock::new(HashMap::new()),
            realm: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
            round_trips: AtomicU64::new(0),
        }
    }

    /// Whether credentials were given.
    pub fn has_credentials(&self) -> bool {
        self.basic.is_some()
    }

    /// The token service, once a challenge named it.
    pub fn realm(&self) -> Option<String> {
        self.realm
            .read()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.realm.clone()))
    }

    /// Requests that authentication added: `401`s answered and token fetches.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Counts a `401` that was answered and retried.
    pub fn count_retry(&self) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
    }

    /// The header to send for `scope`: the hot path.
    pub fn cached(&self, scope: Scope<'_>) -> Cached {
        let Ok(cache) = self.cache.read() else {
            return Cached::Missing;
        };
        match cache.get(scope.key()) {
            None => Cached::Missing,
            Some(e) if e.refresh_at.is_some_and(|t| Instant::now() >= t) => Cached::Stale,
            Some(e) => Cached::Fresh(e.header.clone()),
        }
    }

    fn store(&self, scope: Scope<'_>, entry: Entry) {
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(scope.key().to_owned(), entry);
        }
    }

    /// Fetches a token for `scope` from the known token service up front (before a
    /// request needs it). `None` when no challenge has named a token service yet.
    pub async fn refresh(
        &self,
        http: &Client,
        scope: Scope<'_>,
    ) -> Result<Option<HeaderValue>, String> {
        let Some(realm) = self.realm.read().ok().and_then(|r| r.clone()) else {
            return Ok(None);
        };
        self.token(http, &realm, scope, None, None).await.map(Some)
    }

    /// Answers a `401` to a request for `scope` that carried `sent`: the header to retry
    /// with, or `None` when there is nothing better to send.
    pub async fn answer(
        &self,
        http: &Client,
        scope: Scope<'_>,
        headers: &HeaderMap,
        sent: Option<&HeaderValue>,
    ) -> Result<Option<HeaderValue>, String> {
        let challenges: Vec<Challenge> = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(parse_challenge)
            .collect();
        let bearer = challenges.iter().find_map(|c| match c {
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => Some((
                Realm {
                    realm: realm.clone(),
                    service: service.clone(),
                },
                scope.clone(),
            )),
            Challenge::Basic => None,
        });
        if let Some((realm, asked)) = bearer {
            if let Ok(mut r) = self.realm.write() {
                *r = Some(realm.clone());
            }
            // Anonymous callers get no token for the base endpoint: it only checks
            // credentials.
            if matches!(scope, Scope::Base) && self.basic.is_none() {
                return Ok(None);
            }
            return self
                .token(http, &realm, scope, asked.as_deref(), sent)
                .await
                .map(Some);
        }
        if !challenges.contains(&Challenge::Basic) {
            return Ok(None);
        }
        // Harbor answers stale or rejected credentials with a Basic challenge: a token
        // that was sent is fetched anew if the token service is known.
        let sent_bearer = sent
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.starts_with("Bearer "));
        if sent_bearer && let Some(realm) = self.realm.read().ok().and_then(|r| r.clone()) {
            return self.token(http, &realm, scope, None, sent).await.map(Some);
        }
        match &self.basic {
            Some(b) if sent != Some(b) => {
                self.store(
                    scope,
                    Entry {
                        header: b.clone(),
                        refresh_at: None,
                    },
                );
                Ok(Some(b.clone()))
            }
            _ => Ok(None),
        }
    }

    /// Fetches (and caches) a token for `scope`, unless another task has just fetched
    /// one that differs from `sent`.
    async fn token(
        &self,
        http: &Client,
        realm: &Realm,
        scope: Scope<'_>,
        asked: Option<&str>,
        sent: Option<&HeaderValue>,
    ) -> Result<HeaderValue, String> {
        let _one_at_a_time = self.fetching.lock().await;
        if let Cached::Fresh(h) = self.cached(scope)
            && Some(&h) != sent
        {
            return Ok(h);
        }
        let mut url = realm.realm.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        for (k, v) in [
            ("service", realm.service.clone()),
            ("scope", scope.token_scope(asked)),
        ] {
            if let Some(v) = v {
                url.push(sep);
                url.push_str(k);
                url.push('=');
                url.push_str(&encode(&v));
                sep = '&';
            }
        }
        let mut rb = http.get(&url);
        if let Some(b) = &self.basic {
            rb = rb.header(AUTHORIZATION, b.clone());
        }
        let asked_at = Instant::now();
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let r = rb
            .send()
            .await
            .map_err(|e| format!("token service {}: {e}", realm.realm))?;
        let status = r.status();
        let body = r
            .bytes()
            .await
            .map_err(|e| format!("token service {}: {e}", realm.realm))?;
        if !status.is_success() {
            let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
                if self.basic.is_some() {
                    " (credentials rejected: check --user/--password)"
                } else {
                    " (this registry wants credentials: --user/--password)"
                }
            } else {
                ""
            };
            return Err(format!(
                "token service {}: HTTP {status}{hint}: {}",
                realm.realm,
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ));
        }
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| format!("token service {}: bad JSON: {e}", realm.realm))?;
        let token = t
            .token
            .filter(|t| !t.is_empty())
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("token service {}: no token in the answer", realm.realm))?;
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| format!("token service {}: unusable token", realm.realm))?;
        header.set_sensitive(true);
        // The Docker token specification's default lifetime is 60 s; renew a tenth of
        // the lifetime (at most a minute) before it ends.
        let ttl = t.expires_in.unwrap_or(60).max(1);
        let margin = (ttl / 10).clamp(1, 60);
        self.store(
            scope,
            Entry {
                header: header.clone(),
                refresh_at: Some(asked_at + Duration::from_secs(ttl.saturating_sub(margin))),
            },
        );
        Ok(header)
    }
}

/// `Basic base64(user:password)`.
pub fn basic_header(user: &str, password: &str) -> HeaderValue {
    let mut h = HeaderValue::from_str(&format!(
        "Basic {}",
        base64(format!("{user}:{password}").as_bytes())
    ))
    .expect("base64 is a valid header value");
    h.set_sensitive(true);
    h
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="http://127.0.0.1:5000/service/token",service="harbor-registry",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:5000/service/token".into(),
                service: Some("harbor-registry".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"bearer realm=https://auth.example/token, service="x\"y""#),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("x\"y".into()),
                scope: None,
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="harbor""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Bearer"), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn encodings() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"admin:Harbor12345"), "YWRtaW46SGFyYm9yMTIzNDU=");
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    #[test]
    fn scopes() {
        assert_eq!(
            Scope::Repository("p/r").token_scope(Some("repository:p/r:pull")),
            Some("repository:p/r:pull,push".into())
        );
        assert_eq!(
            Scope::Catalog.token_scope(None),
            Some("registry:catalog:*".into())
        );
        assert_eq!(Scope::Base.token_scope(None), None);
    }
}
