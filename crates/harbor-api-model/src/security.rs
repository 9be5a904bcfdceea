//! The security hub (`/security/summary`, `/security/vul`) and CVE export
//! (`/export/cve`): Harbor's `SecuritySummary`, `DangerousCVE`, `DangerousArtifact`,
//! `VulnerabilityItem`, `ScanDataExportRequest`, `ScanDataExportJob`,
//! `ScanDataExportExecution` and `ScanDataExportExecutionList`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `SecuritySummary`: counts over the artifacts the default scanner scanned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecuritySummary {
    /// Critical vulnerabilities.
    #[serde(default)]
    pub critical_cnt: i64,
    /// High vulnerabilities.
    #[serde(default)]
    pub high_cnt: i64,
    /// Medium vulnerabilities.
    #[serde(default)]
    pub medium_cnt: i64,
    /// Low vulnerabilities.
    #[serde(default)]
    pub low_cnt: i64,
    /// Vulnerabilities rated None (or Negligible).
    #[serde(default)]
    pub none_cnt: i64,
    /// Vulnerabilities of unknown severity.
    #[serde(default)]
    pub unknown_cnt: i64,
    /// All of them.
    #[serde(default)]
    pub total_vuls: i64,
    /// Artifacts the default scanner scanned.
    #[serde(default)]
    pub scanned_cnt: i64,
    /// Every artifact.
    #[serde(default)]
    pub total_artifact: i64,
    /// Vulnerabilities with a fix.
    #[serde(default)]
    pub fixable_cnt: i64,
    /// The five most dangerous CVEs (with `with_dangerous_cve=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dangerous_cves: Option<Vec<DangerousCve>>,
    /// The five most dangerous artifacts (with `with_dangerous_artifact=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dangerous_artifacts: Option<Vec<DangerousArtifact>>,
}

/// Harbor's `DangerousCVE`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DangerousCve {
    /// The CVE.
    #[serde(default)]
    pub cve_id: String,
    /// Its severity.
    #[serde(default)]
    pub severity: String,
    /// Its CVSS v3 score.
    #[serde(default)]
    pub cvss_score_v3: f64,
    /// What it is.
    #[serde(default)]
    pub desc: String,
    /// The package it is in.
    #[serde(default)]
    pub package: String,
    /// The package's version.
    #[serde(default)]
    pub version: String,
}

/// Harbor's `DangerousArtifact`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DangerousArtifact {
    /// The artifact's project.
    #[serde(default)]
    pub project_id: i64,
    /// Its repository (the full name).
    #[serde(default)]
    pub repository_name: String,
    /// Its digest.
    #[serde(default)]
    pub digest: String,
    /// Critical vulnerabilities.
    #[serde(default)]
    pub critical_cnt: i64,
    /// High vulnerabilities.
    #[serde(default)]
    pub high_cnt: i64,
    /// Medium vulnerabilities.
    #[serde(default)]
    pub medium_cnt: i64,
}

/// Harbor's `VulnerabilityItem` (the security hub's listing; not the scanner report's
/// item).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VulnerabilityItem {
    /// The artifact's project.
    #[serde(default)]
    pub project_id: i64,
    /// Its repository (the full name).
    #[serde(default)]
    pub repository_name: String,
    /// Its digest.
    #[serde(default)]
    pub digest: String,
    /// Up to ten of its tags (with `with_tag=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// The CVE.
    #[serde(default)]
    pub cve_id: String,
    /// Its severity.
    #[serde(default)]
    pub severity: String,
    /// The scanner's status of it (Trivy's `fixed`, `affected`; empty here).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Its CVSS v3 score (0 when unknown).
    #[serde(default)]
    pub cvss_v3_score: f64,
    /// The package.
    #[serde(default)]
    pub package: String,
    /// The installed version.
    #[serde(default)]
    pub version: String,
    /// The version that fixes it (empty when none is known).
    #[serde(default)]
    pub fixed_version: String,
    /// What it is.
    #[serde(default)]
    pub desc: String,
    /// Links to advisories.
    #[serde(default)]
    pub links: Vec<String>,
}

/// Harbor's `ScanDataExportRequest`: what `POST /export/cve` exports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScanDataExportRequest {
    /// A name for the job.
    #[serde(default)]
    pub job_name: String,
    /// The project ids (exactly one).
    #[serde(default)]
    pub projects: Vec<i64>,
    /// Label ids: artifacts with any of them; empty for all.
    #[serde(default)]
    pub labels: Vec<i64>,
    /// Repositories, a doublestar pattern without the project (`{app,tools/**}`); empty
    /// for all.
    #[serde(default)]
    pub repositories: String,
    /// CVE ids, a doublestar pattern (`{CVE-2024-1,CVE-2024-2}`); empty for all.
    #[serde(default, rename = "cveIds")]
    pub cve_ids: String,
    /// Tags, a doublestar pattern; empty for all.
    #[serde(default)]
    pub tags: String,
}

/// Harbor's `ScanDataExportJob`: the answer to `POST /export/cve`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScanDataExportJob {
    /// The execution's id.
    #[serde(default)]
    pub id: i64,
}

/// Harbor's `ScanDataExportExecution`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScanDataExportExecution {
    /// Its id.
    #[serde(default)]
    pub id: i64,
    /// Who asked (user id).
    #[serde(default)]
    pub user_id: i64,
    /// `Running`, `Success`, `Error` or `Stopped`.
    #[serde(default)]
    pub status: String,
    /// `MANUAL`.
    #[serde(default)]
    pub trigger: String,
    /// When it started.
    #[serde(default)]
    pub start_time: String,
    /// When it ended (absent while running).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end_time: String,
    /// Why it failed, or a note.
    #[serde(default)]
    pub status_text: String,
    /// Who asked.
    #[serde(default)]
    pub user_name: String,
    /// Whether its file can be downloaded.
    #[serde(default)]
    pub file_present: bool,
}

/// Harbor's `ScanDataExportExecutionList`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScanDataExportExecutionList {
    /// The caller's executions, newest first.
    #[serde(default)]
    pub items: Vec<ScanDataExportExecution>,
}
