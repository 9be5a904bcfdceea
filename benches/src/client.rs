//! The registry operations workloads are made of.

use bytes::Bytes;
use reqwest::{Client, RequestBuilder, StatusCode};

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

/// A registry at a base URL, with optional Basic credentials.
#[derive(Clone)]
pub struct Registry {
    http: Client,
    base: String,
    auth: Option<(String, String)>,
}

fn expect(what: &str, got: StatusCode, want: StatusCode) -> OpResult {
    if got == want {
        Ok(())
    } else {
        Err(OpError(format!("{what}: HTTP {got}, expected {want}")))
    }
}

impl Registry {
    /// A client for `base` (e.g. `http://127.0.0.1:5000`) keeping up to `connections`
    /// connections open.
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
            auth,
        }
    }

    fn req(&self, method: reqwest::Method, url: &str) -> RequestBuilder {
        let url = if url.starts_with("http://") || url.starts_with("https://") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let r = self.http.request(method, url);
        match &self.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    /// `GET /v2/`.
    pub async fn ping(&self) -> OpResult {
        let r = self.req(reqwest::Method::GET, "/v2/").send().await?;
        expect("GET /v2/", r.status(), StatusCode::OK)
    }

    /// Starts an upload session; returns its location.
    async fn start_upload(&self, repo: &str) -> OpResult<String> {
        let r = self
            .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .await?;
        expect("upload start", r.status(), StatusCode::ACCEPTED)?;
        location(&r)
    }

    /// Finishes an upload with `PUT <location>?digest=`, sending `body` (may be empty).
    async fn finish_upload(&self, location: &str, digest: &str, body: Bytes) -> OpResult {
        let sep = if location.contains('?') { '&' } else { '?' };
        let r = self
            .req(
                reqwest::Method::PUT,
                &format!("{location}{sep}digest={digest}"),
            )
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await?;
        expect("upload completion", r.status(), StatusCode::CREATED)
    }

    /// Pushes a blob "monolithically" as clients such as oras do and every registry
    /// supports: `POST` a session, then `PUT` the whole blob with its digest.
    pub async fn push_blob(&self, repo: &str, blob: &Blob) -> OpResult {
        let location = self.start_upload(repo).await?;
        self.finish_upload(&location, &blob.digest, blob.data.clone())
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
                .req(reqwest::Method::PATCH, &location)
                .header("content-type", "application/octet-stream")
                .header("content-range", format!("{start}-{}", end - 1))
                .body(blob.data.slice(start..end))
                .send()
                .await?;
            expect("upload chunk", r.status(), StatusCode::ACCEPTED)?;
            location = location_or(&r, location)?;
            start = end;
        }
        self.finish_upload(&location, &blob.digest, Bytes::new())
            .await
    }

    /// Pushes a manifest under `reference`.
    pub async fn push_manifest(&self, repo: &str, reference: &str, m: &Blob) -> OpResult {
        let r = self
            .req(
                reqwest::Method::PUT,
                &format!("/v2/{repo}/manifests/{reference}"),
            )
            .header("content-type", OCI_MANIFEST)
            .body(m.data.clone())
            .send()
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
        let r = self
            .req(
                reqwest::Method::GET,
                &format!("/v2/{repo}/manifests/{reference}"),
            )
            .header("accept", OCI_MANIFEST)
            .send()
            .await?;
        expect("manifest GET", r.status(), StatusCode::OK)?;
        Ok(r.bytes().await?)
    }

    /// `HEAD` of a manifest.
    pub async fn head_manifest(&self, repo: &str, reference: &str) -> OpResult {
        let r = self
            .req(
                reqwest::Method::HEAD,
                &format!("/v2/{repo}/manifests/{reference}"),
            )
            .header("accept", OCI_MANIFEST)
            .send()
            .await?;
        expect("manifest HEAD", r.status(), StatusCode::OK)
    }

    /// Streams a blob and discards it; returns the bytes received.
    pub async fn get_blob(&self, repo: &str, digest: &str) -> OpResult<u64> {
        let mut r = self
            .req(reqwest::Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
            .send()
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
        let r = self
            .req(
                reqwest::Method::GET,
                &format!("/v2/{repo}/tags/list?n=1000"),
            )
            .send()
            .await?;
        expect("tag list", r.status(), StatusCode::OK)?;
        Ok(r.bytes().await?.len() as u64)
    }

    /// `GET /v2/_catalog`.
    pub async fn catalog(&self) -> OpResult<u64> {
        let r = self
            .req(reqwest::Method::GET, "/v2/_catalog?n=100")
            .send()
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
