//! Vulnerability scanning's records and the [`ScanStore`] port: the imported vulnerability
//! database (advisories keyed by ecosystem and package, in generations so an import is
//! all or nothing) and the cache of layer inventories. The payloads are opaque bytes
//! (`harbor-scanner` encodes them), so stores need no knowledge of OSV.

pub mod allowlist;
pub mod policy;
pub mod registrations;
pub mod security;

use async_trait::async_trait;

use crate::digest::Digest;
use crate::error::Result;

/// One stored advisory: where it applies and its encoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryRow {
    /// The OSV ecosystem, normalised (`Debian:12`, `crates.io`).
    pub ecosystem: String,
    /// The package name in it.
    pub package: String,
    /// The OSV id.
    pub id: String,
    /// The encoded advisory.
    pub data: Vec<u8>,
}

/// The current vulnerability database: what was imported and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnDbInfo {
    /// The import's generation; advisories of other generations are invisible.
    pub generation: i64,
    /// When the import finished (ms since the epoch).
    pub imported_at_ms: i64,
    /// The newest `modified` time among its records (RFC 3339): the data's version.
    pub newest: String,
    /// OSV records read.
    pub records: u64,
    /// Advisories stored (one per affected package of a record).
    pub advisories: u64,
    /// Where it was imported from (a file name), for the operator.
    pub source: String,
}

/// A scan request accepted by the built-in scanner adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRequestRecord {
    /// Its identifier (returned to the client).
    pub id: String,
    /// The request without its credential, JSON.
    pub request: String,
    /// The registry credential, sealed; empty when none.
    pub sealed_authorization: Vec<u8>,
    /// Where it is.
    pub state: ScanRequestState,
    /// Why it failed.
    pub error: String,
    /// The encoded outcome once done.
    pub result: Vec<u8>,
    /// When it was accepted (ms).
    pub created_ms: i64,
    /// When it last changed (ms).
    pub updated_ms: i64,
}

/// The life of a scan request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanRequestState {
    /// Accepted, waiting for a worker.
    Queued,
    /// A worker is scanning.
    Running,
    /// The report is ready.
    Done,
    /// The scan failed; the error says why.
    Failed,
}

impl ScanRequestState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One scan of one artifact by one scanner, in one report type (Harbor's scan report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReportRecord {
    /// Its identifier (a UUID), Harbor's `report_id`.
    pub id: String,
    /// The artifact's manifest digest.
    pub digest: String,
    /// The scanner registration that made it.
    pub registration_uuid: String,
    /// The report type (`application/vnd.security.vulnerability.report; version=1.1`,
    /// or the SBOM report type).
    pub mime_type: String,
    /// Harbor's status: `Pending`, `Running`, `Success`, `Error`, `Stopped`.
    pub status: String,
    /// The highest severity found (Harbor's names), empty until done.
    pub severity: String,
    /// Vulnerabilities found.
    pub total: u64,
    /// Of which have a fix.
    pub fixable: u64,
    /// Counts per severity, a JSON object.
    pub summary: String,
    /// The report as the adapter returned it, encoded; empty until done.
    pub report: Vec<u8>,
    /// What the scan job did, for `…/scan/{report_id}/log`.
    pub log: String,
    /// The job running it.
    pub job_id: Option<i64>,
    /// When it started (ms).
    pub start_ms: i64,
    /// When it ended (ms), 0 while running.
    pub end_ms: i64,
}

impl ScanReportRecord {
    /// Whether the scan is still going.
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "Pending" | "Running")
    }
}

/// Storage of the vulnerability database and of per-layer inventories.
#[async_trait]
pub trait ScanStore: Send + Sync {
    /// Starts an import and returns its generation. Rows of imports abandoned more than an
    /// hour ago (a crashed server) are removed.
    async fn begin_vuln_import(&self, source: &str) -> Result<i64>;
    /// Adds advisories to an import in progress (a repeated key is ignored).
    async fn insert_advisories(&self, generation: i64, rows: &[AdvisoryRow]) -> Result<()>;
    /// Makes the import current and deletes the advisories of every older generation.
    async fn commit_vuln_import(&self, info: &VulnDbInfo) -> Result<()>;
    /// Deletes a failed import's advisories.
    async fn abort_vuln_import(&self, generation: i64) -> Result<()>;
    /// The current database, if one was imported.
    async fn vuln_db_info(&self) -> Result<Option<VulnDbInfo>>;
    /// The current generation's advisories for these `(ecosystem, package)` keys, in
    /// as few queries as the store can.
    async fn advisories(&self, keys: &[(String, String)]) -> Result<Vec<AdvisoryRow>>;
    /// A layer's cached inventory, computed by scanner `version`.
    async fn layer_inventory(&self, digest: &Digest, version: &str) -> Result<Option<Vec<u8>>>;
    /// Caches a layer's inventory (an existing entry is kept).
    async fn put_layer_inventory(&self, digest: &Digest, version: &str, data: &[u8]) -> Result<()>;
    /// Records a new scan request ([`crate::Error::Conflict`] if the id exists).
    async fn create_scan_request(&self, record: &ScanRequestRecord) -> Result<()>;
    /// One scan request.
    async fn scan_request(&self, id: &str) -> Result<Option<ScanRequestRecord>>;
    /// Moves a request to `state` with its error and result; a final state also clears
    /// the sealed credential. False if the request is gone.
    async fn update_scan_request(
        &self,
        id: &str,
        state: ScanRequestState,
        error: &str,
        result: &[u8],
    ) -> Result<bool>;
    /// Deletes requests accepted before `before_ms`; returns how many.
    async fn delete_scan_requests_before(&self, before_ms: i64) -> Result<u64>;
    /// Records a new scan, replacing the last report of the same digest, registration and
    /// type; [`crate::Error::Conflict`] while that one is still running (unless it was last
    /// updated before `stale_before_ms`: a scan whose worker died).
    async fn start_scan_report(
        &self,
        record: &ScanReportRecord,
        stale_before_ms: i64,
    ) -> Result<()>;
    /// Stores a report's progress or outcome (every field but the identity). False if the
    /// report is gone.
    async fn update_scan_report(&self, record: &ScanReportRecord) -> Result<bool>;
    /// Stores a finished report (as [`ScanStore::update_scan_report`]) and replaces its
    /// findings with `findings`, in one transaction. False if the report is gone.
    async fn finish_scan_report(
        &self,
        record: &ScanReportRecord,
        findings: &[security::Finding],
    ) -> Result<bool>;
    /// One report.
    async fn scan_report(&self, id: &str) -> Result<Option<ScanReportRecord>>;
    /// The reports of these digests (for listings: one query per few hundred digests).
    /// `with_report` false leaves `report` empty.
    async fn scan_reports_of(
        &self,
        digests: &[String],
        with_report: bool,
    ) -> Result<Vec<ScanReportRecord>>;
    /// The reports started between `from_ms` and `to_ms` (inclusive), oldest first,
    /// without report data: the scans one scan-all run queued.
    async fn scan_reports_between(&self, from_ms: i64, to_ms: i64)
    -> Result<Vec<ScanReportRecord>>;
}
