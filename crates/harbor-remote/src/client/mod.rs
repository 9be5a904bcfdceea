//! [`Client`]: one remote registry endpoint, its HTTP connection pool, what it learned
//! about the registry's authentication, and the request loop (address policy,
//! authentication, retries) every operation goes through.

mod blobs;
mod harbor;
mod listing;
mod manifests;
pub(crate) mod response;
mod upload;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use harbor_core::RepositoryName;
use reqwest::header::{HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use crate::auth::{AuthState, Challenge, Credential, ScopeSet, TokenResponse, repository_scope};
use crate::error::{Error, Result, from_reqwest};
use crate::policy::{AddressPolicy, PolicyResolver};
use crate::ratelimit::RateLimiter;
use crate::retry::{RetryPolicy, retryable_status};

pub use listing::{Page, Referrer};
pub use manifests::{MANIFEST_ACCEPT, Manifest, referrers_tag};

/// A remote registry: its base URL, credentials and whether TLS certificates are checked.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Base URL, such as `https://registry.example.com` (`/v2/` is appended).
    pub url: String,
    /// Credentials, if any; anonymous access otherwise.
    pub credential: Option<Credential>,
    /// Skip TLS certificate verification (Harbor's `insecure`).
    pub insecure: bool,
    /// PEM CA certificates to verify the registry with, instead of the system's roots
    /// (Harbor's `ca_certificate`).
    pub ca_certificate: Option<String>,
}

impl Endpoint {
    /// An endpoint with anonymous access and verified TLS.
    pub fn new(url: impl Into<String>) -> Self {
        Endpoint {
            url: url.into(),
            credential: None,
            insecure: false,
            ca_certificate: None,
        }
    }

    /// The same endpoint with credentials.
    pub fn with_credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }
}

/// How a [`Client`] connects, waits and retries.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request other than a blob body transfer (manifests, listings,
    /// tokens, HEADs, upload sessions).
    pub request_timeout: Duration,
    /// Longest wait for data while a blob body streams (no total limit for blobs).
    pub stream_idle_timeout: Duration,
    /// Retries of repeatable requests.
    pub retry: RetryPolicy,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Which addresses may be connected to (also for token realms and redirects).
    pub address_policy: AddressPolicy,
    /// Upload blobs larger than this in chunks of this size (one chunk is held in memory);
    /// `None` uploads every blob in one streamed request.
    pub chunk_size: Option<u64>,
    /// Bandwidth limit for blob bodies this client sends and receives.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Largest manifest accepted (bytes).
    pub max_manifest_size: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            stream_idle_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent: concat!("harbor-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            address_policy: AddressPolicy::default(),
            chunk_size: None,
            rate_limiter: None,
            max_manifest_size: 4 * 1024 * 1024,
        }
    }
}

/// `builder` with the rules every outbound connection follows: the address policy on
/// resolved addresses (and on every redirect, at most 10), no proxy (a proxy would resolve
/// names itself, out of the policy's reach), the options' time-outs and user agent, and
/// TLS verification unless `insecure`. IP-literal hosts are not resolved: callers check
/// them with [`AddressPolicy::check_url`] before each request.
pub(crate) fn guarded(
    builder: reqwest::ClientBuilder,
    options: &ClientOptions,
    policy: &Arc<AddressPolicy>,
    insecure: bool,
) -> reqwest::ClientBuilder {
    let redirect_policy = policy.clone();
    builder
        .user_agent(options.user_agent.clone())
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.stream_idle_timeout)
        .danger_accept_invalid_certs(insecure)
        .no_proxy()
        .dns_resolver(PolicyResolver::new(policy.clone()))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 {
                return attempt.error(Error::protocol("more than 10 redirects"));
            }
            match redirect_policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        }))
}

/// An OCI Distribution client for one endpoint. Cheap to clone; clones share the
/// connection pool and the token cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base: Url,
    credential: Option<Credential>,
    http: reqwest::Client,
    options: ClientOptions,
    policy: Arc<AddressPolicy>,
    auth: tokio::sync::Mutex<AuthState>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("credential", &self.inner.credential)
            .finish()
    }
}

/// A request body: absent, repeatable, or a stream that can be sent once.
pub(crate) enum Body {
    Empty,
    Bytes(Bytes),
    Once(Option<reqwest::Body>),
}

/// One request as the loop in [`Client::send`] needs it.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Body,
    /// Scopes of the token to send; `None` sends no registry authorization (token realm).
    pub(crate) scopes: Option<ScopeSet>,
    /// Send the endpoint's Basic credentials whatever the host (token realm).
    pub(crate) basic: bool,
    /// Whole-request timeout; `None` for blob transfers (idle timeout only).
    pub(crate) timeout: Option<Duration>,
    /// What the request is for, for error messages.
    pub(crate) what: String,
}

impl Req {
    pub(crate) fn new(method: Method, url: Url, scopes: ScopeSet, what: String) -> Self {
        Req {
            method,
            url,
            headers: HeaderMap::new(),
            body: Body::Empty,
            scopes: Some(scopes),
            basic: false,
            timeout: None,
            what,
        }
    }

    pub(crate) fn header(mut self, name: reqwest::header::HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }
}

impl Client {
    /// A client for `endpoint`.
    pub fn new(endpoint: Endpoint, options: ClientOptions) -> Result<Self> {
        let mut base = Url::parse(endpoint.url.trim())
            .map_err(|e| Error::InvalidInput(format!("registry URL {:?}: {e}", endpoint.url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(Error::InvalidInput(format!(
                "registry URL {:?} must be http(s)://host[:port]",
                endpoint.url
            )));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(Error::InvalidInput(
                "put credentials in the endpoint's credential, not in its URL".into(),
            ));
        }
        base.set_query(None);
        base.set_fragment(None);
        let path = base.path().trim_end_matches('/').trim_end_matches("/v2");
        let path = format!("{}/", path.trim_end_matches('/'));
        base.set_path(&path);

        let policy = Arc::new(options.address_policy.clone());
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = endpoint
            .ca_certificate
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| Error::InvalidInput(format!("the registry's CA certificates: {e}")))?;
            if certs.is_empty() {
                return Err(Error::InvalidInput(
                    "the registry's CA certificates hold no certificate".into(),
                ));
            }
            builder = builder.tls_certs_only(certs);
        }
        let http = guarded(builder, &options, &policy, endpoint.insecure)
            .build()
            .map_err(|e| Error::InvalidInput(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                credential: endpoint.credential,
                http,
                options,
                policy,
                auth: tokio::sync::Mutex::new(AuthState::default()),
            }),
        })
    }

    /// The options this client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// The registry's base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// `GET /v2/`: whether the registry accepts this client's credentials (or anonymous
    /// access, without credentials). `Ok(false)` when the credentials are missing or
    /// refused; other failures are errors.
    pub async fn ping(&self) -> Result<bool> {
        let mut req = Req::new(
            Method::GET,
            self.url("v2/")?,
            ScopeSet::new(),
            "ping".into(),
        );
        req.timeout = Some(self.inner.options.request_timeout);
        let resp = match self.send(req).await {
            Ok(r) => r,
            Err(Error::Unauthorized(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Ok(false),
            _ => Err(self.error(resp, "ping").await),
        }
    }

    /// `base` + `path`.
    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.inner
            .base
            .join(path)
            .map_err(|e| Error::InvalidInput(format!("{path}: {e}")))
    }

    /// `v2/<repo>/<rest>`
    pub(crate) fn repo_url(&self, repo: &RepositoryName, rest: &str) -> Result<Url> {
        self.url(&format!("v2/{}/{rest}", repo.as_str()))
    }

    pub(crate) fn pull_scope(repo: &RepositoryName) -> ScopeSet {
        [repository_scope(repo.as_str(), "pull")].into()
    }

    pub(crate) fn push_scope(repo: &RepositoryName) -> ScopeSet {
        [repository_scope(repo.as_str(), "pull,push")].into()
    }

    fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.inner.base.origin()
    }

    /// Sends a request: checks the address policy, authorizes it, answers one
    /// authentication challenge, and repeats it (when its body allows) after 429, 502,
    /// 503, 504, connection failures and timeouts. Returns the last response, whatever
    /// its status.
    pub(crate) async fn send(&self, mut req: Req) -> Result<Response> {
        let retry = &self.inner.options.retry;
        let mut attempt = 0u32;
        let mut challenged = false;
        loop {
            attempt += 1;
            self.inner.policy.check_url(&req.url)?;
            let repeatable = !matches!(req.body, Body::Once(_));
            let mut rb = self
                .inner
                .http
                .request(req.method.clone(), req.url.clone())
                .headers(req.headers.clone());
            if let Some(t) = req.timeout {
                rb = rb.timeout(t);
            }
            if req.basic
                && let Some(c) = &self.inner.credential
            {
                rb = rb.basic_auth(&c.username, Some(c.secret()));
            }
            if let Some(scopes) = &req.scopes
                && self.same_origin(&req.url)
            {
                rb = self.authorize(rb, scopes).await?;
            }
            rb = match &mut req.body {
                Body::Empty => rb,
                Body::Bytes(b) => rb.body(b.clone()),
                Body::Once(b) => match b.take() {
                    Some(b) => rb.body(b),
                    None => return Err(Error::protocol("request body already sent")),
                },
            };
            let can_retry = repeatable && attempt < retry.max_attempts;
            let resp = match rb.send().await {
                Ok(resp) => resp,
                Err(e) => {
                    let err = from_reqwest(e, &req.what);
                    if can_retry && matches!(err, Error::Network(_) | Error::Timeout(_)) {
                        let wait = retry.backoff(attempt);
                        tracing::debug!(what = %req.what, error = %err, ?wait, "retrying");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(err);
                }
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED
                && !challenged
                && let Some(scopes) = &req.scopes
                && self.same_origin(&req.url)
                && let Some(header) = resp.headers().get(WWW_AUTHENTICATE)
            {
                challenged = true;
                let header = header.to_str().unwrap_or_default().to_owned();
                self.answer_challenge(&header, scopes).await?;
                if repeatable {
                    attempt -= 1;
                    continue;
                }
                return Ok(resp);
            }
            if retryable_status(status) && can_retry {
                let wait = retry.wait_after(attempt, resp.headers());
                tracing::debug!(what = %req.what, %status, ?wait, "retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Adds what the registry asked for last: Basic credentials or a token for `scopes`
    /// (fetched now if none is cached).
    async fn authorize(
        &self,
        rb: reqwest::RequestBuilder,
        scopes: &ScopeSet,
    ) -> Result<reqwest::RequestBuilder> {
        let mut state = self.inner.auth.lock().await;
        match state.scheme.clone() {
            None => Ok(rb),
            Some(Challenge::Basic) => Ok(match &self.inner.credential {
                Some(c) => rb.basic_auth(&c.username, Some(c.secret())),
                None => rb,
            }),
            Some(Challenge::Bearer { realm, service, .. }) => {
                if let Some(t) = state.token(scopes) {
                    return Ok(rb.bearer_auth(t));
                }
                let (token, lifetime) =
                    self.fetch_token(&realm, service.as_deref(), scopes).await?;
                state.store(scopes.clone(), token.clone(), lifetime);
                Ok(rb.bearer_auth(token))
            }
        }
    }

    /// Records what a 401's `WWW-Authenticate` asks for and, for a bearer challenge,
    /// fetches and caches a token for `scopes` (plus the challenge's own scope).
    async fn answer_challenge(&self, header: &str, scopes: &ScopeSet) -> Result<()> {
        let challenge = Challenge::parse(header).ok_or_else(|| {
            Error::Unauthorized(format!(
                "the registry asks for an unsupported authentication scheme: {header}"
            ))
        })?;
        let mut state = self.inner.auth.lock().await;
        match &challenge {
            Challenge::Basic => {
                if self.inner.credential.is_none() {
                    return Err(Error::Unauthorized(format!(
                        "{} requires credentials",
                        self.host()
                    )));
                }
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let mut wanted = scopes.clone();
                wanted.extend(scope.iter().flat_map(|s| s.split(' ')).map(str::to_owned));
                wanted.retain(|s| !s.is_empty());
                let (token, lifetime) =
                    self.fetch_token(realm, service.as_deref(), &wanted).await?;
                state.store(scopes.clone(), token, lifetime);
            }
        }
        state.scheme = Some(challenge);
        Ok(())
    }

    /// `GET realm?service=..&scope=..` with the endpoint's Basic credentials, if any.
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scopes: &ScopeSet,
    ) -> Result<(String, Duration)> {
        let mut url = Url::parse(realm)
            .map_err(|e| Error::protocol(format!("token realm {realm:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::protocol(format!(
                "token realm {realm:?} is not http(s)"
            )));
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            for s in scopes {
                q.append_pair("scope", s);
            }
        }
        let req = Req {
            method: Method::GET,
            url,
            headers: HeaderMap::new(),
            body: Body::Empty,
            scopes: None,
            basic: true,
            timeout: Some(self.inner.options.request_timeout),
            what: format!("token from {realm}"),
        };
        let resp = Box::pin(self.send(req)).await?;
        let status = resp.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(Error::Unauthorized(match &self.inner.credential {
                Some(c) => format!(
                    "the token service {realm} refused the credentials of {:?} ({status})",
                    c.username
                ),
                None => format!("the token service {realm} refused anonymous access ({status})"),
            }));
        }
        if !status.is_success() {
            return Err(self.error(resp, "token request").await);
        }
        let body = response::read_limited(resp, 1024 * 1024, "token response").await?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| Error::protocol(format!("token response from {realm}: {e}")))?;
        parsed
            .into_parts()
            .ok_or_else(|| Error::protocol(format!("token response from {realm} has no token")))
    }

    /// The host (and port) of the endpoint, for messages.
    pub(crate) fn host(&self) -> String {
        let b = &self.inner.base;
        match (b.host_str(), b.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => b.to_string(),
        }
    }

    /// The error an unsuccessful response stands for.
    pub(crate) async fn error(&self, resp: Response, what: &str) -> Error {
        response::error_from(resp, what, &self.host(), self.inner.credential.as_ref()).await
    }

    /// A request with the whole-request timeout (everything but blob bodies).
    pub(crate) fn req(&self, method: Method, url: Url, scopes: ScopeSet, what: String) -> Req {
        let mut r = Req::new(method, url, scopes, what);
        r.timeout = Some(self.inner.options.request_timeout);
        r
    }
}
