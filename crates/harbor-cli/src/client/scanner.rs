//! The built-in scanner's vulnerability database (`/system/vulnerability-db`).

use std::time::Duration;

use harbor_api_model::VulnerabilityDbStatus;
use reqwest::Method;

use super::{Client, Result};

/// How long an import may take (the server reads and stores every record).
const IMPORT_TIMEOUT: Duration = Duration::from_secs(3600);

impl Client {
    /// The database's version and age.
    pub async fn vulnerability_db(&self) -> Result<VulnerabilityDbStatus> {
        self.get("/system/vulnerability-db").await
    }

    /// Streams an OSV zip archive to the server, which imports it.
    pub async fn import_vulnerability_db(
        &self,
        archive: tokio::fs::File,
        source: &str,
    ) -> Result<VulnerabilityDbStatus> {
        let path = format!("/system/vulnerability-db?source={}", super::encode(source));
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(archive));
        let resp = self
            .request_with(Method::PUT, &path, |req| {
                req.header("content-type", "application/zip")
                    .timeout(IMPORT_TIMEOUT)
                    .body(body)
            })
            .await?;
        self.json(resp).await
    }
}

impl Client {
    /// Starts a scan of an artifact (vulnerabilities, or an SBOM with `sbom`).
    pub async fn scan_artifact(&self, a: &super::content::ArtifactRef, sbom: bool) -> Result<()> {
        let path = format!("{}/scan", a.path()?);
        let body = serde_json::json!({ "scan_type": if sbom { "sbom" } else { "vulnerability" } });
        self.send(Method::POST, &path, Some(body)).await.map(drop)
    }

    /// An artifact with its scan and SBOM overviews.
    pub async fn scan_overview(
        &self,
        a: &super::content::ArtifactRef,
    ) -> Result<harbor_api_model::Artifact> {
        self.get(&format!(
            "{}?with_scan_overview=true&with_sbom_overview=true&with_tag=false",
            a.path()?
        ))
        .await
    }

    /// An artifact's vulnerability reports by report type.
    pub async fn vulnerabilities(
        &self,
        a: &super::content::ArtifactRef,
    ) -> Result<
        std::collections::BTreeMap<String, harbor_api_model::scanner_adapter::VulnerabilityReport>,
    > {
        self.get(&format!("{}/additions/vulnerabilities", a.path()?))
            .await
    }
}

impl Client {
    /// An artifact's SBOM document: the `sbom` addition of the SBOM accessory its
    /// `sbom_overview` names; `None` without one.
    pub async fn sbom(&self, a: &super::content::ArtifactRef) -> Result<Option<Vec<u8>>> {
        let artifact = self.scan_overview(a).await?;
        let Some(digest) = artifact
            .sbom_overview
            .as_ref()
            .map(|o| o.sbom_digest.clone())
            .filter(|d| !d.is_empty())
        else {
            return Ok(None);
        };
        let sbom = super::content::ArtifactRef {
            repository: a.repository.clone(),
            reference: digest,
        };
        let path = format!("{}/additions/sbom", sbom.path()?);
        let r = self.request(Method::GET, &path, None).await?;
        let url = r.url().to_string();
        let body = r.bytes().await.map_err(|e| super::Error::Protocol {
            url,
            detail: e.to_string(),
        })?;
        Ok(Some(body.to_vec()))
    }

    /// The latest scan-all run's metrics.
    pub async fn scan_all_metrics(&self) -> Result<harbor_api_model::ScanAllStats> {
        self.get("/scans/all/metrics").await
    }

    /// Stops the latest scan-all run.
    pub async fn stop_scan_all(&self) -> Result<()> {
        self.send(Method::POST, "/system/scanAll/stop", None)
            .await
            .map(drop)
    }
}
