//! A client of Harbor's pluggable scanner adapter API (`<url>/api/v1`): scan requests and
//! report polling (the metadata is a plain GET: `crate::http`), under the same address policy and time-outs as registry
//! clients.

use std::sync::Arc;
use std::time::Duration;

use harbor_api_model::scanner_adapter::{self as spec, ScanRequest, ScanResponse};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::client::ClientOptions;
use crate::client::response::read_limited;
use crate::error::{Error, Result, from_reqwest};

/// Largest metadata or scan answer read (reports have their own limit).
const MAX_SMALL: u64 = 1 << 20;
/// Largest report read.
pub const MAX_REPORT: u64 = 64 << 20;
/// Wait used when a pending answer names none.
const DEFAULT_REFRESH: Duration = Duration::from_secs(5);

/// What a report request answered.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportPoll {
    /// The report's bytes, in the type asked for.
    Ready(Vec<u8>),
    /// Not ready: ask again after this long.
    Pending(Duration),
}

/// A client of one scanner adapter.
#[derive(Clone)]
pub struct AdapterClient {
    http: reqwest::Client,
    base: String,
    auth: Option<(HeaderName, HeaderValue)>,
    policy: Arc<crate::AddressPolicy>,
}

impl std::fmt::Debug for AdapterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl AdapterClient {
    /// A client of the adapter at `url` (its API is under `<url>/api/v1`), sending
    /// `auth` (a header name and value, such as the registration's) with every request.
    pub fn new(
        url: &str,
        auth: Option<(&str, String)>,
        skip_cert_verify: bool,
        options: &ClientOptions,
    ) -> Result<Self> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::InvalidInput(format!("adapter URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::InvalidInput(format!(
                "adapter URL {url:?}: not http or https"
            )));
        }
        let policy = Arc::new(options.address_policy.clone());
        policy.check_url(&parsed)?;
        let auth = match auth {
            None => None,
            Some((name, value)) => Some((
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| Error::InvalidInput(format!("header name {name:?}")))?,
                header(&value)?,
            )),
        };
        let http = crate::client::guarded(
            reqwest::Client::builder(),
            options,
            &policy,
            skip_cert_verify,
        )
        .timeout(options.request_timeout)
        // Report polls answer 302 while pending (Trivy's with a `Location` to the same
        // report): never follow redirects here.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::InvalidInput(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: format!("{}/api/v1", url.trim_end_matches('/')),
            auth,
            policy,
        })
    }

    /// The address policy this client connects under.
    pub fn policy(&self) -> &crate::AddressPolicy {
        &self.policy
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some((name, value)) = &self.auth {
            req = req.header(name.clone(), value.clone());
        }
        req
    }

    /// `POST /scan`: the request's id.
    pub async fn scan(&self, request: &ScanRequest) -> Result<String> {
        let what = format!("scan request to {}", self.base);
        let body = serde_json::to_vec(request).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let resp = self
            .request(Method::POST, "/scan")
            .header(CONTENT_TYPE, spec::SCAN_REQUEST_MIME)
            .header(ACCEPT, spec::SCAN_RESPONSE_MIME)
            .body(body)
            .send()
            .await
            .map_err(|e| from_reqwest(e, &what))?;
        let status = resp.status();
        let body = read_limited(resp, MAX_SMALL, &what).await?.to_vec();
        if status != StatusCode::ACCEPTED && status != StatusCode::OK {
            return Err(answer_error(status, &body, &what));
        }
        let answer: ScanResponse =
            serde_json::from_slice(&body).map_err(|e| Error::protocol(format!("{what}: {e}")))?;
        if answer.id.is_empty() || answer.id.len() > 256 || answer.id.contains('/') {
            return Err(Error::protocol(format!(
                "{what}: an unusable request id {:?}",
                answer.id
            )));
        }
        Ok(answer.id)
    }

    /// `GET /scan/{id}/report` in `mime` (with `sbom_media_type` for SBOMs): the report, or
    /// how long to wait (`Refresh-After`, else `Retry-After`, else 5 s, at most 60 s).
    pub async fn report(
        &self,
        id: &str,
        mime: &str,
        sbom_media_type: Option<&str>,
    ) -> Result<ReportPoll> {
        let what = format!("scan report {id} from {}", self.base);
        let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let path = match sbom_media_type {
            Some(media) => {
                let media: String =
                    url::form_urlencoded::byte_serialize(media.as_bytes()).collect();
                format!("/scan/{id}/report?sbom_media_type={media}")
            }
            None => format!("/scan/{id}/report"),
        };
        let resp = self
            .request(Method::GET, &path)
            .header(ACCEPT, mime)
            .send()
            .await
            .map_err(|e| from_reqwest(e, &what))?;
        let status = resp.status();
        if status == StatusCode::FOUND || status == StatusCode::ACCEPTED {
            let wait = ["refresh-after", "retry-after"]
                .iter()
                .find_map(|h| {
                    resp.headers()
                        .get(*h)?
                        .to_str()
                        .ok()?
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .map(|s| Duration::from_secs(s.clamp(1, 60)))
                .unwrap_or(DEFAULT_REFRESH);
            return Ok(ReportPoll::Pending(wait));
        }
        let body = read_limited(resp, MAX_REPORT, &what).await?.to_vec();
        if status != StatusCode::OK {
            return Err(answer_error(status, &body, &what));
        }
        Ok(ReportPoll::Ready(body))
    }
}

fn header(v: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(v).map_err(|_| {
        Error::InvalidInput("the adapter credential is not a valid header value".into())
    })
}

/// The adapter's error message (`{"error":{"message"}}`) or the status.
fn answer_error(status: StatusCode, body: &[u8], what: &str) -> Error {
    let message = serde_json::from_slice::<spec::ErrorResponse>(body)
        .map(|e| e.error.message)
        .unwrap_or_else(|_| {
            String::from_utf8_lossy(&body[..body.len().min(300)])
                .trim()
                .to_string()
        });
    match status {
        StatusCode::UNAUTHORIZED => Error::Unauthorized(format!("{what}: {message}")),
        StatusCode::FORBIDDEN => Error::Denied(format!("{what}: {message}")),
        StatusCode::NOT_FOUND => Error::NotFound(format!("{what}: {message}")),
        _ => Error::Registry {
            status: status.as_u16(),
            code: None,
            message: format!("{what}: {message}"),
        },
    }
}
