//! Harbor's pluggable scanner API (goharbor/pluggable-scanner-spec, v1.2): what a scanner
//! adapter serves under `/api/v1` and what Harbor (and Harbor-rs) sends it. The built-in
//! scanner serves it; `/scanners` registrations are clients of it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /metadata` response type.
pub const METADATA_MIME: &str = "application/vnd.scanner.adapter.metadata+json; version=1.0";
/// `POST /scan` request type.
pub const SCAN_REQUEST_MIME: &str =
    "application/vnd.scanner.adapter.scan.request+json; version=1.0";
/// `POST /scan` response type.
pub const SCAN_RESPONSE_MIME: &str =
    "application/vnd.scanner.adapter.scan.response+json; version=1.0";
/// Error body type.
pub const ERROR_MIME: &str = "application/vnd.scanner.adapter.error+json; version=1.0";
/// Harbor's vulnerability report, version 1.0.
pub const VULN_REPORT_HARBOR: &str =
    "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
/// The vulnerability report v1.1 (adds `preferred_cvss`, `cwe_ids`, `vendor_attributes`).
pub const VULN_REPORT_V11: &str = "application/vnd.security.vulnerability.report; version=1.1";
/// The SBOM report.
pub const SBOM_REPORT: &str = "application/vnd.security.sbom.report+json; version=1.0";
/// The artifact types a scanner consumes.
pub const CONSUMES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// The metadata property naming how the adapter wants to authenticate to the registry.
pub const AUTHORIZATION_TYPE_PROPERTY: &str = "harbor.scanner-adapter/registry-authorization-type";
/// The metadata property with the vulnerability database's last update.
pub const DB_UPDATED_AT_PROPERTY: &str = "harbor.scanner-adapter/vulnerability-database-updated-at";

/// A scanner's name, vendor and version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Scanner {
    /// The scanner's name, `Trivy`.
    #[serde(default)]
    pub name: String,
    /// Who provides it.
    #[serde(default)]
    pub vendor: String,
    /// Its version.
    #[serde(default)]
    pub version: String,
}

/// `GET /metadata`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ScannerAdapterMetadata {
    /// The scanner.
    pub scanner: Scanner,
    /// What it scans and produces.
    pub capabilities: Vec<ScannerCapability>,
    /// Custom properties (`harbor.scanner-adapter/...`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// What the adapter scans and the reports it produces.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ScannerCapability {
    /// `vulnerability` or `sbom`; absent means `vulnerability`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The artifact types it reads.
    #[serde(default)]
    pub consumes_mime_types: Vec<String>,
    /// The report types it writes.
    #[serde(default)]
    pub produces_mime_types: Vec<String>,
    /// For `sbom`: `{"sbom_media_types": [...]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_attributes: Option<Value>,
}

/// `POST /scan`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScanRequest {
    /// Where to pull from.
    pub registry: RegistryAccess,
    /// What to scan.
    pub artifact: ScanArtifact,
    /// The capabilities wanted; absent means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_capabilities: Option<Vec<EnabledCapability>>,
}

/// Where and how the adapter pulls the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RegistryAccess {
    /// The registry's base URL, `https://core.harbor.domain`.
    pub url: String,
    /// The `Authorization` header value to pull with (`Basic …`, `Bearer …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// Harbor's extension: skip TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
}

/// The artifact to scan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScanArtifact {
    /// The repository, `library/mongo`.
    #[serde(default)]
    pub repository: String,
    /// The manifest digest.
    #[serde(default)]
    pub digest: String,
    /// A tag of it, informative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The manifest media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Harbor's extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A capability the client asks for, and in which formats.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnabledCapability {
    /// kind
    #[serde(rename = "type")]
    pub kind: String,
    /// The report types it writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produces_mime_types: Option<Vec<String>>,
    /// SBOM formats, for `sbom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<SbomParameters>,
}

/// SBOM formats asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SbomParameters {
    /// `application/spdx+json` and/or `application/vnd.cyclonedx+json`.
    #[serde(default)]
    pub sbom_media_types: Vec<String>,
}

/// `POST /scan` 202 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanResponse {
    /// The scan request's identifier, to poll the report with.
    pub id: String,
}

/// The adapter's error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorMessage,
}

/// An error's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// What went wrong.
    pub message: String,
}

/// A vulnerability report (both report MIME types share it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VulnerabilityReport {
    /// When it was generated, RFC 3339.
    pub generated_at: String,
    /// What to scan.
    pub artifact: ScanArtifact,
    /// The scanner.
    pub scanner: Scanner,
    /// The highest severity found.
    pub severity: String,
    /// The findings.
    pub vulnerabilities: Vec<VulnerabilityItem>,
}

/// One vulnerability of one package.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VulnerabilityItem {
    /// The vulnerability's id, a CVE when it has one.
    pub id: String,
    /// The package with the vulnerability.
    pub package: String,
    /// Its version.
    pub version: String,
    /// The first version that fixes it; empty when none is known.
    #[serde(default)]
    pub fix_version: String,
    /// Severity: Unknown, Negligible, Low, Medium, High, Critical.
    pub severity: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// Links to advisories.
    #[serde(default)]
    pub links: Vec<String>,
    /// CVSS scores (v1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_cvss: Option<CvssDetails>,
    /// CWE identifiers (v1.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwe_ids: Vec<String>,
    /// Scanner-specific attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_attributes: Option<Value>,
}

/// CVSS scores and vectors.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CvssDetails {
    /// CVSS v3 base score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_v3: Option<f64>,
    /// CVSS v2 base score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_v2: Option<f64>,
    /// CVSS v3 vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_v3: Option<String>,
    /// CVSS v2 vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_v2: Option<String>,
}

/// An SBOM report.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SbomReport {
    /// When it was generated, RFC 3339.
    pub generated_at: String,
    /// What to scan.
    pub artifact: ScanArtifact,
    /// The scanner.
    pub scanner: Scanner,
    /// Scanner-specific attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_attributes: Option<Value>,
    /// The SBOM format.
    pub media_type: String,
    /// The SBOM document.
    pub sbom: Value,
}
