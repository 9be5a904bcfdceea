//! The security hub (`/security/summary`, `/security/vul`) and CVE exports
//! (`/export/cve`).

use std::time::Duration;

use harbor_api_model::security::VulnerabilityItem;
use harbor_api_model::{
    ScanDataExportExecution, ScanDataExportExecutionList, ScanDataExportJob, ScanDataExportRequest,
    SecuritySummary,
};
use reqwest::Method;

use super::{Client, Error, Result};

/// The only scan data type Harbor exports.
const SCAN_DATA_TYPE: &str = harbor_api_model::scanner_adapter::VULN_REPORT_V11;
/// How long a download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(3600);

impl Client {
    /// The summary with the most dangerous CVEs and artifacts.
    pub async fn security_summary(&self) -> Result<SecuritySummary> {
        self.get("/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true")
            .await
    }

    /// Vulnerabilities matching Harbor's `q` (may be empty), with tags, at most `limit`.
    pub async fn security_vulnerabilities(
        &self,
        q: &str,
        limit: usize,
    ) -> Result<Vec<VulnerabilityItem>> {
        let path = if q.is_empty() {
            "/security/vul?with_tag=true&tune_count=true".to_owned()
        } else {
            format!(
                "/security/vul?with_tag=true&tune_count=true&q={}",
                super::encode(q)
            )
        };
        self.list(&path, limit).await
    }

    /// Starts a CVE export; the execution's id.
    pub async fn create_cve_export(&self, request: &ScanDataExportRequest) -> Result<i64> {
        let resp = self
            .request_with(Method::POST, "/export/cve", |req| {
                req.header("X-Scan-Data-Type", SCAN_DATA_TYPE).json(request)
            })
            .await?;
        let job: ScanDataExportJob = self.json(resp).await?;
        Ok(job.id)
    }

    /// The caller's CVE exports, newest first.
    pub async fn cve_exports(&self) -> Result<Vec<ScanDataExportExecution>> {
        let list: ScanDataExportExecutionList = self.get("/export/cve/executions").await?;
        Ok(list.items)
    }

    /// One of the caller's CVE exports.
    pub async fn cve_export(&self, id: i64) -> Result<ScanDataExportExecution> {
        self.get(&format!("/export/cve/execution/{id}")).await
    }

    /// Streams an export's CSV into `to`; the bytes written.
    pub async fn download_cve_export(&self, id: i64, to: &mut dyn std::io::Write) -> Result<u64> {
        let path = format!("/export/cve/download/{id}");
        let mut resp = self
            .request_with(Method::GET, &path, |req| req.timeout(DOWNLOAD_TIMEOUT))
            .await?;
        let url = resp.url().to_string();
        let mut written = 0u64;
        let write_error = |e: std::io::Error| Error::Setup(format!("cannot write the file: {e}"));
        while let Some(chunk) = resp.chunk().await.map_err(|source| Error::Transport {
            url: url.clone(),
            source,
        })? {
            to.write_all(&chunk).map_err(write_error)?;
            written += chunk.len() as u64;
        }
        to.flush().map_err(write_error)?;
        Ok(written)
    }
}
