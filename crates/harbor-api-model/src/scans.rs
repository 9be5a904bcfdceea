//! Scans of artifacts: the scan request body and the overviews listings carry.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::scanner_adapter::Scanner;

/// Harbor's `ScanType`: the body of `POST …/scan` and `…/scan/stop`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScanType {
    /// `vulnerability` (the default) or `sbom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_type: Option<String>,
}

/// Harbor's `NativeReportSummary`: one report in an artifact's `scan_overview`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NativeReportSummary {
    /// The report's id.
    #[serde(default)]
    pub report_id: String,
    /// `Pending`, `Running`, `Success`, `Error` or `Stopped`.
    #[serde(default)]
    pub scan_status: String,
    /// The highest severity found (`None` when nothing was found).
    #[serde(default)]
    pub severity: String,
    /// Seconds the scan took.
    #[serde(default)]
    pub duration: i64,
    /// Counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<VulnerabilitySummary>,
    /// When the scan started.
    #[serde(default)]
    pub start_time: String,
    /// When it ended (empty while running).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end_time: String,
    /// 100 once finished, else 0.
    #[serde(default)]
    pub complete_percent: i64,
    /// The scanner that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner: Option<Scanner>,
}

/// Harbor's `VulnerabilitySummary`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VulnerabilitySummary {
    /// Vulnerabilities found.
    #[serde(default)]
    pub total: u64,
    /// Of which have a fix.
    #[serde(default)]
    pub fixable: u64,
    /// Counts per severity (`Critical`, `High`, ...).
    #[serde(default)]
    pub summary: BTreeMap<String, u64>,
}

/// Harbor's `SBOMOverview`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SbomOverview {
    /// When the generation started.
    #[serde(default)]
    pub start_time: String,
    /// When it ended.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end_time: String,
    /// `Pending`, `Running`, `Success`, `Error` or `Stopped`.
    #[serde(default)]
    pub scan_status: String,
    /// The SBOM accessory's digest, once stored.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sbom_digest: String,
    /// The report's id.
    #[serde(default)]
    pub report_id: String,
    /// Seconds it took.
    #[serde(default)]
    pub duration: i64,
    /// The scanner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner: Option<Scanner>,
}
