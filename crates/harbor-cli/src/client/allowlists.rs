//! CVE allowlists: the system list (`/system/CVEAllowlist`) and a project's own
//! (`cve_allowlist` of `/projects/{name}`).

use harbor_api_model::CveAllowlist;
use reqwest::Method;
use serde_json::json;

use super::{Client, Result, encode};

impl Client {
    /// The system allowlist.
    pub async fn system_allowlist(&self) -> Result<CveAllowlist> {
        self.get("/system/CVEAllowlist").await
    }

    /// Replaces the system allowlist (administrators).
    pub async fn set_system_allowlist(&self, list: &CveAllowlist) -> Result<()> {
        let body = serde_json::to_value(list).map_err(|e| super::Error::Setup(e.to_string()))?;
        self.send(Method::PUT, "/system/CVEAllowlist", Some(body))
            .await
            .map(drop)
    }

    /// Replaces a project's own allowlist (project administrators).
    pub async fn set_project_allowlist(&self, project: &str, list: &CveAllowlist) -> Result<()> {
        let body = json!({ "cve_allowlist": list });
        self.send(
            Method::PUT,
            &format!("/projects/{}", encode(project)),
            Some(body),
        )
        .await
        .map(drop)
    }
}
