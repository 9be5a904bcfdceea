//! Blobs: HEAD, streamed and verified GET (redirects to storage followed, without the
//! registry's credentials), and cross-repository mounts.

use futures::{StreamExt, TryStreamExt};
use harbor_core::{Digest, RepositoryName};
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};

use super::Client;
use crate::auth::repository_scope;
use crate::error::{Error, Result, from_reqwest};
use crate::ratelimit::throttle;
use crate::stream::{BlobStream, ByteStream, verify, verify_size};

impl Client {
    /// `HEAD` a blob: its size, or `None` if the repository does not have it.
    pub async fn blob_exists(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>> {
        let url = self.repo_url(repo, &format!("blobs/{digest}"))?;
        let what = format!("HEAD blob {repo}@{digest}");
        let resp = self
            .send(self.req(Method::HEAD, url, Self::pull_scope(repo), what.clone()))
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(
                super::response::content_length(&resp)
                    .ok_or_else(|| Error::protocol(format!("{what}: no Content-Length")))?,
            )),
            _ => Err(self.error(resp, &what).await),
        }
    }

    /// `GET` a blob as a stream that checks its size and digest as it goes (the last
    /// chunk is replaced by an error when they are wrong). Redirects to storage URLs are
    /// followed under the address policy; credentials are not sent to another host.
    pub async fn get_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<BlobStream> {
        self.fetch_blob(repo, digest, true).await
    }

    /// [`Client::get_blob`] checking the size only, for a caller that verifies the digest
    /// itself and must not hash the bytes twice (the proxy cache stores them through a
    /// verifying upload, and holds the last chunk back from its client until then).
    pub async fn get_blob_unhashed(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<BlobStream> {
        self.fetch_blob(repo, digest, false).await
    }

    async fn fetch_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        hash: bool,
    ) -> Result<BlobStream> {
        let url = self.repo_url(repo, &format!("blobs/{digest}"))?;
        let what = format!("blob {repo}@{digest}");
        let req = super::Req::new(Method::GET, url, Self::pull_scope(repo), what.clone());
        let resp = self.send(req).await?;
        if !resp.status().is_success() {
            return Err(self.error(resp, &what).await);
        }
        let size = super::response::content_length(&resp)
            .ok_or_else(|| Error::protocol(format!("{what}: no Content-Length")))?;
        let body = resp.bytes_stream().map_err(move |e| from_reqwest(e, &what));
        let check: fn(ByteStream, Digest, u64) -> ByteStream =
            if hash { verify } else { verify_size };
        let stream = match &self.options().rate_limiter {
            Some(l) => check(throttle(body, l.clone()).boxed(), digest.clone(), size),
            None => check(body.boxed(), digest.clone(), size),
        };
        Ok(BlobStream { size, stream })
    }

    /// Mounts a blob from `from` into `repo` (`POST ...?mount=&from=`). `true` when the
    /// registry mounted it (201); `false` when it started an upload instead (202), which
    /// is cancelled.
    pub async fn mount_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        from: &RepositoryName,
    ) -> Result<bool> {
        let mut url = self.repo_url(repo, "blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from.as_str());
        let what = format!("mount {digest} from {from} into {repo}");
        let mut scopes = Self::push_scope(repo);
        scopes.insert(repository_scope(from.as_str(), "pull"));
        let resp = self
            .send(self.req(Method::POST, url, scopes, what.clone()))
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                if let Some(loc) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok())
                    && let Ok(session) = resp.url().join(loc)
                {
                    self.cancel_upload(repo, session).await;
                }
                Ok(false)
            }
            _ => Err(self.error(resp, &what).await),
        }
    }
}
