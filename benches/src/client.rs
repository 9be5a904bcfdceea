//! The registry operations workloads are made of.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::AUTHORIZATION;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};

pub use crate::auth::Scope;
use crate::auth::{Auth, Cached};
use crate::content::{Blob, Image, OCI_MANIFEST};

/// Why an operation failed.
#[derive(Debug)]
pub struct OpError(pub String);

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<reqwest::Error> for OpError {
    fn from(e: reqwest::Error) -> Self {
        OpError(e.to_string())
    }
}

type OpResult<T = ()> = Result<T, OpError>;

/// A registry at a base URL, with optional credentials that are sent only when the
/// registry asks for them (see [`crate::auth`]).
#[derive(Clone)]
pub struct Registry {
    http: Client,
    base: String,
    auth: Arc<Auth>,
}

fn expect(what: &str, got: StatusCode, want: StatusCode) -> OpResult {
    if got == want {
        Ok(())
    } else if got == StatusCode::UNAUTHORIZED || got == StatusCode::FORBIDDEN {
        Err(OpError(format!(
            "{what}: HTTP {got}, expected {want} (credentials missing, rejected or without \
             the permission: --user/--password)"
        )))
    } else {
        Err(OpError(format!("{what}: HTTP {got}, expected {want}")))
    }
}

impl Registry {
    /// A client for `base` (e.g. `http://127.0.0.1:5000`) keeping up to `connections`
    /// connections open; `auth` is (user, password).
    pub fn new(base: &str, auth: Option<(String, String)>, connections: usize) -> Self {
        let http = Client::builder()
            .pool_max_idle_per_host(connections)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Registry {
            http,
            base: base.trim_end_matches('/').to_owned(),
            auth: Arc::new(Auth::new(auth)),
        }
    }

    fn req(&self, method: Method, url: &str) -> RequestBuilder {
        let url = if url.starts_with("http://") || url.starts_with("https://") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        self.http.request(method, url)
    }

    /// Sends the request `build` makes with the cached credentials for `scope`; a `401`
    /// is answered (token fetch or Basic credentials) and the request rebuilt and retried
    /// once. Bodies are `Bytes`, so rebuilding costs no copy.
    async fn send<F>(&self, scope: Scope<'_>, build: F) -> OpResult<Response>
    where
        F: Fn() -> RequestBuilder,
    {
        let sent = match self.auth.cached(scope) {
            Cached::Fresh(h) => Some(h),
            Cached::Stale => self
                .auth
                .refresh(&self.http, scope)
                .await
                .map_err(OpError)?,
            Cached::Missing => None,
        };
        let mut rb = build();
        if let Some(h) = &sent {
            rb = rb.header(AUTHORIZATION, h.clone());
        }
        let r = rb.send().await?;
        if r.status() != StatusCode::UNAUTHORIZED {
            return Ok(r);
        }
        let headers = r.headers().clone();
        let Some(h) = self
            .auth
            .answer(&self.http, scope, &headers, sent.as_ref())
            .await
            .map_err(OpError)?
        else {
            return Ok(r);
        };
        self.auth.count_retry();
        // Read the small error body so that the connection can be reused.
        let _ = r.bytes().await;
        Ok(build().header(AUTHORIZATION, h).send().await?)
    }

    /// Requests that authentication added so far (`401`s answered and token fetches);
    /// compare before and after a timed phase.
    pub fn auth_round_trips(&self) -> u64 {
        self.auth.round_trips()
    }

    /// The token service the registry sent us to, if it asked for authentication.
    pub fn token_realm(&self) -> Option<String> {
        self.auth.realm()
    }

    /// `GET /v2/`: the registry answers, and accepts the credentials if any were given.
    /// A registry that wants credentials when none were given is fine: anonymous pulls
    /// of public repositories may still work.
    pub async fn ping(&self) -> OpResult {
        let r = self
            .send(Scope::Base, || self.req(Method::GET, "/v2/"))
            .await?;
        let status = r.status();
        if status == StatusCode::UNAUTHORIZED && !self.auth.has_credentials() {
            return Ok(());
        }
        if status == StatusCode::UNAUTHORIZED {
            return Err(OpError(
                "GET /v2/: HTTP 401 with credentials: check --user/--password".into(),
            ));
        }
        expect("GET /v2/", status, StatusCode::OK)
    }

    /// Gets what `scope` needs (a token, when the registry asks for one) before the
    /// timed phase, so that it is not timed and no streamed body meets a `401`: fetches
    /// a token directly when the token service is known, else probes with a `GET` and
    /// answers the challenge. Nothing happens for registries without authentication.
    pub async fn prepare(&self, scope: Scope<'_>) -> OpResult {
        if let Cached::Fresh(_) = self.auth.cached(scope) {
            return Ok(());
        }
        if matches!(scope, Scope::Repository(_))
            && self
                .auth
                .refresh(&self.http, scope)
                .await
                .map_err(OpError)?
                .is_some()
        {
            return Ok(());
        }
        let url = match scope {
            Scope::Base => "/v2/".to_owned(),
            Scope::Catalog => "/v2/_catalog?n=1".to_owned(),
            Scope::Repository(r) => format!("/v2/{r}/tags/list?n=1"),
        };
        let r = self.send(scope, || self.req(Method::GET, &url)).await?;
        if r.status() == StatusCode::UNAUTHORIZED {
            let hint = if self.auth.has_credentials() {
                "the credentials are not enough"
            } else {
                "give --user/--password"
            };
            return Err(OpError(format!("GET {url}: HTTP 401: {hint}")));
        }
        Ok(())
    }

    /// Starts an upload session; returns its location.
    async fn start_upload(&self, repo: &str) -> OpResult<String> {
        let url = format!("/v2/{repo}/blobs/uploads/");
        let r = self
            .send(Scope::Repository(repo), || self.req(Method::POST, &url))
            .await?;
        expect("upload start", r.status(), StatusCode::ACCEPTED)?;
        location(&r)
    }

    /// Finishes an upload with `PUT <location>?digest=`, sending `body` (may be empty).
    async fn finish_upload(
        &self,
        repo: &str,
        location: &str,
        digest: &str,
        body: Bytes,
    ) -> OpResult {
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={digest}");
        let r = self
            .send(Scope::Repository(repo), || {
                self.req(Method::PUT, &url)
                    .header("content-type", "application/octet-stream")
                    .body(body.clone())
            })
            .await?;
        expect("upload completion", r.status(), StatusCode::CREATED)
    }

    /// Pushes a blob "monolithically" as clients such as oras do and every registry
    /// supports: `POST` a session, then `PUT` the whole blob with its digest.
    pub async fn push_blob(&self, repo: &str, blob: &Blob) -> OpResult {
        let location = self.start_upload(repo).await?;
        self.finish_upload(repo, &location, &blob.digest, blob.data.clone())
            .await
    }

    /// Pushes a blob as POST, PATCH chunks with `Content-Range`, PUT.
    pub async fn push_blob_chunked(&self, repo: &str, blob: &Blob, chunk: usize) -> OpResult {
        let mut location = self.start_upload(repo).await?;
        let len = blob.data.len();
        let mut start = 0;
        while start < len {
            let end = (start + chunk.max(1)).min(len);
            let r = self
                .send(Scope::Repository(repo), || {
                    self.req(Method::PATCH, &location)
                        .header("content-type", "application/octet-stream")
                        .header("content-range", format!("{start}-{}", end - 1))
                        .body(blob.data.slice(start..end))
                })
                .await?;
            expect("upload chunk", r.status(), StatusCode::ACCEPTED)?;
            location = location_or(&r, location)?;
            start = end;
        }
        self.finish_upload(repo, &location, &blob.digest, Bytes::new())
            .await
    }

    /// Pushes a manifest under `reference`.
    pub async fn push_manifest(&self, repo: &str, reference: &str, m: &Blob) -> OpResult {
        let url = format!("/v2/{repo}/manifests/{reference}");
        let r = self
            .send(Scope::Repository(repo), || {
                self.req(Method::PUT, &url)
                    .header("content-type", OCI_MANIFEST)
                    .body(m.data.clone())
            })
            .await?;
        expect("manifest push", r.status(), StatusCode::CREATED)
    }

    /// Pushes a whole image (layer, config, manifest); `chunk` selects chunked layer uploads.
    pub async fn push_image(
        &self,
        repo: &str,
        tag: &str,
        img: &Image,
        chunk: Option<usize>,
    ) -> OpResult {
        match chunk {
            Some(c) => self.push_blob_chunked(repo, &img.layer, c).await?,
            None => self.push_blob(repo, &img.layer).await?,
        }
        self.push_blob(repo, &img.config).await?;
        self.push_manifest(repo, tag, &img.manifest).await
    }

    /// Fetches a manifest; returns its bytes.
    pub async fn get_manifest(&self, repo: &str, reference: &str) -> OpResult<Bytes> {
        let url = format!("/v2/{repo}/manifests/{reference}");
        let r = self
            .send(Scope::Repository(repo), || {
                self.req(Method::GET, &url).header("accept", OCI_MANIFEST)
            })
            .await?;
        expect("manifest GET", r.status(), StatusCode::OK)?;
        Ok(r.bytes().await?)
    }

    /// `HEAD` of a manifest.
    pub async fn head_manifest(&self, repo: &str, reference: &str) -> OpResult {
        let url = format!("/v2/{repo}/manifests/{reference}");
        let r = self
            .send(Scope::Repository(repo), || {
                self.req(Method::HEAD, &url).header("accept", OCI_MANIFEST)
            })
            .await?;
        expect("manifest HEAD", r.status(), StatusCode::OK)
    }

    /// Streams a blob and discards it; returns the bytes received.
    pub async fn get_blob(&self, repo: &str, digest: &str) -> OpResult<u64> {
        let url = format!("/v2/{repo}/blobs/{digest}");
        let mut r = self
            .send(Scope::Repository(repo), || self.req(Method::GET, &url))
            .await?;
        expect("blob GET", r.status(), StatusCode::OK)?;
        let mut n = 0u64;
        while let Some(chunk) = r.chunk().await? {
            n += chunk.len() as u64;
        }
        Ok(n)
    }

    /// Pulls a whole image by tag: manifest, config, layer. Returns bytes received.
    pub async fn pull_image(&self, repo: &str, tag: &str) -> OpResult<u64> {
        let m = self.get_manifest(repo, tag).await?;
        let v: serde_json::Value =
            serde_json::from_slice(&m).map_err(|e| OpError(format!("manifest JSON: {e}")))?;
        let mut total = m.len() as u64;
        let digests = std::iter::once(&v["config"])
            .chain(v["layers"].as_array().into_iter().flatten())
            .filter_map(|d| d["digest"].as_str());
        for d in digests {
            total += self.get_blob(repo, d).await?;
        }
        Ok(total)
    }

    /// `GET /v2/<repo>/tags/list`.
    pub async fn tags(&self, repo: &str) -> OpResult<u64> {
        let url = format!("/v2/{repo}/tags/list?n=1000");
        let r = self
            .send(Scope::Repository(repo), || self.req(Method::GET, &url))
            .await?;
        expect("tag list", r.status(), StatusCode::OK)?;
        Ok(r.bytes().await?.len() as u64)
    }

    /// `GET /v2/_catalog`.
    pub async fn catalog(&self) -> OpResult<u64> {
        let r = self
            .send(Scope::Catalog, || {
                self.req(Method::GET, "/v2/_catalog?n=100")
            })
            .await?;
        expect("catalog", r.status(), StatusCode::OK)?;
        Ok(r.bytes().await?.len() as u64)
    }
}

fn location(r: &reqwest::Response) -> OpResult<String> {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| OpError("no Location header".into()))
}

fn location_or(r: &reqwest::Response, fallback: String) -> OpResult<String> {
    Ok(location(r).unwrap_or(fallback))
}
