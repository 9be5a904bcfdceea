//! The adapter's documents: its metadata and the reports rendered from a scan outcome.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use harbor_api_model::scanner_adapter::{
    self as spec, CvssDetails, SbomReport, ScanArtifact, Scanner, ScannerAdapterMetadata,
    ScannerCapability, VulnerabilityItem, VulnerabilityReport,
};
use harbor_core::scan::VulnDbInfo;
use harbor_platform::scanner::{self, ScanOutcome, ScanTarget};
use harbor_scanner::osv::{Finding, Severity};
use harbor_scanner::sbom;
use serde_json::json;

use super::{AdapterError, RAW_REPORT};
use crate::api::paging::time;

/// Which document a report request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Harbor's vulnerability report v1.0.
    Harbor,
    /// The vulnerability report v1.1 (CVSS, CWE, vendor attributes).
    V11,
    /// The findings as the scanner keeps them.
    Raw,
    /// An SPDX SBOM report.
    Spdx,
    /// A CycloneDX SBOM report.
    CycloneDx,
}

impl Kind {
    /// From the `Accept` header (by its type, parameters compared without spaces) and the
    /// `sbom_media_type` query parameter.
    pub(crate) fn of(accept: &str, sbom_media_type: Option<&str>) -> Result<Self, AdapterError> {
        let normal = |s: &str| s.replace(' ', "").to_ascii_lowercase();
        let accept = normal(accept);
        if accept.is_empty()
            || accept == "*/*"
            || accept == "application/json"
            || accept == normal(spec::VULN_REPORT_HARBOR)
        {
            return Ok(Self::Harbor);
        }
        if accept == normal(spec::VULN_REPORT_V11) {
            return Ok(Self::V11);
        }
        if accept == normal(RAW_REPORT) {
            return Ok(Self::Raw);
        }
        if accept == normal(spec::SBOM_REPORT) {
            return match sbom_media_type {
                Some(sbom::SPDX_JSON) => Ok(Self::Spdx),
                Some(sbom::CYCLONEDX_JSON) => Ok(Self::CycloneDx),
                Some(other) => Err(AdapterError(StatusCode::BAD_REQUEST, format!("unsupported sbom_media_type {other:?}: application/spdx+json or application/vnd.cyclonedx+json"))),
                None => Err(AdapterError(StatusCode::BAD_REQUEST, "an SBOM report needs ?sbom_media_type=application/spdx+json or application/vnd.cyclonedx+json".into())),
            };
        }
        Err(AdapterError(
            StatusCode::NOT_IMPLEMENTED,
            format!("cannot produce reports of type {accept:?}"),
        ))
    }
}

fn scanner() -> Scanner {
    Scanner {
        name: scanner::NAME.into(),
        vendor: scanner::VENDOR.into(),
        version: scanner::VERSION.into(),
    }
}

/// `GET /metadata`: two capabilities (vulnerability, sbom) and the database's age.
pub(crate) fn metadata(db: Option<&VulnDbInfo>) -> ScannerAdapterMetadata {
    let consumes: Vec<String> = spec::CONSUMES.iter().map(|s| s.to_string()).collect();
    let mut properties = BTreeMap::from([
        (
            "harbor.scanner-adapter/scanner-type".to_string(),
            "os-package-vulnerability".to_string(),
        ),
        (
            "harbor.scanner-adapter/vulnerability-database-source".to_string(),
            "OSV (imported by the operator)".to_string(),
        ),
    ]);
    if let Some(db) = db {
        properties.insert(spec::DB_UPDATED_AT_PROPERTY.into(), time(db.imported_at_ms));
        properties.insert(
            "harbor.scanner-adapter/vulnerability-database-version".into(),
            db.newest.clone(),
        );
        properties.insert(
            "harbor.scanner-adapter/vulnerability-database-advisories".into(),
            db.advisories.to_string(),
        );
    }
    ScannerAdapterMetadata {
        scanner: scanner(),
        capabilities: vec![
            ScannerCapability {
                kind: Some("vulnerability".into()),
                consumes_mime_types: consumes.clone(),
                produces_mime_types: vec![
                    spec::VULN_REPORT_HARBOR.into(),
                    spec::VULN_REPORT_V11.into(),
                    RAW_REPORT.into(),
                ],
                additional_attributes: None,
            },
            ScannerCapability {
                kind: Some("sbom".into()),
                consumes_mime_types: consumes,
                produces_mime_types: vec![spec::SBOM_REPORT.into()],
                additional_attributes: Some(
                    json!({"sbom_media_types": [sbom::SPDX_JSON, sbom::CYCLONEDX_JSON]}),
                ),
            },
        ],
        properties,
    }
}

fn artifact(target: &ScanTarget) -> ScanArtifact {
    ScanArtifact {
        repository: target.repository.clone(),
        digest: target.digest.clone(),
        tag: target.tag.clone(),
        mime_type: target.mime_type.clone(),
        size: None,
    }
}

/// The report `kind` of a finished scan, with its content type.
pub(crate) fn render(kind: Kind, target: &ScanTarget, outcome: &ScanOutcome) -> (String, Vec<u8>) {
    let generated_at = time(outcome.generated_ms);
    let body = match kind {
        Kind::Harbor | Kind::V11 => {
            let severity = outcome
                .findings
                .iter()
                .map(|f| f.severity)
                .max()
                .unwrap_or(Severity::Unknown);
            let report = VulnerabilityReport {
                generated_at,
                artifact: artifact(target),
                scanner: scanner(),
                severity: severity.as_str().into(),
                vulnerabilities: outcome
                    .findings
                    .iter()
                    .map(|f| item(f, kind == Kind::V11))
                    .collect(),
            };
            serde_json::to_vec(&report)
        }
        Kind::Raw => serde_json::to_vec(&json!({
            "generated_at": generated_at,
            "database_version": outcome.db_version,
            "os": outcome.inventory.os,
            "packages": outcome.inventory.packages,
            "findings": outcome.findings,
            "warnings": outcome.inventory.warnings,
            "layers": outcome.layers,
            "layers_read": outcome.layers_read,
        })),
        Kind::Spdx | Kind::CycloneDx => {
            let doc = sbom::Document {
                repository: &target.repository,
                digest: &target.digest,
                created: &generated_at,
                tool: scanner::NAME,
                tool_version: scanner::VERSION,
            };
            let (media_type, sbom) = if kind == Kind::Spdx {
                (sbom::SPDX_JSON, sbom::spdx(&doc, &outcome.inventory))
            } else {
                (
                    sbom::CYCLONEDX_JSON,
                    sbom::cyclonedx(&doc, &outcome.inventory),
                )
            };
            serde_json::to_vec(&SbomReport {
                generated_at: generated_at.clone(),
                artifact: artifact(target),
                scanner: scanner(),
                vendor_attributes: None,
                media_type: media_type.into(),
                sbom,
            })
        }
    };
    let mime = match kind {
        Kind::Harbor => spec::VULN_REPORT_HARBOR,
        Kind::V11 => spec::VULN_REPORT_V11,
        Kind::Raw => RAW_REPORT,
        Kind::Spdx | Kind::CycloneDx => spec::SBOM_REPORT,
    };
    (mime.to_string(), body.unwrap_or_default())
}

/// One finding as a report item; v1.1 adds CVSS, CWE ids and vendor attributes.
fn item(f: &Finding, v11: bool) -> VulnerabilityItem {
    let mut item = VulnerabilityItem {
        id: f.id.clone(),
        package: f.package.clone(),
        version: f.version.clone(),
        fix_version: f.fix_version.clone().unwrap_or_default(),
        severity: f.severity.as_str().into(),
        description: f.summary.clone(),
        links: f.links.clone(),
        preferred_cvss: None,
        cwe_ids: Vec::new(),
        vendor_attributes: None,
    };
    if v11 {
        // The spec has fields for CVSS v2 and v3 only; a v4 vector goes to the vendor attributes.
        item.preferred_cvss = f.cvss.as_ref().and_then(|c| match c.version {
            2 => Some(CvssDetails {
                score_v2: Some(c.score),
                vector_v2: Some(c.vector.clone()),
                ..Default::default()
            }),
            3 => Some(CvssDetails {
                score_v3: Some(c.score),
                vector_v3: Some(c.vector.clone()),
                ..Default::default()
            }),
            _ => None,
        });
        item.cwe_ids = f.cwe_ids.clone();
        item.vendor_attributes = Some(json!({
            "advisories": f.advisories,
            "package_type": f.kind.as_str(),
            "package_path": f.path,
            "cvss_v4": f.cvss.as_ref().filter(|c| c.version == 4).map(|c| json!({"score": c.score, "vector": c.vector})),
        }));
    }
    item
}
