//! [`HttpClient`]: plain HTTP requests to services that are not OCI registries (scanner
//! adapters), under the same outbound rules as [`crate::Client`]: the address policy on
//! resolved addresses, IP-literal hosts and redirects, no proxy, the configured time-outs,
//! and bodies read up to a limit.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
pub use reqwest::Method;
use url::Url;

use crate::client::ClientOptions;
use crate::client::response::read_limited;
use crate::error::{Error, Result, from_reqwest};
use crate::policy::AddressPolicy;

/// An answer: its status, content type and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// A request to send with [`HttpClient::send`].
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// An absolute `http` or `https` URL.
    pub url: &'a str,
    /// Headers to send (invalid names or values fail the request).
    pub headers: Vec<(&'a str, String)>,
    /// The body, if any.
    pub body: Option<Bytes>,
    /// The whole exchange, body included, must end within this time.
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_body: u64,
}

impl<'a> Request<'a> {
    /// A `GET` of `url` within 30 s, reading at most 1 MiB.
    pub fn get(url: &'a str) -> Self {
        Request {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(30),
            max_body: 1 << 20,
        }
    }
}

/// An HTTP client honouring the server's outbound rules. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpClient {
    http: reqwest::Client,
    policy: Arc<AddressPolicy>,
}

impl HttpClient {
    /// A client with `options` (address policy, connect time-out, user agent); TLS
    /// certificates are not verified when `insecure`.
    pub fn new(options: &ClientOptions, insecure: bool) -> Result<Self> {
        let policy = Arc::new(options.address_policy.clone());
        let http = crate::client::guarded(reqwest::Client::builder(), options, &policy, insecure)
            .build()
            .map_err(|e| Error::InvalidInput(format!("HTTP client: {e}")))?;
        Ok(HttpClient { http, policy })
    }

    /// Sends `req` and reads the answer, whatever its status. Fails with
    /// [`Error::AddressRefused`] when the policy refuses the host (before connecting),
    /// [`Error::Timeout`] when the exchange takes longer than `req.timeout`, and
    /// [`Error::Network`] when the connection fails.
    pub async fn send(&self, req: Request<'_>) -> Result<Answer> {
        let url = Url::parse(req.url)
            .map_err(|e| Error::InvalidInput(format!("URL {:?}: {e}", req.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::InvalidInput(format!(
                "URL {:?}: use http:// or https://",
                req.url
            )));
        }
        self.policy.check_url(&url)?;
        let what = format!("{} {}", req.method, url);
        let mut builder = self.http.request(req.method, url).timeout(req.timeout);
        for (name, value) in req.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        let exchange = async {
            let resp = builder.send().await.map_err(|e| from_reqwest(e, &what))?;
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = read_limited(resp, req.max_body, &what).await?;
            Ok(Answer {
                status,
                content_type,
                body,
            })
        };
        tokio::time::timeout(req.timeout, exchange)
            .await
            .map_err(|_| Error::Timeout(format!("{what}: no answer within {:?}", req.timeout)))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_policy_applies_before_connecting() {
        let client = HttpClient::new(&ClientOptions::default(), false).unwrap();
        for url in ["http://127.0.0.1:9/api/v1/metadata", "http://[::1]:9/"] {
            let err = client.send(Request::get(url)).await.unwrap_err();
            assert!(matches!(err, Error::AddressRefused { .. }), "{url}: {err}");
            assert!(err.to_string().contains("address policy"), "{err}");
        }
        let err = client
            .send(Request::get("ftp://example.com/"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        // A name resolving to loopback is refused by the resolver.
        let err = client
            .send(Request::get("http://localhost:9/"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("address policy"), "{err}");
    }
}
