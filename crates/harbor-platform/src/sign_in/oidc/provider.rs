//! Talking to the OIDC provider: discovery (`/.well-known/openid-configuration`), its
//! signing keys (JWKS, cached, fetched again for an unknown key id at most every
//! [`JWKS_REFETCH`]), the token endpoint (authorization code with PKCE, refresh token) and
//! userinfo.
//!
//! The provider is configured by administrators and usually lives on the company's
//! network, so the outbound address policy for registries does not apply; every call has
//! a time limit and a size limit, and certificates are verified unless `oidc_verify_cert`
//! is off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use harbor_remote::http::{HttpClient, Method, Request};
use harbor_remote::{AddressPolicy, ClientOptions};
use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::OidcError;

/// How long a provider's discovery document is used before it is fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(300);
/// How long a key set is used before it is fetched again.
const JWKS_TTL: Duration = Duration::from_secs(3600);
/// The shortest time between two fetches of a key set for an unknown key id (a token
/// signed with a key the provider just rotated in).
pub const JWKS_REFETCH: Duration = Duration::from_secs(2);
/// Each call to the provider must end within this time.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from the provider.
const MAX_BODY: u64 = 512 * 1024;

/// The provider's endpoints, from its discovery document.
#[derive(Clone, Debug)]
pub(crate) struct Provider {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    /// Send the client's credentials in the body (`client_secret_post`) rather than as
    /// Basic authentication (`client_secret_basic`, the default).
    pub secret_in_body: bool,
    pub verify_cert: bool,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    end_session_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// The token endpoint's answer.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
}

/// A provider's endpoint and whether its certificate is verified.
type DiscoveryKey = (String, bool);

struct KeySet {
    keys: Vec<Jwk>,
    fetched: Instant,
}

/// The HTTP clients and caches, shared by every clone of the service.
pub(crate) struct Client {
    verifying: Result<HttpClient, String>,
    trusting: Result<HttpClient, String>,
    discovery: Mutex<HashMap<DiscoveryKey, (Instant, Arc<Provider>)>>,
    jwks: Mutex<HashMap<String, KeySet>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn provider_err(what: &str, e: impl std::fmt::Display) -> OidcError {
    OidcError::Provider(format!("{what}: {e}"))
}

/// The endpoint without a trailing slash (issuers are compared this way).
pub(crate) fn trimmed(url: &str) -> &str {
    url.trim_end_matches('/')
}

impl Client {
    pub fn new() -> Self {
        let options = ClientOptions {
            address_policy: AddressPolicy::allow_all(),
            ..ClientOptions::default()
        };
        let build = |insecure| HttpClient::new(&options, insecure).map_err(|e| e.to_string());
        Client {
            verifying: build(false),
            trusting: build(true),
            discovery: Mutex::new(HashMap::new()),
            jwks: Mutex::new(HashMap::new()),
        }
    }

    fn http(&self, verify_cert: bool) -> Result<&HttpClient, OidcError> {
        let c = if verify_cert {
            &self.verifying
        } else {
            &self.trusting
        };
        c.as_ref()
            .map_err(|e| OidcError::Provider(format!("HTTP client: {e}")))
    }

    async fn call(
        &self,
        verify_cert: bool,
        method: Method,
        url: &str,
        headers: Vec<(&str, String)>,
        body: Option<Bytes>,
    ) -> Result<(u16, Bytes), OidcError> {
        let answer = self
            .http(verify_cert)?
            .send(Request {
                method,
                url,
                headers,
                body,
                timeout: CALL_TIMEOUT,
                max_body: MAX_BODY,
            })
            .await
            .map_err(|e| provider_err(url, e))?;
        Ok((answer.status, answer.body))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        verify_cert: bool,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<T, OidcError> {
        let mut headers = vec![("accept", "application/json".to_owned())];
        if let Some(token) = bearer {
            headers.push(("authorization", format!("Bearer {token}")));
        }
        let (status, body) = self
            .call(verify_cert, Method::GET, url, headers, None)
            .await?;
        if status != 200 {
            return Err(OidcError::Provider(format!("{url}: answered {status}")));
        }
        serde_json::from_slice(&body).map_err(|e| provider_err(url, e))
    }

    /// The provider at `endpoint` (cached for a few minutes unless `fresh`). Its issuer
    /// must be the endpoint.
    pub async fn discover(
        &self,
        endpoint: &str,
        verify_cert: bool,
        fresh: bool,
    ) -> Result<Arc<Provider>, OidcError> {
        let key = (trimmed(endpoint).to_owned(), verify_cert);
        if !fresh
            && let Some((at, p)) = lock(&self.discovery).get(&key)
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(p.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", key.0);
        let d: Discovery = self.get_json(verify_cert, &url, None).await?;
        if trimmed(&d.issuer) != key.0 {
            return Err(OidcError::Provider(format!(
                "the provider's issuer {:?} is not the configured endpoint {:?}",
                d.issuer, key.0
            )));
        }
        let secret_in_body = d.token_endpoint_auth_methods_supported.is_some_and(|m| {
            !m.iter().any(|x| x == "client_secret_basic")
                && m.iter().any(|x| x == "client_secret_post")
        });
        let p = Arc::new(Provider {
            issuer: d.issuer,
            authorization_endpoint: d.authorization_endpoint,
            token_endpoint: d.token_endpoint,
            jwks_uri: d.jwks_uri,
            userinfo_endpoint: d.userinfo_endpoint.filter(|u| !u.is_empty()),
            end_session_endpoint: d.end_session_endpoint.filter(|u| !u.is_empty()),
            secret_in_body,
            verify_cert,
        });
        lock(&self.discovery).insert(key, (Instant::now(), p.clone()));
        Ok(p)
    }

    /// The provider's signing keys that may have signed a token with key id `kid`: the
    /// cached set, fetched again when it is old or (at most every [`JWKS_REFETCH`]) when
    /// it has no key `kid`.
    pub async fn keys(&self, p: &Provider, kid: Option<&str>) -> Result<Vec<Jwk>, OidcError> {
        let cached = {
            let sets = lock(&self.jwks);
            sets.get(&p.jwks_uri).map(|s| {
                let known = kid
                    .is_none_or(|k| s.keys.iter().any(|j| j.common.key_id.as_deref() == Some(k)));
                let fresh = s.fetched.elapsed() < JWKS_TTL;
                let may_refetch = s.fetched.elapsed() >= JWKS_REFETCH;
                (s.keys.clone(), known && fresh, may_refetch)
            })
        };
        match cached {
            Some((keys, true, _)) | Some((keys, false, false)) => return Ok(keys),
            _ => {}
        }
        let set: Map<String, Value> = self.get_json(p.verify_cert, &p.jwks_uri, None).await?;
        let keys: Vec<Jwk> = set
            .get("keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|k| k.get("use").and_then(Value::as_str) != Some("enc"))
            .filter_map(|k| serde_json::from_value(k.clone()).ok())
            .collect();
        tracing::debug!(uri = %p.jwks_uri, keys = keys.len(), "OIDC: fetched the provider's keys");
        lock(&self.jwks).insert(
            p.jwks_uri.clone(),
            KeySet {
                keys: keys.clone(),
                fetched: Instant::now(),
            },
        );
        Ok(keys)
    }

    /// Calls the token endpoint with `form` and the client's credentials.
    pub async fn token(
        &self,
        p: &Provider,
        client_id: &str,
        client_secret: &str,
        form: &[(&str, &str)],
    ) -> Result<TokenAnswer, OidcError> {
        let mut headers = vec![
            (
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("accept", "application/json".to_owned()),
        ];
        let in_body = p.secret_in_body.then_some((client_id, client_secret));
        if !p.secret_in_body {
            // RFC 6749 §2.3.1: both form-encoded before Basic.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                enc(client_id),
                enc(client_secret)
            ));
            headers.push(("authorization", format!("Basic {basic}")));
        }
        let body = Bytes::from(form_body(form, in_body));
        let (status, body) = self
            .call(
                p.verify_cert,
                Method::POST,
                &p.token_endpoint,
                headers,
                Some(body),
            )
            .await?;
        if status != 200 {
            #[derive(Deserialize)]
            struct Refusal {
                error: String,
                #[serde(default)]
                error_description: Option<String>,
            }
            return Err(match serde_json::from_slice::<Refusal>(&body) {
                Ok(r) if (400..500).contains(&status) => {
                    OidcError::Refused(match r.error_description {
                        Some(d) => format!("{} ({d})", r.error),
                        None => r.error,
                    })
                }
                _ => OidcError::Provider(format!("token endpoint answered {status}")),
            });
        }
        serde_json::from_slice(&body).map_err(|e| provider_err("token endpoint", e))
    }

    /// The userinfo claims for `access_token`, if the provider has the endpoint.
    pub async fn userinfo(
        &self,
        p: &Provider,
        access_token: &str,
    ) -> Result<Option<Map<String, Value>>, OidcError> {
        let Some(url) = &p.userinfo_endpoint else {
            return Ok(None);
        };
        self.get_json(p.verify_cert, url, Some(access_token))
            .await
            .map(Some)
    }
}

/// `form` (and the client's credentials when they go in the body) form-encoded.
fn form_body(form: &[(&str, &str)], credentials: Option<(&str, &str)>) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        pairs.append_pair(k, v);
    }
    if let Some((id, secret)) = credentials {
        pairs.append_pair("client_id", id);
        pairs.append_pair("client_secret", secret);
    }
    pairs.finish()
}
