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
    /// 100 once finished, else 0; for an index, the share of its platforms' scans done.
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

/// Harbor's `Stats`: what the latest scan all queued and where it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScanAllStats {
    /// Scans the run queued.
    #[serde(default)]
    pub total: u64,
    /// Scans finished, whatever their outcome.
    #[serde(default)]
    pub completed: u64,
    /// Scans per status (`Pending`, `Running`, `Success`, `Error`, `Stopped`).
    #[serde(default)]
    pub metrics: BTreeMap<String, u64>,
    /// Whether the run or one of its scans is still going.
    #[serde(default)]
    pub ongoing: bool,
    /// `Manual` or `Schedule` (absent before any run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// The run's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
}
