//! The security hub's and the CVE export's records and their port, [`SecurityStore`]:
//! the findings of vulnerability reports normalised into rows (Harbor's
//! `vulnerability_record`), the hub's counts and filtered listing over the artifacts the
//! default scanner scanned, and CVE export executions with their CSV files.

use async_trait::async_trait;

use crate::doublestar::Pattern;
use crate::error::{Error, Result};
use crate::identity::Page;

/// One vulnerability of one package in one report, as the hub and the export read it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Finding {
    /// The vulnerability's id (a CVE when it has one).
    pub cve_id: String,
    /// The package.
    pub package: String,
    /// The installed version.
    pub version: String,
    /// The first fixed version; empty when none is known.
    pub fix_version: String,
    /// Harbor's severity name (`Critical`, `High`, `Medium`, `Low`, `Negligible`,
    /// `Unknown`, `None`).
    pub severity: String,
    /// The CVSS v3 base score (0.0 to 10.0), when known. Stored to one decimal.
    pub cvss_v3: Option<f64>,
    /// CWE ids, comma-separated (`CWE-79,CWE-89`).
    pub cwe_ids: String,
    /// What it is.
    pub description: String,
    /// Links to advisories.
    pub links: Vec<String>,
    /// The report item's `vendor_attributes` as JSON text; empty when it had none.
    pub vendor_attributes: String,
}

/// Harbor's order of severities (`pkg/securityhub`): Critical 5, High 4, Medium 3, Low 2,
/// None and Negligible 1, Unknown (and anything else) 0.
pub fn severity_rank(severity: &str) -> i64 {
    match severity {
        "Critical" => 5,
        "High" => 4,
        "Medium" => 3,
        "Low" => 2,
        "None" | "Negligible" => 1,
        _ => 0,
    }
}

/// Vulnerability counts over the artifacts the default scanner scanned (each artifact
/// row counts: a digest in two repositories counts twice, as in Harbor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecurityCounts {
    /// Critical findings.
    pub critical: u64,
    /// High findings.
    pub high: u64,
    /// Medium findings.
    pub medium: u64,
    /// Low findings.
    pub low: u64,
    /// Findings rated None or Negligible.
    pub none: u64,
    /// Findings of unknown severity.
    pub unknown: u64,
    /// Findings with a fix.
    pub fixable: u64,
    /// Artifacts with a successful report by the scanner.
    pub scanned: u64,
    /// Every artifact.
    pub artifacts: u64,
}

/// A CVE among the most dangerous found (by CVSS v3 score, then severity).
#[derive(Debug, Clone, PartialEq)]
pub struct DangerousCve {
    /// The CVE.
    pub cve_id: String,
    /// Its severity.
    pub severity: String,
    /// Its CVSS v3 score.
    pub cvss_v3: f64,
    /// What it is.
    pub description: String,
    /// The package it was found in.
    pub package: String,
    /// The package's version.
    pub version: String,
}

/// An artifact among the most dangerous (most critical, then high, medium, low findings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DangerousArtifact {
    /// Its project (0 when its repository has none).
    pub project_id: i64,
    /// Its repository's full name.
    pub repository_name: String,
    /// Its digest.
    pub digest: String,
    /// Critical findings.
    pub critical: u64,
    /// High findings.
    pub high: u64,
    /// Medium findings.
    pub medium: u64,
    /// Low findings.
    pub low: u64,
}

/// Filters of the hub's vulnerability listing (Harbor's `q` keys); all exact but the
/// score range.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VulnFilter {
    /// `cve_id`.
    pub cve_id: Option<String>,
    /// `severity`.
    pub severity: Option<String>,
    /// `cvss_score_v3=[min~max]`, both ends included; an open end is unbounded.
    pub cvss_v3: Option<(Option<f64>, Option<f64>)>,
    /// `project_id`.
    pub project_id: Option<i64>,
    /// `repository_name` (the full name).
    pub repository_name: Option<String>,
    /// `package`.
    pub package: Option<String>,
    /// `tag`: artifacts carrying this tag.
    pub tag: Option<String>,
    /// `digest`.
    pub digest: Option<String>,
}

/// One finding of one artifact in the hub's listing.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnerabilityRow {
    /// The artifact's project (0 when its repository has none).
    pub project_id: i64,
    /// Its repository's full name.
    pub repository_name: String,
    /// The artifact's id (its manifest row).
    pub artifact_id: i64,
    /// Its digest.
    pub digest: String,
    /// The finding.
    pub finding: Finding,
}

/// What a CVE export selects, as the request gave it (Harbor's `ScanDataExportRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportCriteria {
    /// The project ids (Harbor takes exactly one).
    pub projects: Vec<i64>,
    /// Label ids: artifacts carrying any of them; empty for all.
    pub labels: Vec<i64>,
    /// A doublestar pattern over repository names without the project (`{a,b/**}`);
    /// empty for all.
    pub repositories: String,
    /// A doublestar pattern over tags; empty for all (untagged artifacts included).
    pub tags: String,
    /// A doublestar pattern over CVE ids (`{CVE-2024-1,CVE-2024-2}`); empty for all.
    pub cve_ids: String,
}

/// A CVE export to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCveExport {
    /// Who asked.
    pub user_id: i64,
    /// Their name.
    pub user_name: String,
    /// The name they gave the job.
    pub job_name: String,
    /// What to export.
    pub criteria: ExportCriteria,
    /// When (ms).
    pub created_ms: i64,
}

/// A CVE export execution (Harbor's `ScanDataExportExecution`) and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CveExport {
    /// Its id.
    pub id: i64,
    /// Who asked.
    pub user_id: i64,
    /// Their name.
    pub user_name: String,
    /// The job's name.
    pub job_name: String,
    /// What it exports.
    pub criteria: ExportCriteria,
    /// The queue job running it.
    pub job_id: Option<i64>,
    /// `Running`, `Success`, `Error` or `Stopped`. A `Running` export whose job ended
    /// without saying so reads as that job's final status.
    pub status: String,
    /// Why it failed, or a note (`No vulnerabilities found or matched`).
    pub status_text: String,
    /// When it was asked for (ms).
    pub created_ms: i64,
    /// When it ended (ms), 0 while running.
    pub end_ms: i64,
    /// The CSV's `sha256:` digest, empty until written.
    pub file_digest: String,
    /// The CSV's size in bytes.
    pub file_size: u64,
    /// Data rows in the CSV (the header not counted).
    pub file_rows: u64,
    /// Whether the file is still stored (false once expired or never written).
    pub file_present: bool,
}

/// An artifact of a project, as the export selects among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportArtifact {
    /// Its manifest row.
    pub id: i64,
    /// Its repository's full name.
    pub repository: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Ids of the labels on it.
    pub labels: Vec<i64>,
    /// The manifest rows of the manifests it references (an index's platforms).
    pub children: Vec<i64>,
}

/// Where an export read stopped: the last row's artifact, report and position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportCursor {
    /// The artifact's manifest row.
    pub artifact_id: i64,
    /// The report id.
    pub report_id: String,
    /// The finding's position in the report.
    pub seq: i64,
}

/// One CSV row of an export (Harbor's `export.Data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// Where this row is, to continue after it.
    pub cursor: ExportCursor,
    /// `Repository`.
    pub repository: String,
    /// `Artifact Digest`.
    pub digest: String,
    /// `CVE`.
    pub cve_id: String,
    /// `Package`.
    pub package: String,
    /// `Current Version`.
    pub version: String,
    /// `Fixed in version`.
    pub fix_version: String,
    /// `Severity`.
    pub severity: String,
    /// `CWE Ids`.
    pub cwe_ids: String,
    /// `Additional Data` (the vendor attributes, JSON).
    pub vendor_attributes: String,
    /// `Scanner` (the registration's name).
    pub scanner: String,
}

/// Storage of the hub's queries and of CVE exports.
#[async_trait]
pub trait SecurityStore: Send + Sync {
    /// Counts over the successful reports of `registration_uuid` and the artifacts they
    /// belong to, in one query (plus one for the artifact total).
    async fn security_counts(&self, registration_uuid: &str) -> Result<SecurityCounts>;
    /// The `limit` most dangerous distinct (CVE, package, version) with a CVSS v3 score in
    /// the registration's reports of existing artifacts.
    async fn dangerous_cves(
        &self,
        registration_uuid: &str,
        limit: usize,
    ) -> Result<Vec<DangerousCve>>;
    /// The `limit` artifacts with the most critical, then high, medium, low findings.
    async fn dangerous_artifacts(
        &self,
        registration_uuid: &str,
        limit: usize,
    ) -> Result<Vec<DangerousArtifact>>;
    /// One page of the registration's findings in artifacts matching `filter`, highest
    /// CVSS v3 score first (unscored last), in one query.
    async fn vulnerabilities(
        &self,
        registration_uuid: &str,
        filter: &VulnFilter,
        page: Page,
    ) -> Result<Vec<VulnerabilityRow>>;
    /// How many rows [`SecurityStore::vulnerabilities`] has in all; with `cap`, `None`
    /// once there are more than `cap` (without counting them all).
    async fn count_vulnerabilities(
        &self,
        registration_uuid: &str,
        filter: &VulnFilter,
        cap: Option<u64>,
    ) -> Result<Option<u64>>;

    /// Records a new export, `Running`.
    async fn create_cve_export(&self, export: &NewCveExport) -> Result<CveExport>;
    /// Notes the job that runs an export.
    async fn set_cve_export_job(&self, id: i64, job_id: i64) -> Result<()>;
    /// One export.
    async fn cve_export(&self, id: i64) -> Result<Option<CveExport>>;
    /// The exports `user_name` asked for, newest first.
    async fn cve_exports_of(&self, user_name: &str) -> Result<Vec<CveExport>>;
    /// The artifacts of a project with their tags, labels and children, in a few queries.
    async fn export_artifacts(&self, project_id: i64) -> Result<Vec<ExportArtifact>>;
    /// Up to `limit` export rows of these artifacts' successful reports (any scanner),
    /// in (artifact, report, position) order, after `after`.
    async fn export_rows(
        &self,
        artifact_ids: &[i64],
        after: Option<&ExportCursor>,
        limit: usize,
    ) -> Result<Vec<ExportRow>>;
    /// Drops whatever an earlier attempt of an export wrote.
    async fn reset_cve_export_file(&self, id: i64) -> Result<()>;
    /// Stores the `seq`th piece (from 0) of an export's CSV.
    async fn put_cve_export_chunk(&self, id: i64, seq: i64, data: &[u8]) -> Result<()>;
    /// Ends an export: its status and note, and the file's digest, size and rows when
    /// one was written (`file_size` 0: none). False if the export is gone.
    async fn finish_cve_export(
        &self,
        id: i64,
        status: &str,
        status_text: &str,
        file: Option<(&str, u64, u64)>,
    ) -> Result<bool>;
    /// The `seq`th piece of an export's CSV, if stored.
    async fn cve_export_chunk(&self, id: i64, seq: i64) -> Result<Option<Vec<u8>>>;
    /// Deletes an export and its file. False if it did not exist.
    async fn delete_cve_export(&self, id: i64) -> Result<bool>;
    /// Deletes the files of exports that ended before `files_before_ms` (the export is
    /// kept, without its file) and the exports created before `exports_before_ms`;
    /// returns how many files and exports went.
    async fn purge_cve_exports(
        &self,
        files_before_ms: i64,
        exports_before_ms: i64,
    ) -> Result<(u64, u64)>;
}

impl ExportCriteria {
    /// Checks Harbor's rules for a request: exactly one project, and patterns without
    /// spaces that compile.
    pub fn validate(&self) -> Result<()> {
        if self.projects.len() != 1 {
            return Err(Error::Invalid(format!(
                "only support export single project, invalid value: {:?}",
                self.projects
            )));
        }
        for (what, pattern) in [
            ("repositories", &self.repositories),
            ("tags", &self.tags),
            ("cveIds", &self.cve_ids),
        ] {
            if pattern.contains(' ') {
                return Err(Error::Invalid(format!(
                    "invalid criteria value, please remove additional spaces for input: {pattern}"
                )));
            }
            if !pattern.is_empty() {
                Pattern::new(pattern).map_err(|e| {
                    Error::Invalid(format!("invalid {what} pattern {pattern:?}: {e}"))
                })?;
            }
        }
        Ok(())
    }

    /// Whether a CVE id is selected.
    pub fn cve_matcher(&self) -> Result<impl Fn(&str) -> bool + use<>> {
        let pattern = compile(&self.cve_ids)?;
        Ok(move |cve: &str| pattern.as_ref().is_none_or(|p| p.matches(cve)))
    }
}

fn compile(pattern: &str) -> Result<Option<Pattern>> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Pattern::new(pattern)
        .map(Some)
        .map_err(|e| Error::Invalid(format!("invalid pattern {pattern:?}: {e}")))
}

/// The artifacts an export covers, as Harbor selects them (`pkg/scan/export`): those of
/// repositories whose name (without the project) matches `repositories`; an index's
/// platforms count as artifacts carrying the index's tags and labels; then those with a
/// tag matching `tags` (untagged artifacts only without a tag filter), then those with
/// any of `labels`. Manifest row ids, ascending, once each.
pub fn select_artifacts(c: &ExportCriteria, artifacts: &[ExportArtifact]) -> Result<Vec<i64>> {
    let repositories = compile(&c.repositories)?;
    let tags = compile(&c.tags)?;
    let mut out = Vec::new();
    for a in artifacts {
        let name = a.repository.split_once('/').map_or("", |(_, rest)| rest);
        if repositories.as_ref().is_some_and(|p| !p.matches(name)) {
            continue;
        }
        let tagged = tags
            .as_ref()
            .is_none_or(|p| a.tags.iter().any(|t| p.matches(t)));
        let labelled = c.labels.is_empty() || a.labels.iter().any(|l| c.labels.contains(l));
        if tagged && labelled {
            out.push(a.id);
            out.extend(&a.children);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(id: i64, repository: &str, tags: &[&str], labels: &[i64]) -> ExportArtifact {
        ExportArtifact {
            id,
            repository: repository.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            labels: labels.to_vec(),
            children: Vec::new(),
        }
    }

    fn criteria(repositories: &str, tags: &str, labels: &[i64]) -> ExportCriteria {
        ExportCriteria {
            projects: vec![1],
            labels: labels.to_vec(),
            repositories: repositories.into(),
            tags: tags.into(),
            cve_ids: String::new(),
        }
    }

    #[test]
    fn selects_by_repository_tag_and_label_with_an_indexs_platforms() {
        let mut index = artifact(3, "team/multi", &["v2"], &[9]);
        index.children = vec![4];
        let all = vec![
            artifact(1, "team/app", &["1.0", "latest"], &[]),
            artifact(2, "team/tools/cli", &[], &[8]),
            index,
            artifact(4, "team/multi", &[], &[]),
        ];
        let pick =
            |r: &str, t: &str, l: &[i64]| select_artifacts(&criteria(r, t, l), &all).unwrap();
        assert_eq!(pick("", "", &[]), [1, 2, 3, 4]);
        assert_eq!(pick("app", "", &[]), [1]);
        assert_eq!(pick("{app,tools/**}", "", &[]), [1, 2]);
        assert_eq!(
            pick("tools/*", "", &[]),
            [2],
            "the project is not part of the name"
        );
        // A tag filter leaves untagged artifacts out, but a platform carries its index's tags.
        assert_eq!(pick("", "v*", &[]), [3, 4]);
        assert_eq!(pick("", "{1.0,v2}", &[]), [1, 3, 4]);
        assert_eq!(pick("", "", &[9]), [3, 4]);
        assert_eq!(pick("", "", &[8, 9]), [2, 3, 4]);
        assert!(pick("nope", "", &[]).is_empty());
        assert_eq!(pick("app", "latest", &[7]), Vec::<i64>::new());
    }

    #[test]
    fn requests_follow_harbors_rules() {
        assert!(criteria("", "", &[]).validate().is_ok());
        let mut two = criteria("", "", &[]);
        two.projects = vec![1, 2];
        assert!(two.validate().is_err());
        two.projects = vec![];
        assert!(two.validate().is_err());
        assert!(criteria("a b", "", &[]).validate().is_err());
        assert!(criteria("", "{v1, v2}", &[]).validate().is_err());
        assert!(criteria("{unbalanced", "", &[]).validate().is_err());
        let mut cves = criteria("", "", &[]);
        cves.cve_ids = "{CVE-2024-1,CVE-2023-*}".into();
        let m = cves.cve_matcher().unwrap();
        assert!(m("CVE-2024-1") && m("CVE-2023-99") && !m("CVE-2024-10"));
        cves.cve_ids = String::new();
        assert!(cves.cve_matcher().unwrap()("anything"));
    }

    #[test]
    fn severity_ranks_follow_harbor() {
        let order: Vec<i64> = [
            "Critical", "High", "Medium", "Low", "None", "Unknown", "Bogus",
        ]
        .iter()
        .map(|s| severity_rank(s))
        .collect();
        assert_eq!(order, [5, 4, 3, 2, 1, 0, 0]);
    }
}
