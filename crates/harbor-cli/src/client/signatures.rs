//! Trusted signature keys (`/projects/{p}/signature/keys`, our extension) and an
//! artifact's signature status (`with_signature`).

use harbor_api_model::{SignatureKey, SignatureKeyReq, SignatureStatus};
use reqwest::Method;
use serde_json::Value;

use super::content::ArtifactRef;
use super::{Client, Result, encode};

impl Client {
    /// The keys a project trusts.
    pub async fn signature_keys(&self, project: &str) -> Result<Vec<SignatureKey>> {
        self.get(&format!("/projects/{}/signature/keys", encode(project)))
            .await
    }

    /// Trusts a key (project administrators); returns it as stored.
    pub async fn add_signature_key(
        &self,
        project: &str,
        key: &SignatureKeyReq,
    ) -> Result<SignatureKey> {
        let path = format!("/projects/{}/signature/keys", encode(project));
        let body = serde_json::to_value(key).map_err(|e| super::Error::Protocol {
            url: path.clone(),
            detail: e.to_string(),
        })?;
        let r = self.send(Method::POST, &path, Some(body)).await?;
        self.json(r).await
    }

    /// Stops trusting key `id`.
    pub async fn delete_signature_key(&self, project: &str, id: i64) -> Result<()> {
        self.send(
            Method::DELETE,
            &format!("/projects/{}/signature/keys/{id}", encode(project)),
            None,
        )
        .await
        .map(drop)
    }

    /// An artifact's signature status.
    pub async fn signature_status(&self, a: &ArtifactRef) -> Result<SignatureStatus> {
        let v: Value = self
            .get(&format!("{}?with_tag=false&with_signature=true", a.path()?))
            .await?;
        serde_json::from_value(v["signature_status"].clone()).map_err(|e| super::Error::Protocol {
            url: a.as_from(),
            detail: format!("no signature_status: {e}"),
        })
    }
}
