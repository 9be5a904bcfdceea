//! Blob uploads: a session (`POST`), then either one streamed `PUT ?digest=` with the
//! whole body, or `PATCH` chunks (each repeatable, one chunk in memory) and a closing
//! `PUT`. `Location` URLs may be relative or absolute and keep their query strings.

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use harbor_core::{Digest, RepositoryName};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use super::{Body, Client};
use crate::error::{Error, Result};
use crate::ratelimit::throttle;
use crate::stream::ByteStream;

impl Client {
    /// Uploads a blob of `size` bytes from `body`, streamed without holding it in memory;
    /// in chunks of `chunk_size` when [`crate::ClientOptions::chunk_size`] is set and the
    /// blob is larger. The registry checks the digest. `body` can be sent once, so a
    /// failure mid-body is returned, not retried: retry with a fresh stream.
    pub async fn push_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
    ) -> Result<()> {
        match self.options().chunk_size {
            Some(chunk) if chunk > 0 && size > chunk => {
                self.push_blob_chunked(repo, digest, size, body, chunk)
                    .await
            }
            _ => self.push_blob_monolithic(repo, digest, size, body).await,
        }
    }

    /// `POST` a session, then one `PUT ?digest=` carrying the stream.
    pub async fn push_blob_monolithic(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
    ) -> Result<()> {
        let session = self.start_upload(repo).await?;
        let what = format!("upload {repo}@{digest}");
        let (body, failure) = self.body_of(body);
        let mut url = session.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let mut req = super::Req::new(Method::PUT, url, Self::push_scope(repo), what.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, &size.to_string());
        req.body = Body::Once(Some(body));
        let result = self.send(req).await;
        self.finish(repo, session, result, &failure, &what)
            .await
            .map(|_| ())
    }

    /// `POST` a session, `PATCH` `chunk_size` pieces (each following the previous
    /// answer's `Location`), then `PUT ?digest=` with no body.
    pub async fn push_blob_chunked(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
        chunk_size: u64,
    ) -> Result<()> {
        let chunk_size = usize::try_from(chunk_size.max(1))
            .map_err(|_| Error::InvalidInput("chunk size too large".into()))?;
        let what = format!("chunked upload {repo}@{digest}");
        let mut session = self.start_upload(repo).await?;
        let mut body: ByteStream = match &self.options().rate_limiter {
            Some(l) => Box::pin(throttle(body, l.clone())),
            None => body,
        };
        let mut offset: u64 = 0;
        let mut pending = BytesMut::new();
        let mut ended = false;
        while !ended || !pending.is_empty() {
            while !ended && pending.len() < chunk_size {
                match body.next().await {
                    Some(Ok(b)) => pending.extend_from_slice(&b),
                    Some(Err(e)) => {
                        self.cancel_upload(repo, session).await;
                        return Err(e);
                    }
                    None => ended = true,
                }
            }
            if pending.is_empty() {
                break;
            }
            let take = pending.len().min(chunk_size);
            let chunk: Bytes = pending.split_to(take).freeze();
            let end = offset + chunk.len() as u64 - 1;
            let mut req = self
                .req(
                    Method::PATCH,
                    session.clone(),
                    Self::push_scope(repo),
                    what.clone(),
                )
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_RANGE, &format!("{offset}-{end}"))
                .header(CONTENT_LENGTH, &chunk.len().to_string());
            // A chunk is at most chunk_size bytes: allow it time at a slow link's pace.
            req.timeout = None;
            req.body = Body::Bytes(chunk);
            let result = self.send(req).await;
            let none = Arc::new(Mutex::new(None));
            let resp = self
                .finish(repo, session.clone(), result, &none, &what)
                .await?;
            session = location(&resp, &what)?;
            offset = end + 1;
        }
        if offset != size {
            self.cancel_upload(repo, session).await;
            return Err(Error::SizeMismatch {
                digest: digest.clone(),
                expected: size,
                actual: offset,
            });
        }
        let mut url = session.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let req = self
            .req(Method::PUT, url, Self::push_scope(repo), what.clone())
            .header(CONTENT_LENGTH, "0");
        let result = self.send(req).await;
        let none = Arc::new(Mutex::new(None));
        self.finish(repo, session, result, &none, &what)
            .await
            .map(|_| ())
    }

    /// `POST /v2/<repo>/blobs/uploads/`: the session URL.
    async fn start_upload(&self, repo: &RepositoryName) -> Result<Url> {
        let url = self.repo_url(repo, "blobs/uploads/")?;
        let what = format!("start upload to {repo}");
        let req = self
            .req(Method::POST, url, Self::push_scope(repo), what.clone())
            .header(CONTENT_LENGTH, "0");
        let resp = self.send(req).await?;
        if resp.status() != StatusCode::ACCEPTED {
            if resp.status().is_success() {
                return Err(Error::protocol(format!(
                    "{what}: expected 202, got {}",
                    resp.status()
                )));
            }
            return Err(self.error(resp, &what).await);
        }
        location(&resp, &what)
    }

    /// Best-effort `DELETE` of an upload session.
    pub(crate) async fn cancel_upload(&self, repo: &RepositoryName, session: Url) {
        let what = format!("cancel upload to {repo}");
        let req = self.req(Method::DELETE, session, Self::push_scope(repo), what);
        if let Err(e) = self.send(req).await {
            tracing::debug!(error = %e, "cancelling an upload session failed");
        }
    }

    /// The request body for a stream (rate-limited when configured), and the slot where
    /// the stream's own error is kept: it explains a failed request better than the
    /// connection error it causes.
    fn body_of(&self, body: ByteStream) -> (reqwest::Body, Arc<Mutex<Option<Error>>>) {
        let failure = Arc::new(Mutex::new(None));
        let slot = failure.clone();
        let body: ByteStream = match &self.options().rate_limiter {
            Some(l) => Box::pin(throttle(body, l.clone())),
            None => body,
        };
        let body = body.map(move |item| {
            item.inspect_err(|e| {
                if let Ok(mut s) = slot.lock() {
                    s.get_or_insert_with(|| e.clone());
                }
            })
        });
        (reqwest::Body::wrap_stream(body), failure)
    }

    /// Checks an upload step's answer: a success, else the body stream's error,
    /// the response's error or the send error, after cancelling the session.
    async fn finish(
        &self,
        repo: &RepositoryName,
        session: Url,
        result: Result<Response>,
        failure: &Arc<Mutex<Option<Error>>>,
        what: &str,
    ) -> Result<Response> {
        let stream_error = failure.lock().ok().and_then(|mut s| s.take());
        let err = match result {
            Ok(resp) if resp.status().is_success() => return Ok(resp),
            Ok(resp) => match stream_error {
                Some(e) => e,
                None => self.error(resp, what).await,
            },
            Err(e) => stream_error.unwrap_or(e),
        };
        self.cancel_upload(repo, session).await;
        Err(err)
    }
}

/// The response's `Location`, resolved against the request URL.
fn location(resp: &Response, what: &str) -> Result<Url> {
    let loc = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::protocol(format!("{what}: no Location header")))?;
    resp.url()
        .join(loc)
        .map_err(|e| Error::protocol(format!("{what}: bad Location {loc:?}: {e}")))
}
