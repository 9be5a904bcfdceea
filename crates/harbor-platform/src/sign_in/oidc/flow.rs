//! A sign-in in progress: the state, nonce and PKCE verifier between `/c/oidc/login` and
//! the callback, and the verified identity between the callback and onboarding. Both
//! are sealed (AES-256-GCM with the server's secret key: confidential and tamper-proof)
//! into short-lived cookies, so any replica can finish a sign-in another started.

use base64::Engine;
use harbor_auth::sealing::SealingKeys;
use harbor_core::identity::User;
use serde::{Deserialize, Serialize};

use super::provider::{Provider, TokenAnswer};
use super::{OidcError, OidcIdentity};
use crate::sign_in::OidcConfig;

/// The cookie of a sign-in between `/c/oidc/login` and the callback.
pub const LOGIN_COOKIE: &str = "oidc_login";
/// The cookie of a verified user waiting for a username.
pub const ONBOARD_COOKIE: &str = "oidc_onboard";
/// How long a sign-in may take (ms).
pub const PENDING_TTL_MS: i64 = 10 * 60 * 1000;

/// A sign-in started: where to send the browser and the cookie to set.
#[derive(Debug)]
pub struct Started {
    /// The provider's authorization URL.
    pub url: String,
    /// The sealed [`LOGIN_COOKIE`] value.
    pub cookie: String,
}

/// How a callback ended.
#[derive(Debug)]
pub enum Finished {
    /// The user is known (or was onboarded automatically): start a session.
    SignedIn {
        /// The user.
        user: User,
        /// What the provider says about them.
        identity: Box<OidcIdentity>,
        /// The local path to show.
        then: String,
    },
    /// A new user must choose a username: show the onboarding page.
    Onboard {
        /// The sealed [`ONBOARD_COOKIE`] value.
        cookie: String,
        /// The username to suggest.
        suggested: String,
    },
}

/// The callback's query parameters.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    /// The authorization code.
    #[serde(default)]
    pub code: Option<String>,
    /// The state sent with the authorization request.
    #[serde(default)]
    pub state: Option<String>,
    /// The provider's error code.
    #[serde(default)]
    pub error: Option<String>,
    /// The provider's error text.
    #[serde(default)]
    pub error_description: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub then: String,
    pub redirect_uri: String,
    pub issuer: String,
    pub expires_ms: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct PendingOnboard {
    pub identity: OidcIdentity,
    pub token: StoredToken,
    pub then: String,
    pub expires_ms: i64,
}

/// The provider's tokens as stored (sealed) for a user.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredToken {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the access token expires (ms); `None`: the provider did not say.
    #[serde(default)]
    pub expires_ms: Option<i64>,
    #[serde(default)]
    pub id_token: Option<String>,
}

impl StoredToken {
    /// From the token endpoint's answer; a refresh that sends no new refresh or ID token
    /// keeps the previous ones.
    pub fn from_answer(a: TokenAnswer, previous: Option<&StoredToken>) -> Self {
        StoredToken {
            access_token: a.access_token,
            refresh_token: a
                .refresh_token
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            expires_ms: a
                .expires_in
                .map(|s| harbor_core::model::now_ms().saturating_add(s.saturating_mul(1000))),
            id_token: a
                .id_token
                .or_else(|| previous.and_then(|p| p.id_token.clone())),
        }
    }

    /// The access token is still valid at `now_ms` (a token without expiry is, as in
    /// Harbor's `oauth2.Token.Valid`).
    pub fn valid(&self, now_ms: i64) -> bool {
        self.expires_ms.is_none_or(|e| e > now_ms)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(b: &[u8]) -> Option<Self> {
        serde_json::from_slice(b).ok()
    }
}

/// `value` sealed as `what`, base64url: a cookie value.
pub(crate) fn seal_cookie<T: Serialize>(
    keys: &SealingKeys,
    what: &str,
    value: &T,
) -> Result<String, OidcError> {
    let json = serde_json::to_vec(value).map_err(harbor_core::Error::internal)?;
    let sealed = keys
        .seal(&json, what)
        .map_err(harbor_core::Error::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
}

/// A cookie value sealed as `what`, if it opens.
pub(crate) fn open_cookie<T: serde::de::DeserializeOwned>(
    keys: &SealingKeys,
    what: &str,
    cookie: &str,
) -> Option<T> {
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cookie)
        .ok()?;
    let (json, _) = keys.open(&sealed, what).ok()?;
    serde_json::from_slice(&json).ok()
}

/// The PKCE S256 challenge of `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// The provider's authorization URL for `pending`.
pub(crate) fn authorization_url(
    p: &Provider,
    c: &OidcConfig,
    pending: &PendingLogin,
) -> Result<String, OidcError> {
    let mut url = url::Url::parse(&p.authorization_endpoint).map_err(|e| {
        OidcError::Provider(format!(
            "authorization endpoint {:?}: {e}",
            p.authorization_endpoint
        ))
    })?;
    let mut scopes: Vec<&str> = c
        .scope
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if !scopes.contains(&"openid") {
        scopes.insert(0, "openid");
    }
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &c.client_id)
            .append_pair("redirect_uri", &pending.redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &pkce_challenge(&pending.verifier))
            .append_pair("code_challenge_method", "S256");
        // Google hands out refresh tokens only when asked this way (as Harbor does).
        if p.issuer.contains("accounts.google.com") {
            q.append_pair("access_type", "offline");
        }
        if let Ok(serde_json::Value::Object(extra)) =
            serde_json::from_str::<serde_json::Value>(&c.extra_redirect_parms)
        {
            for (k, v) in extra {
                if let Some(v) = v.as_str() {
                    q.append_pair(&k, v);
                }
            }
        }
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn cookies_open_only_as_sealed() {
        let keys = SealingKeys::new(
            harbor_auth::sealing::SealingKey::generate().unwrap(),
            vec![],
        );
        let token = StoredToken {
            access_token: "a".into(),
            refresh_token: None,
            expires_ms: Some(1),
            id_token: None,
        };
        let c = seal_cookie(&keys, LOGIN_COOKIE, &token).unwrap();
        assert!(open_cookie::<StoredToken>(&keys, LOGIN_COOKIE, &c).is_some());
        assert!(open_cookie::<StoredToken>(&keys, ONBOARD_COOKIE, &c).is_none());
        let mut tampered = c.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(open_cookie::<StoredToken>(&keys, LOGIN_COOKIE, &tampered).is_none());
        assert!(!token.valid(2));
    }

    #[test]
    fn the_authorization_url_carries_pkce_state_nonce_and_extras() {
        let p = Provider {
            issuer: "https://id.example".into(),
            authorization_endpoint: "https://id.example/auth?x=1".into(),
            token_endpoint: String::new(),
            jwks_uri: String::new(),
            userinfo_endpoint: None,
            end_session_endpoint: None,
            secret_in_body: false,
            verify_cert: true,
        };
        let c = OidcConfig {
            client_id: "harbor".into(),
            scope: "email,offline_access".into(),
            extra_redirect_parms: r#"{"prompt":"login"}"#.into(),
            ..OidcConfig::default()
        };
        let pending = PendingLogin {
            state: "s".into(),
            nonce: "n".into(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            then: "/".into(),
            redirect_uri: "https://harbor.example/c/oidc/callback".into(),
            issuer: p.issuer.clone(),
            expires_ms: 0,
        };
        let url = url::Url::parse(&authorization_url(&p, &c, &pending).unwrap()).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["x"], "1");
        assert_eq!(q["scope"], "openid email offline_access");
        assert_eq!(
            q["code_challenge"],
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], "s");
        assert_eq!(q["nonce"], "n");
        assert_eq!(q["prompt"], "login");
        assert_eq!(q["redirect_uri"], "https://harbor.example/c/oidc/callback");
    }
}
