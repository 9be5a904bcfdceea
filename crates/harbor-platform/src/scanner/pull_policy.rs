//! Harbor's "prevent vulnerable images from running" on manifest pulls: with a project's
//! `prevent_vul` on, an image whose last scan by the project's scanner found a
//! vulnerability at or above `severity` (allowlisted ids excepted) is refused with
//! `412 PROJECTPOLICYVIOLATION` and Harbor's message, as is an image that was not scanned
//! or whose scan did not succeed. System administrators and scan robots (`scanner-pull`)
//! pull anyway; indexes and non-image artifacts pass. The rules and messages are
//! `harbor_core::scan::policy`; this loads what they judge.

use std::sync::Arc;

use harbor_api_model::scanner_adapter as spec;
use harbor_auth::Principal;
use harbor_auth::principal::robot_grants;
use harbor_core::identity::Project;
use harbor_core::model::{StoredManifest, now_ms};
use harbor_core::ports::MetadataStore;
use harbor_core::rbac::{Action, Resource};
use harbor_core::scan::ScanReportRecord;
use harbor_core::scan::policy::{self, PreventVul};
use harbor_core::{Error, Result};
use serde::Deserialize;

use crate::scanner::allowlists::CveAllowlists;
use crate::scanner::registrations::Scanners;

/// The report types judged, in Harbor's order of preference.
const REPORTS: [&str; 2] = [spec::VULN_REPORT_HARBOR, spec::VULN_REPORT_V11];

/// Only what the judgement reads of a stored report.
#[derive(Deserialize)]
struct Findings {
    #[serde(default)]
    vulnerabilities: Vec<Finding>,
}

#[derive(Deserialize)]
struct Finding {
    id: String,
    #[serde(default)]
    severity: String,
}

/// The pull policy.
#[derive(Clone)]
pub struct PullPolicy {
    store: Arc<dyn MetadataStore>,
    scanners: Scanners,
    allowlists: CveAllowlists,
}

impl PullPolicy {
    /// The policy over `store`, with the project scanners of `scanners` and the lists of
    /// `allowlists`.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        scanners: Scanners,
        allowlists: CveAllowlists,
    ) -> Self {
        Self {
            store,
            scanners,
            allowlists,
        }
    }

    /// Whether `by` may pull `manifest` (asked for as `reference`) from `project` under
    /// the project's vulnerability policy: [`Error::PolicyViolation`] with Harbor's
    /// message if not. Reads nothing unless the project has `prevent_vul` on; then the
    /// project's scanner, the report's summary and, only when an allowlist may change
    /// the verdict, the allowlist and the report itself.
    pub async fn check_pull(
        &self,
        by: &Principal,
        project: &Project,
        reference: &str,
        manifest: &StoredManifest,
    ) -> Result<()> {
        let Some(policy) = PreventVul::of(project) else {
            return Ok(());
        };
        if exempt(by, project)
            || !policy::judged(&manifest.media_type, &manifest.content, reference)
        {
            return Ok(());
        }
        // Without an enabled scanner nothing is scannable, and Harbor lets it through.
        let Some(registration) = self
            .scanners
            .for_project(project.id)
            .await?
            .filter(|r| !r.settings.disabled)
        else {
            return Ok(());
        };
        let reports = self
            .store
            .scan_reports_of(&[manifest.digest.to_string()], false)
            .await?;
        let Some(report) = pick(reports, &registration.uuid) else {
            return Err(policy.unscanned());
        };
        judge(&policy, &report)?;
        if report.total == 0 || !policy.reached_by(&report.severity) {
            return Ok(());
        }
        let allowlist = self.allowlists.effective(project).await?;
        let allowed = allowlist.active_items(now_ms() / 1000);
        if allowed.is_empty() {
            return Err(policy.vulnerable(report.total));
        }
        // The allowlist may change the verdict: read the findings.
        let Some(full) = self.store.scan_report(&report.id).await? else {
            return Err(policy.unscanned());
        };
        judge(&policy, &full)?;
        let findings: Findings =
            harbor_scanner::codec::decode(&full.report).map_err(Error::internal)?;
        policy.judge(
            findings
                .vulnerabilities
                .iter()
                .map(|v| (v.id.as_str(), v.severity.as_str())),
            &allowed,
        )
    }
}

/// System administrators, and robots holding `scanner-pull` in the project (the robot of
/// a scan), are not held by the policy.
fn exempt(by: &Principal, project: &Project) -> bool {
    match by {
        Principal::Robot { robot, .. } => robot_grants(&robot.permissions, project)
            .contains(&(Resource::Repository, Action::ScannerPull)),
        other => other.is_sysadmin(),
    }
}

/// The vulnerability report of `registration` among an artifact's reports, in Harbor's
/// order of report types.
fn pick(reports: Vec<ScanReportRecord>, registration: &str) -> Option<ScanReportRecord> {
    let mut ours: Vec<ScanReportRecord> = reports
        .into_iter()
        .filter(|r| r.registration_uuid == registration && REPORTS.contains(&r.mime_type.as_str()))
        .collect();
    ours.sort_by_key(|r| REPORTS.iter().position(|m| *m == r.mime_type));
    ours.into_iter().next()
}

/// A report that is not a success refuses the pull.
fn judge(policy: &PreventVul, report: &ScanReportRecord) -> Result<()> {
    if report.status == "Success" {
        Ok(())
    } else {
        Err(policy.not_scanned_successfully(&report.status))
    }
}
