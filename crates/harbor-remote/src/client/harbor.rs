//! The little of Harbor's REST API replication needs from a Harbor (or Harbor-rs)
//! destination: making sure a project exists before pushing into it, as Harbor's own
//! adapter does. Basic credentials, as Harbor's API expects.

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};

use super::{Body, Client, Req};
use crate::error::{Error, Result};

impl Client {
    fn api(&self, method: Method, path: &str, what: &str) -> Result<Req> {
        let mut req = self.req(
            method,
            self.url(&format!("api/v2.0/{path}"))?,
            Default::default(),
            what.into(),
        );
        req.scopes = None;
        req.basic = true;
        Ok(req)
    }

    /// Creates the Harbor project `name` (`public` or private) unless it exists; `true`
    /// if it was created. For Harbor and Harbor-rs destinations only.
    pub async fn ensure_harbor_project(&self, name: &str, public: bool) -> Result<bool> {
        let mut head = self.api(
            Method::HEAD,
            &format!("projects?project_name={}", urlencode(name)),
            "project lookup",
        )?;
        head.headers.remove(CONTENT_TYPE);
        let resp = self.send(head).await?;
        match resp.status() {
            StatusCode::OK => return Ok(false),
            StatusCode::NOT_FOUND => {}
            _ => return Err(self.error(resp, "project lookup").await),
        }
        let body = serde_json::json!({
            "project_name": name,
            "metadata": {"public": public.to_string()},
        });
        let mut post = self.api(Method::POST, "projects", "project creation")?;
        post.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        post.body = Body::Bytes(
            serde_json::to_vec(&body)
                .map_err(|e| Error::InvalidInput(e.to_string()))?
                .into(),
        );
        let resp = self.send(post).await?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            // Created meanwhile by another task.
            StatusCode::CONFLICT => Ok(false),
            _ => Err(self.error(resp, "project creation").await),
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
