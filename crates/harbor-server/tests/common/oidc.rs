//! A real OpenID Connect provider for the tests: node-oidc-provider (`tests/oidc/provider.mjs`)
//! run with `node` on a free loopback port, and a small cookie-keeping driver that walks
//! a sign-in through Harbor and the provider without a browser.
//!
//! `HARBOR_TEST_OIDC_PROVIDER` names the npm prefix holding `node_modules/oidc-provider`
//! (`npm install --prefix <dir> oidc-provider`); `HARBOR_TEST_NODE` the `node` binary
//! (default `node`). Unset, the tests are skipped with a printed reason, except under
//! `CI=true`, where they fail.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::TestServer;

pub const CLIENT_ID: &str = "harbor-test";
pub const CLIENT_SECRET: &str = "harbor-test-secret";

/// How the provider is started.
#[derive(Clone)]
pub struct ProviderOptions {
    /// Accounts: id → claims (`name`, `email`, `groups`).
    pub accounts: Value,
    /// The ID-token algorithm: `RS256` or `ES256`.
    pub alg: &'static str,
    /// Access-token lifetime in seconds.
    pub access_ttl: u64,
    /// Serve HTTPS with this certificate and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        ProviderOptions {
            accounts: json!({
                "alice": {"name": "Alice Smith", "email": "alice@example.com", "groups": ["dev-team", "harbor-admins", "ops"]},
                "carol": {"name": "carol", "email": "carol@example.com", "groups": ["ops"]},
            }),
            alg: "RS256",
            access_ttl: 3600,
            tls: None,
        }
    }
}

/// A running provider. Killed when dropped.
pub struct OidcProvider {
    pub issuer: String,
    port: u16,
    prefix: String,
    redirect_uri: String,
    options: ProviderOptions,
    keys: tempfile::TempDir,
    child: Option<tokio::process::Child>,
}

/// The npm prefix holding oidc-provider, or `None` (skipped; a failure under `CI=true`).
pub fn provider_prefix() -> Option<String> {
    harbor_storage::testing::service(
        "HARBOR_TEST_OIDC_PROVIDER",
        "an OIDC provider (npm oidc-provider)",
    )
}

fn script() -> PathBuf {
    // Also from the CLI's tests, which include this file.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../harbor-server/tests/oidc/provider.mjs")
}

impl OidcProvider {
    /// A provider for `harbor`'s callback, or `None` when not configured.
    pub async fn start(harbor: &TestServer, options: ProviderOptions) -> Option<Self> {
        let prefix = provider_prefix()?;
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let mut p = OidcProvider {
            issuer: String::new(),
            port: 0,
            prefix,
            redirect_uri: format!("{}/c/oidc/callback", harbor.base),
            options,
            keys: tempfile::tempdir().unwrap(),
            child: None,
        };
        // A port picked free may be taken by another test before node binds it: then the
        // provider never says it listens, and another port is tried.
        for _ in 0..3 {
            p.port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            p.issuer = format!("{scheme}://127.0.0.1:{}", p.port);
            if p.spawn().await {
                return Some(p);
            }
        }
        panic!("the OIDC provider did not start (see its output above)");
    }

    /// Starts node on `self.port`; whether it said it listens within 20 s (if not, it is
    /// stopped).
    async fn spawn(&mut self) -> bool {
        let node = std::env::var("HARBOR_TEST_NODE").unwrap_or_else(|_| "node".into());
        let mut cmd = tokio::process::Command::new(node);
        if let Some((cert, key)) = &self.options.tls {
            cmd.env("OIDC_TLS_CERT", cert).env("OIDC_TLS_KEY", key);
        }
        let mut child = cmd
            .arg(script())
            .env("OIDC_PROVIDER_PREFIX", &self.prefix)
            .env("OIDC_PORT", self.port.to_string())
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URIS", &self.redirect_uri)
            .env("OIDC_ACCOUNTS", self.options.accounts.to_string())
            .env("OIDC_KEYS_FILE", self.keys.path().join("keys.json"))
            .env("OIDC_ID_TOKEN_ALG", self.options.alg)
            .env("OIDC_ACCESS_TTL", self.options.access_ttl.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start node with tests/oidc/provider.mjs");
        // Its log, without the warnings every start prints (in-memory adapter, runtime).
        let mut errors = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = errors.next_line().await {
                if !line.starts_with("oidc-provider WARNING") {
                    eprintln!("oidc-provider: {line}");
                }
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("listening") {
                    return true;
                }
            }
            false
        })
        .await;
        if !matches!(ready, Ok(true)) {
            eprintln!("oidc-provider: not listening on {} yet, stopped", self.port);
            let _ = child.kill().await;
            return false;
        }
        // Keep reading its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        true
    }

    /// Stops the provider.
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
            let _ = c.wait().await;
        }
    }

    /// Restarts the provider (it forgets every grant: refresh tokens issued before are
    /// refused), with new signing keys when `rotate`.
    pub async fn restart(&mut self, rotate: bool) {
        self.stop().await;
        if rotate {
            let _ = std::fs::remove_file(self.keys.path().join("keys.json"));
        }
        // The same port (the issuer stays); it may take a moment to be free again.
        for _ in 0..3 {
            if self.spawn().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("the OIDC provider did not restart (see its output above)");
    }

    /// The key ids the provider publishes.
    pub async fn key_ids(&self) -> Vec<String> {
        let jwks: Value = reqwest::get(format!("{}/jwks", self.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Harbor's OIDC settings for this provider, with `extra` on top.
    pub fn settings(&self, extra: Value) -> Value {
        let mut s = json!({
            "auth_mode": "oidc_auth",
            "oidc_name": "Test provider",
            "oidc_endpoint": self.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_scope": "openid,profile,email,groups,offline_access",
            "oidc_groups_claim": "groups",
            "oidc_verify_cert": true,
        });
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        s
    }
}

/// Cookies per `host:port`, kept the simple way (names and values; a cleared cookie is
/// removed).
#[derive(Default, Clone, Debug)]
pub struct Jar(HashMap<String, Vec<(String, String)>>);

fn authority(url: &reqwest::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

impl Jar {
    pub fn header(&self, url: &reqwest::Url) -> Option<String> {
        let cookies = self.0.get(&authority(url))?;
        (!cookies.is_empty()).then(|| {
            cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub fn get(&self, url: &str, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(url).unwrap();
        self.0
            .get(&authority(&url))?
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    pub fn set(&mut self, url: &str, name: &str, value: &str) {
        let url = reqwest::Url::parse(url).unwrap();
        let list = self.0.entry(authority(&url)).or_default();
        list.retain(|(k, _)| k != name);
        list.push((name.to_owned(), value.to_owned()));
    }

    fn store(&mut self, url: &reqwest::Url, headers: &reqwest::header::HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let first = v.split(';').next().unwrap_or("");
            let Some((name, value)) = first.split_once('=') else {
                continue;
            };
            let gone = value.is_empty()
                || v.contains("Max-Age=0")
                || v.contains("expires=Thu, 01 Jan 1970");
            let list = self.0.entry(authority(url)).or_default();
            list.retain(|(k, _)| k != name.trim());
            if !gone {
                list.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
    }
}

/// A client that follows no redirects (the driver does, keeping cookies).
pub fn raw_client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // The HTTPS provider of the certificate test has a self-signed certificate.
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// Where a walk through redirects ended.
#[derive(Debug)]
pub struct Landing {
    pub status: StatusCode,
    /// The last URL requested.
    pub url: String,
    /// The body of the last answer.
    pub body: String,
}

/// Follows redirects from `url` with `jar`'s cookies until an answer that is not a
/// redirect, or a redirect to Harbor outside `/c/oidc/` (which is where the walk ends:
/// the portal page the user lands on), whose URL is then `url`. `login_hint` is added
/// to the provider's authorization request (the test provider signs that account in at
/// once).
pub async fn walk(
    jar: &mut Jar,
    harbor: &TestServer,
    url: &str,
    login_hint: Option<&str>,
) -> Landing {
    let c = raw_client();
    let mut url = reqwest::Url::parse(url).unwrap();
    for _ in 0..20 {
        let mut req = c.get(url.clone());
        if let Some(h) = jar.header(&url) {
            req = req.header(COOKIE, h);
        }
        let resp = req.send().await.unwrap();
        jar.store(&url, resp.headers());
        let status = resp.status();
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(loc) if status.is_redirection() => {
                let mut next = url.join(&loc).unwrap();
                if let Some(hint) = login_hint
                    && next.path() == "/auth"
                    && !next.as_str().starts_with(&harbor.base)
                    && !next.query().unwrap_or("").contains("login_hint")
                {
                    next.query_pairs_mut().append_pair("login_hint", hint);
                }
                if next.as_str().starts_with(&harbor.base) && !next.path().starts_with("/c/oidc/") {
                    return Landing {
                        status,
                        url: next.to_string(),
                        body: String::new(),
                    };
                }
                url = next;
            }
            _ => {
                return Landing {
                    status,
                    url: url.to_string(),
                    body: resp.text().await.unwrap_or_default(),
                };
            }
        }
    }
    panic!("too many redirects");
}

/// Signs `account` in to Harbor through the provider; the jar then holds Harbor's
/// session cookie. Where the walk ended.
pub async fn sign_in(jar: &mut Jar, harbor: &TestServer, account: &str) -> Landing {
    walk(
        jar,
        harbor,
        &harbor.url("/c/oidc/login?redirect_url=/projects"),
        Some(account),
    )
    .await
}

/// `GET path` on Harbor with the jar's cookies.
pub async fn get_with_jar(jar: &Jar, harbor: &TestServer, path: &str) -> reqwest::Response {
    let url = reqwest::Url::parse(&harbor.url(path)).unwrap();
    let mut req = raw_client().get(url.clone());
    if let Some(h) = jar.header(&url) {
        req = req.header(COOKIE, h);
    }
    req.send().await.unwrap()
}

/// Configures `harbor` for `provider` as the administrator.
pub async fn configure(harbor: &TestServer, provider: &OidcProvider, extra: Value) {
    let resp = super::client()
        .put(harbor.url("/api/v2.0/configurations"))
        .json(&provider.settings(extra))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
}
