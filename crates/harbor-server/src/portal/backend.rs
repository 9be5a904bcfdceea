//! The portal's only way to read or change anything: an in-process call to the REST API
//! router (`/api/v2.0`, `/c`), made as the signed-in user with their session cookie and
//! CSRF token. Pages therefore get exactly the API's validation, RBAC, quota, read-only
//! mode and audit records, and no page can do what its user could not do with `curl`.
//! Every call says `X-Is-Resource-Name: true`: pages address projects by name only.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::viewer::Viewer;
use crate::client::ClientInfo;

/// Tells the API that a `{project_name_or_id}` in the path is a name.
const RESOURCE_NAME: &str = "x-is-resource-name";

/// The largest API response a page reads (listings are paged; logs are capped here).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A failed API call, as the portal shows it.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: StatusCode,
    pub message: String,
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }
}

/// A successful API answer: its JSON body (`Null` when empty) and headers.
pub(crate) struct Answer {
    pub body: Value,
    pub headers: HeaderMap,
    /// The raw body, for text endpoints (job logs).
    pub text: String,
}

impl Answer {
    /// `X-Total-Count`, or the length of the returned array.
    pub fn total(&self) -> u64 {
        self.headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| self.body.as_array().map_or(0, |a| a.len() as u64))
    }

    /// The body as a list (an empty one when it is not an array).
    pub fn items(&self) -> &[Value] {
        self.body.as_array().map_or(&[], |a| a.as_slice())
    }

    /// The body as the API model `T` says it is; an answer that does not fit is a 502
    /// (the API and the portal disagree, which the shared model exists to prevent).
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, Failure> {
        serde_json::from_value(self.body.clone()).map_err(|e| {
            Failure::new(
                StatusCode::BAD_GATEWAY,
                format!("the API's answer does not fit its model: {e}"),
            )
        })
    }
}

/// The REST API router, called in process.
#[derive(Clone)]
pub(crate) struct Api {
    router: Router,
}

impl Api {
    pub fn new(router: Router) -> Self {
        Api { router }
    }

    /// `GET /api/v2.0{path}` as `viewer`.
    pub async fn get(&self, viewer: &Viewer, path: &str) -> Result<Answer, Failure> {
        self.call(Some(viewer), Method::GET, &api_path(path), None)
            .await
    }

    /// An unsafe call (`POST`, `PUT`, `PATCH`, `DELETE`) with an optional JSON body.
    pub async fn send(
        &self,
        viewer: &Viewer,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer, Failure> {
        self.call(Some(viewer), method, &api_path(path), body).await
    }

    /// Any call, as `viewer` (or anonymously), at a full path (`/c/...` included).
    pub async fn call(
        &self,
        viewer: Option<&Viewer>,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Result<Answer, Failure> {
        // Pages name projects by name, never by id: a project may be called `7` while
        // another has the id 7 (Harbor's own UI sends the same header).
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(RESOURCE_NAME, "true");
        if let Some(v) = viewer {
            req = req
                .header(header::COOKIE, v.cookie_header())
                .header(super::viewer::CSRF_HEADER, v.csrf())
                .extension(v.client);
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.dispatch(req.body(body)).await
    }

    /// A form-encoded `POST` on behalf of `client` (the session login).
    pub async fn post_form(
        &self,
        client: ClientInfo,
        uri: &str,
        form: &str,
    ) -> Result<Answer, Failure> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .extension(client)
            .body(Body::from(form.to_owned()));
        self.dispatch(req).await
    }

    async fn dispatch(
        &self,
        req: Result<Request<Body>, axum::http::Error>,
    ) -> Result<Answer, Failure> {
        let req = req.map_err(|_| Failure::new(StatusCode::BAD_REQUEST, "invalid request"))?;
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| match e {})?;
        let status = resp.status();
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| Failure::new(StatusCode::BAD_GATEWAY, "the API answer was too large"))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Answer {
                body: json,
                headers: parts.headers,
                text,
            });
        }
        let message = json["errors"][0]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        Err(Failure::new(status, message))
    }
}

fn api_path(path: &str) -> String {
    format!("/api/v2.0{path}")
}

/// Percent-encodes one path segment or query value.
pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
