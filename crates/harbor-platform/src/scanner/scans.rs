//! Scanning artifacts with a registered scanner, as Harbor does: a report row per
//! artifact, scanner and report type, an `IMAGE_SCAN` job on the durable queue that gives
//! the adapter a short-lived robot to pull with, sends the scan request, polls the report
//! and stores it; overviews for listings, the stored reports and logs for the API.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use harbor_api_model::scanner_adapter::{
    self as spec, EnabledCapability, RegistryAccess, SbomParameters, ScanArtifact, ScanRequest,
    VulnerabilityReport,
};
use harbor_auth::{Accounts, Principal};
use harbor_core::events::{DomainEvent, NewEvent, SYSTEM};
use harbor_core::jobs::{JobContext, JobError, JobHandler, JobStore, NewJob, Trigger};
use harbor_core::model::now_ms;
use harbor_core::ports::MetadataStore;
use harbor_core::rbac::{Action, Resource};
use harbor_core::registry::ArtifactOptions;
use harbor_core::scan::ScanReportRecord;
use harbor_core::scan::registrations::ScannerRegistration;
use harbor_core::{Digest, Error, Registry, RepositoryName, Result};
use harbor_remote::scanner_adapter::{AdapterClient, ReportPoll};
use serde::{Deserialize, Serialize};

use crate::access::{self, ProjectRef};
use crate::remote::Probe;
use crate::robots::Robots;
use crate::scanner::builtin::LocalRegistry;
use crate::scanner::registrations::{AdapterMetadata, Scanners};
use crate::scanner::sbom_accessory;
use crate::system_jobs::Waker;

/// The job kind of an artifact scan.
pub const JOB_KIND: &str = "IMAGE_SCAN";
/// A report untouched for this long while "running" belongs to a dead worker.
const STALE_MS: i64 = 3_600_000;
/// The longest a scan may take before the job gives up.
const SCAN_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Who pushes SBOM accessories (in events and the audit log).
const SBOM_ACTOR: &str = "harbor-scanner";
/// The first report poll, as Harbor waits.
const FIRST_POLL: Duration = Duration::from_secs(2);

/// What to scan for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanType {
    /// Vulnerabilities.
    Vulnerability,
    /// A software bill of materials.
    Sbom,
}

impl ScanType {
    /// Harbor's `scan_type`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "" | "vulnerability" => Ok(Self::Vulnerability),
            "sbom" => Ok(Self::Sbom),
            other => Err(Error::Invalid(format!(
                "unknown scan_type {other:?}: vulnerability or sbom"
            ))),
        }
    }

    fn resource(self) -> Resource {
        match self {
            Self::Vulnerability => Resource::Scan,
            Self::Sbom => Resource::Sbom,
        }
    }

    fn capability(self) -> &'static str {
        match self {
            Self::Vulnerability => "vulnerability",
            Self::Sbom => "sbom",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct JobParams {
    report_id: String,
    registry_url: String,
    project: String,
    repository: String,
    digest: String,
    tag: Option<String>,
    manifest_media_type: String,
    /// The manifest's size (the SBOM accessory's `subject` names it).
    #[serde(default)]
    size: u64,
    registration_uuid: String,
    scan_type: ScanType,
}

/// A report's summary, as listings show it (Harbor's `NativeReportSummary`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSummary {
    /// The stored report.
    pub record: ScanReportRecord,
    /// The scanner that made it.
    pub scanner: Option<ScannerRegistration>,
    /// For an index: the share of its platforms' scans that ended (0 to 100).
    pub percent: Option<u64>,
}

/// Harbor's severity ranks: `None` and `Unknown` lowest, an unknown word above all.
fn severity_rank(s: &str) -> u8 {
    match s {
        "" | "None" | "Unknown" => 0,
        "Negligible" => 1,
        "Low" => 2,
        "Medium" => 3,
        "High" => 4,
        "Critical" => 5,
        _ => 99,
    }
}

/// An index's summaries from its platforms' (Harbor's merged overview): per report
/// type, counts summed, the highest severity, the earliest start and latest end,
/// `Running` while any platform's scan is going, else `Error` or `Stopped` if one ended
/// so, else `Success`; the share of platforms done as `percent`.
pub fn merge_summaries(children: Vec<ReportSummary>) -> Vec<ReportSummary> {
    let mut by_type: BTreeMap<String, Vec<ReportSummary>> = BTreeMap::new();
    for c in children {
        by_type
            .entry(c.record.mime_type.clone())
            .or_default()
            .push(c);
    }
    by_type
        .into_values()
        .filter_map(|group| {
            let first = group.first()?.clone();
            let mut r = first.record.clone();
            r.id = String::new();
            r.log.clear();
            r.report.clear();
            let done = group.iter().filter(|g| !g.record.is_running()).count() as u64;
            let statuses: Vec<&str> = group.iter().map(|g| g.record.status.as_str()).collect();
            r.status = if done < group.len() as u64 {
                "Running"
            } else if statuses.contains(&"Error") {
                "Error"
            } else if statuses.contains(&"Stopped") {
                "Stopped"
            } else {
                "Success"
            }
            .into();
            r.start_ms = group.iter().map(|g| g.record.start_ms).min().unwrap_or(0);
            r.end_ms = if done < group.len() as u64 {
                0
            } else {
                group.iter().map(|g| g.record.end_ms).max().unwrap_or(0)
            };
            r.total = group.iter().map(|g| g.record.total).sum();
            r.fixable = group.iter().map(|g| g.record.fixable).sum();
            r.severity = group
                .iter()
                .map(|g| g.record.severity.as_str())
                .filter(|s| !s.is_empty())
                .max_by_key(|s| severity_rank(s))
                .unwrap_or_default()
                .to_owned();
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for g in &group {
                let c: BTreeMap<String, u64> =
                    serde_json::from_str(&g.record.summary).unwrap_or_default();
                for (k, n) in c {
                    *counts.entry(k).or_default() += n;
                }
            }
            r.summary = serde_json::to_string(&counts).unwrap_or_else(|_| "{}".into());
            Some(ReportSummary {
                record: r,
                scanner: first.scanner,
                percent: Some(done * 100 / group.len().max(1) as u64),
            })
        })
        .collect()
}

impl ReportSummary {
    /// The digest of the SBOM accessory an SBOM scan stored.
    pub fn sbom_digest(&self) -> Option<String> {
        let summary: serde_json::Value = serde_json::from_str(&self.record.summary).ok()?;
        Some(summary.get("sbom_digest")?.as_str()?.to_owned())
    }
}

/// Scans of artifacts.
#[derive(Clone)]
pub struct Scans {
    registry: Registry,
    accounts: Arc<Accounts>,
    store: Arc<dyn MetadataStore>,
    jobs: Arc<dyn JobStore>,
    robots: Robots,
    scanners: Scanners,
    probe: Probe,
    local: LocalRegistry,
    wake: Option<Waker>,
}

impl Scans {
    /// Scans of `registry`'s artifacts, run on `jobs`.
    pub fn new(
        registry: Registry,
        accounts: Arc<Accounts>,
        jobs: Arc<dyn JobStore>,
        robots: Robots,
        scanners: Scanners,
    ) -> Self {
        Self {
            store: registry.metadata().clone(),
            registry,
            accounts,
            jobs,
            robots,
            scanners,
            probe: Probe::default(),
            local: LocalRegistry::default(),
            wake: None,
        }
    }

    /// Knows this server's own address through `local`: where adapters pull from when
    /// a scan starts without a request (on push, scan all), and an adapter there is
    /// called whatever the address policy says.
    pub fn with_local(mut self, local: LocalRegistry) -> Self {
        self.local = local;
        self
    }

    /// Uses `scanners` (with their keys) for registrations and their credentials.
    pub fn with_scanners(mut self, scanners: Scanners) -> Self {
        self.scanners = scanners;
        self
    }

    /// Calls adapters with `probe`'s options (address policy, time-outs).
    pub fn with_probe(mut self, probe: Probe) -> Self {
        self.probe = probe;
        self
    }

    /// Wakes this process's workers when a scan is queued.
    pub fn with_waker(mut self, wake: Waker) -> Self {
        self.wake = Some(wake);
        self
    }

    /// The subscriber that scans pushed images (`auto_scan`, `auto_sbom_generation`).
    pub fn on_push(&self) -> std::sync::Arc<super::on_push::ScanOnPush> {
        std::sync::Arc::new(super::on_push::ScanOnPush::new(self.clone()))
    }

    /// The job handler to register under [`JOB_KIND`].
    pub fn job_handler(&self) -> Arc<ScanJob> {
        Arc::new(ScanJob(self.clone()))
    }

    /// The registration a project scans with (its own choice, else the default), if it
    /// is enabled.
    async fn registration_of(&self, project_id: i64) -> Result<Option<ScannerRegistration>> {
        Ok(self
            .scanners
            .for_project(project_id)
            .await?
            .filter(|r| !r.settings.disabled))
    }

    /// A client of a registration's adapter.
    fn adapter_client(&self, r: &ScannerRegistration) -> Result<AdapterClient> {
        let auth = self.scanners.authorization(r)?;
        AdapterClient::new(
            &r.settings.url,
            auth,
            r.settings.skip_cert_verify,
            self.local.probe_for(&self.probe, &r.settings.url).options(),
        )
        .map_err(|e| Error::Invalid(format!("scanner {}: {e}", r.settings.name)))
    }

    /// Starts a scan of `repository@reference` in `project` (`scan:create`, or
    /// `sbom:create` for an SBOM), which the adapter pulls from `registry_url` (this
    /// registry's URL as clients reach it); an index is scanned platform by platform.
    /// [`Error::Precondition`] without an enabled scanner, [`Error::Unsupported`] for
    /// what the scanner cannot scan, [`Error::Conflict`] while the same scan runs.
    /// Returns the report ids.
    pub async fn scan(
        &self,
        by: &Principal,
        project: &ProjectRef,
        repository: &str,
        reference: &str,
        kind: ScanType,
        registry_url: &str,
    ) -> Result<Vec<String>> {
        let options = ArtifactOptions {
            with_tags: true,
            ..Default::default()
        };
        let (project, artifact) = self
            .artifact(
                by,
                project,
                repository,
                reference,
                options,
                (kind.resource(), Action::Create),
            )
            .await?;
        self.queue(&project, &artifact, kind, registry_url, Trigger::Manual)
            .await
    }

    /// Scans an artifact that was pushed, as the project's `auto_scan` /
    /// `auto_sbom_generation` say (no principal: the project's setting is the
    /// permission). Nothing happens for artifacts that are not images, without an
    /// enabled scanner, before the server knows its own address, or while the same scan
    /// runs. Returns the report ids queued.
    pub async fn scan_pushed(&self, repository: &str, digest: &str) -> Result<Vec<String>> {
        let name = RepositoryName::parse(repository)?;
        let Some(project) = self
            .accounts
            .store()
            .project_by_name(name.first_component())
            .await?
        else {
            return Ok(Vec::new());
        };
        let on = |key: &str| project.metadata.get(key).is_some_and(|v| v == "true");
        let kinds: Vec<ScanType> = [
            (on("auto_scan"), ScanType::Vulnerability),
            (on("auto_sbom_generation"), ScanType::Sbom),
        ]
        .into_iter()
        .filter_map(|(wanted, kind)| wanted.then_some(kind))
        .collect();
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let Some(local) = self.local.get() else {
            tracing::warn!(
                repository,
                digest,
                "not scanned on push: the server does not know its own address yet"
            );
            return Ok(Vec::new());
        };
        let artifact = match self
            .registry
            .artifact(
                &name,
                digest,
                ArtifactOptions {
                    with_tags: true,
                    ..Default::default()
                },
            )
            .await
        {
            Ok(a) => a,
            Err(Error::NotFound(_) | Error::ManifestUnknown(_) | Error::NameUnknown(_)) => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        if artifact.kind != "IMAGE" || !artifact.children.is_empty() {
            // Charts, signatures, SBOMs are not scanned on push; each platform of an
            // index was scanned when it was pushed, before the index.
            return Ok(Vec::new());
        }
        let mut ids = Vec::new();
        for kind in kinds {
            match self
                .queue(&project, &artifact, kind, &local.url, Trigger::Event)
                .await
            {
                Ok(mut queued) => ids.append(&mut queued),
                Err(Error::Conflict(_) | Error::Unsupported(_) | Error::Precondition(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ids)
    }

    /// Queues scans of an artifact (each platform of an index).
    async fn queue(
        &self,
        project: &harbor_core::identity::Project,
        artifact: &harbor_core::registry::Artifact,
        kind: ScanType,
        registry_url: &str,
        trigger: Trigger,
    ) -> Result<Vec<String>> {
        let media_type = &artifact.record.manifest_media_type;
        if spec::CONSUMES.contains(&harbor_core::manifest::essence(media_type)) {
            return Ok(vec![
                self.queue_one(project, artifact, kind, registry_url, trigger)
                    .await?,
            ]);
        }
        if artifact.children.is_empty() {
            return Err(Error::Unsupported(format!(
                "cannot scan an artifact of type {media_type}: only image manifests and indexes of them are scanned"
            )));
        }
        let name = RepositoryName::parse(&artifact.record.repository_name)?;
        let mut ids = Vec::new();
        let mut last_error = None;
        for child in &artifact.children {
            let child = match self
                .registry
                .artifact(&name, child.digest.as_str(), ArtifactOptions::default())
                .await
            {
                Ok(c) => c,
                // A platform not pushed here (a partial copy) is not scanned.
                Err(Error::NotFound(_) | Error::ManifestUnknown(_)) => continue,
                Err(e) => return Err(e),
            };
            if !spec::CONSUMES.contains(&harbor_core::manifest::essence(
                &child.record.manifest_media_type,
            )) {
                continue;
            }
            match self
                .queue_one(project, &child, kind, registry_url, trigger)
                .await
            {
                Ok(id) => ids.push(id),
                Err(e @ Error::Conflict(_)) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        match (ids.is_empty(), last_error) {
            (true, Some(e)) => Err(e),
            (true, None) => Err(Error::Unsupported(
                "the index lists no image manifest stored here to scan".into(),
            )),
            _ => Ok(ids),
        }
    }

    /// Queues the scan of one image manifest.
    async fn queue_one(
        &self,
        project: &harbor_core::identity::Project,
        artifact: &harbor_core::registry::Artifact,
        kind: ScanType,
        registry_url: &str,
        trigger: Trigger,
    ) -> Result<String> {
        let media_type = artifact.record.manifest_media_type.clone();
        let registration = self.registration_of(project.id).await?.ok_or_else(|| {
            Error::Precondition("no scanner is enabled for this project: register one under /scanners and make it the default".into())
        })?;
        let metadata = self
            .scanners
            .adapter_metadata(&registration)
            .await
            .map_err(|e| Error::Precondition(e.to_string()))?;
        let mime = report_mime(&metadata, kind).ok_or_else(|| {
            Error::Unsupported(format!(
                "the scanner {} has no {} capability",
                registration.settings.name,
                kind.capability()
            ))
        })?;
        // An adapter on this server pulls from the server's own address, whatever
        // address the request that started the scan came in on.
        let registry_url = match self.local.get() {
            Some(local) if self.local.is_local(&registration.settings.url) => local.url,
            _ => registry_url.to_owned(),
        };
        let now = now_ms();
        let mut record = ScanReportRecord {
            id: uuid::Uuid::new_v4().to_string(),
            digest: artifact.record.digest.to_string(),
            registration_uuid: registration.uuid.clone(),
            mime_type: mime.to_string(),
            status: "Pending".into(),
            severity: String::new(),
            total: 0,
            fixable: 0,
            summary: "{}".into(),
            report: Vec::new(),
            log: String::new(),
            job_id: None,
            start_ms: now,
            end_ms: 0,
        };
        self.store
            .start_scan_report(&record, now - STALE_MS)
            .await?;
        let params = JobParams {
            report_id: record.id.clone(),
            registry_url,
            project: project.name.clone(),
            repository: artifact.record.repository_name.clone(),
            digest: record.digest.clone(),
            tag: artifact.tags.first().map(|t| t.name.clone()),
            manifest_media_type: media_type,
            size: artifact.record.size,
            registration_uuid: registration.uuid.clone(),
            scan_type: kind,
        };
        let job = self
            .jobs
            .enqueue(&NewJob {
                kind: JOB_KIND.into(),
                params: serde_json::to_string(&params).map_err(Error::internal)?,
                trigger,
                max_attempts: 2,
                run_after_ms: 0,
                schedule_id: None,
            })
            .await?;
        record.job_id = Some(job.id);
        self.store.update_scan_report(&record).await?;
        if let Some(wake) = &self.wake {
            wake();
        }
        Ok(record.id)
    }

    /// The artifact `repository@reference` of `project`, once `by` may do `needs` there.
    async fn artifact(
        &self,
        by: &Principal,
        project: &ProjectRef,
        repository: &str,
        reference: &str,
        options: ArtifactOptions,
        needs: (Resource, Action),
    ) -> Result<(
        harbor_core::identity::Project,
        harbor_core::registry::Artifact,
    )> {
        let (project, _) =
            access::project_for(&self.accounts, by, project, needs.0, needs.1).await?;
        let name = RepositoryName::parse(&format!("{}/{repository}", project.name))?;
        let artifact = self.registry.artifact(&name, reference, options).await?;
        Ok((project, artifact))
    }

    /// The reports of these digests (for `with_scan_overview`): no report data, one query.
    pub async fn summaries(
        &self,
        digests: &[String],
    ) -> Result<HashMap<String, Vec<ReportSummary>>> {
        let records = self.store.scan_reports_of(digests, false).await?;
        let registrations: HashMap<String, ScannerRegistration> = if records.is_empty() {
            HashMap::new()
        } else {
            self.store
                .registrations()
                .await?
                .into_iter()
                .map(|r| (r.uuid.clone(), r))
                .collect()
        };
        let mut out: HashMap<String, Vec<ReportSummary>> = HashMap::new();
        for record in records {
            let scanner = registrations.get(&record.registration_uuid).cloned();
            out.entry(record.digest.clone())
                .or_default()
                .push(ReportSummary {
                    record,
                    scanner,
                    percent: None,
                });
        }
        Ok(out)
    }

    /// The vulnerability reports of an artifact by report type (`scan:read`), as the
    /// adapter wrote them.
    pub async fn vulnerabilities(
        &self,
        by: &Principal,
        project: &ProjectRef,
        repository: &str,
        reference: &str,
    ) -> Result<BTreeMap<String, serde_json::Value>> {
        let (_, artifact) = self
            .artifact(
                by,
                project,
                repository,
                reference,
                ArtifactOptions::default(),
                (Resource::Scan, Action::Read),
            )
            .await?;
        let mut out = BTreeMap::new();
        for record in self
            .store
            .scan_reports_of(&[artifact.record.digest.to_string()], true)
            .await?
        {
            if record.mime_type == spec::SBOM_REPORT || record.status != "Success" {
                continue;
            }
            let report: serde_json::Value =
                harbor_scanner::codec::decode(&record.report).map_err(Error::internal)?;
            out.insert(record.mime_type, report);
        }
        Ok(out)
    }

    /// A report's log (`scan:read`), if the report belongs to the artifact.
    pub async fn log(
        &self,
        by: &Principal,
        project: &ProjectRef,
        repository: &str,
        reference: &str,
        report_id: &str,
    ) -> Result<String> {
        let (_, artifact) = self
            .artifact(
                by,
                project,
                repository,
                reference,
                ArtifactOptions::default(),
                (Resource::Scan, Action::Read),
            )
            .await?;
        let record = self
            .store
            .scan_report(report_id)
            .await?
            .filter(|r| r.digest == artifact.record.digest.to_string())
            .ok_or_else(|| {
                Error::NotFound(format!("no scan report {report_id} of this artifact"))
            })?;
        Ok(record.log)
    }

    /// Stops the running scan of an artifact (`scan:stop`, `sbom:stop`).
    pub async fn stop(
        &self,
        by: &Principal,
        project: &ProjectRef,
        repository: &str,
        reference: &str,
        kind: ScanType,
    ) -> Result<()> {
        let (_, artifact) = self
            .artifact(
                by,
                project,
                repository,
                reference,
                ArtifactOptions::default(),
                (kind.resource(), Action::Stop),
            )
            .await?;
        let running: Vec<ScanReportRecord> = self
            .store
            .scan_reports_of(&[artifact.record.digest.to_string()], false)
            .await?
            .into_iter()
            .filter(|r| {
                r.is_running() && (r.mime_type == spec::SBOM_REPORT) == (kind == ScanType::Sbom)
            })
            .collect();
        if running.is_empty() {
            return Err(Error::Precondition(
                "no scan of this artifact is running".into(),
            ));
        }
        for record in running {
            self.stop_report(record, "stopped by request").await?;
        }
        Ok(())
    }

    /// Stops a report's job and records it as `Stopped`, saying `why` in its log.
    pub(super) async fn stop_report(&self, mut record: ScanReportRecord, why: &str) -> Result<()> {
        if let Some(job) = record.job_id {
            self.jobs.request_stop(job, now_ms()).await?;
        }
        record.status = "Stopped".into();
        record.end_ms = now_ms();
        record.log.push_str(why);
        record.log.push('\n');
        self.store.update_scan_report(&record).await?;
        Ok(())
    }

    /// Queues scans of an artifact for scan all.
    pub(super) async fn queue_scan(
        &self,
        project: &harbor_core::identity::Project,
        artifact: &harbor_core::registry::Artifact,
        registry_url: &str,
        trigger: Trigger,
    ) -> Result<Vec<String>> {
        self.queue(
            project,
            artifact,
            ScanType::Vulnerability,
            registry_url,
            trigger,
        )
        .await
    }

    pub(super) fn jobs_store(&self) -> &Arc<dyn JobStore> {
        &self.jobs
    }

    pub(super) fn store_ref(&self) -> &Arc<dyn MetadataStore> {
        &self.store
    }

    pub(super) fn registry_ref(&self) -> &Registry {
        &self.registry
    }

    pub(super) fn accounts_ref(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    pub(super) fn local_address(&self) -> Option<super::builtin::LocalAddress> {
        self.local.get()
    }

    async fn run(&self, ctx: &JobContext, p: &JobParams) -> Result<()> {
        let Some(mut record) = self.store.scan_report(&p.report_id).await? else {
            return Ok(()); // replaced by a newer scan
        };
        if !record.is_running() {
            return Ok(());
        }
        let registration = self
            .store
            .registration(&p.registration_uuid)
            .await?
            .ok_or_else(|| Error::Precondition("the scanner registration was deleted".into()))?;
        record.status = "Running".into();
        record.log.push_str(&format!(
            "scanning {}@{} with {} at {}\n",
            p.repository, p.digest, registration.settings.name, registration.settings.url
        ));
        self.store.update_scan_report(&record).await?;
        let robot = self
            .robots
            .create_for_scan(&p.project, &registration.settings.name)
            .await?;
        let outcome = self
            .scan_with(ctx, p, &registration, &robot.login, &robot.secret, &record)
            .await;
        if let Err(e) = self.robots.delete_for_scan(&robot.robot).await {
            tracing::warn!(robot = robot.login, error = %e, "could not delete a scan robot");
        }
        let report = outcome?;
        let Some(mut record) = self
            .store
            .scan_report(&p.report_id)
            .await?
            .filter(|r| r.is_running())
        else {
            return Ok(()); // stopped or replaced meanwhile
        };
        summarise(&mut record, &report, p.scan_type);
        if p.scan_type == ScanType::Sbom {
            let digest = self.store_sbom(p, &report).await?;
            record.summary = serde_json::json!({ "sbom_digest": digest.as_str() }).to_string();
            record
                .log
                .push_str(&format!("SBOM stored as the accessory {digest}\n"));
        }
        record.report = harbor_scanner::codec::encode(&report);
        record.status = "Success".into();
        record.end_ms = now_ms();
        record
            .log
            .push_str(&format!("done: {} vulnerabilities\n", record.total));
        let findings = crate::scanner::findings::of_report(&report);
        if self.store.finish_scan_report(&record, &findings).await? {
            self.announce(p, &record).await;
        }
        Ok(())
    }

    /// Records that a scan ended (for webhooks); a failure to record is logged, not
    /// returned: the report is stored either way.
    async fn announce(&self, p: &JobParams, record: &ScanReportRecord) {
        let event = DomainEvent::ScanFinished {
            repository: p.repository.clone(),
            digest: p.digest.clone(),
            scan_type: match p.scan_type {
                ScanType::Vulnerability => "vulnerability",
                ScanType::Sbom => "sbom",
            }
            .to_owned(),
            status: record.status.clone(),
            severity: record.severity.clone(),
            total: record.total,
            fixable: record.fixable,
        };
        if let Err(e) = self
            .store
            .append_events(&[NewEvent::now(SYSTEM, event)])
            .await
        {
            tracing::warn!(report = record.id, error = %e, "recording the end of a scan failed");
        }
    }

    /// Stores an SBOM report's document as the artifact's SBOM accessory.
    async fn store_sbom(&self, p: &JobParams, report: &serde_json::Value) -> Result<Digest> {
        let document = report
            .get("sbom")
            .filter(|d| d.is_object())
            .ok_or_else(|| {
                Error::Invalid("the scanner's SBOM report has no sbom document".into())
            })?;
        let created = report
            .get("generated_at")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let repo = RepositoryName::parse(&p.repository)?;
        let spdx = serde_json::to_vec(document).map_err(Error::internal)?;
        sbom_accessory::store(
            &self.registry,
            SBOM_ACTOR,
            &sbom_accessory::Subject {
                repo: &repo,
                digest: &p.digest,
                media_type: &p.manifest_media_type,
                size: p.size,
            },
            bytes::Bytes::from(spdx),
            created,
        )
        .await
    }

    async fn scan_with(
        &self,
        ctx: &JobContext,
        p: &JobParams,
        registration: &ScannerRegistration,
        login: &str,
        secret: &str,
        record: &ScanReportRecord,
    ) -> Result<serde_json::Value> {
        use base64::Engine as _;
        let client = self.adapter_client(registration)?;
        // One address serves clients and scanners alike, so `use_internal_addr` changes nothing.
        let url = p.registry_url.clone();
        let request = ScanRequest {
            registry: RegistryAccess {
                url,
                authorization: Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{login}:{secret}"))
                )),
                insecure: None,
            },
            artifact: ScanArtifact {
                repository: p.repository.clone(),
                digest: p.digest.clone(),
                tag: p.tag.clone(),
                mime_type: Some(p.manifest_media_type.clone()),
                size: None,
            },
            enabled_capabilities: Some(vec![EnabledCapability {
                kind: p.scan_type.capability().into(),
                produces_mime_types: Some(vec![record.mime_type.clone()]),
                parameters: (p.scan_type == ScanType::Sbom).then(|| SbomParameters {
                    sbom_media_types: vec![harbor_scanner::sbom::SPDX_JSON.into()],
                }),
            }]),
        };
        let id = client
            .scan(&request)
            .await
            .map_err(|e| Error::Invalid(format!("the scanner refused the scan: {e}")))?;
        let deadline = tokio::time::Instant::now() + SCAN_TIMEOUT;
        let mut wait = FIRST_POLL;
        let sbom = (p.scan_type == ScanType::Sbom).then_some(harbor_scanner::sbom::SPDX_JSON);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = ctx.stopped() => return Err(Error::Invalid("stopped".into())),
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Invalid(format!(
                    "the scanner did not finish within {} minutes",
                    SCAN_TIMEOUT.as_secs() / 60
                )));
            }
            match client.report(&id, &record.mime_type, sbom).await {
                Ok(ReportPoll::Pending(next)) => wait = next,
                Ok(ReportPoll::Ready(bytes)) => {
                    return serde_json::from_slice(&bytes).map_err(|e| {
                        Error::Invalid(format!("the scanner's report is not JSON: {e}"))
                    });
                }
                Err(e) => return Err(Error::Invalid(format!("the scan failed: {e}"))),
            }
        }
    }
}

/// The report type to ask for: v1.1 when the adapter has it, else Harbor's v1.0; the SBOM
/// report for SBOMs.
fn report_mime(metadata: &AdapterMetadata, kind: ScanType) -> Option<&'static str> {
    let produces = |mime: &str| {
        metadata.capabilities.iter().any(|c| {
            c.kind.as_deref().unwrap_or("vulnerability") == kind.capability()
                && c.produces_mime_types.iter().any(|p| p == mime)
        })
    };
    match kind {
        ScanType::Vulnerability => [spec::VULN_REPORT_V11, spec::VULN_REPORT_HARBOR]
            .into_iter()
            .find(|m| produces(m)),
        ScanType::Sbom => produces(spec::SBOM_REPORT).then_some(spec::SBOM_REPORT),
    }
}

/// Severity, counts and per-severity summary of a vulnerability report.
fn summarise(record: &mut ScanReportRecord, report: &serde_json::Value, kind: ScanType) {
    if kind == ScanType::Sbom {
        return;
    }
    let Ok(report) = serde_json::from_value::<VulnerabilityReport>(report.clone()) else {
        return;
    };
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut fixable = 0;
    for v in &report.vulnerabilities {
        *counts.entry(v.severity.clone()).or_default() += 1;
        if !v.fix_version.is_empty() {
            fixable += 1;
        }
    }
    record.total = report.vulnerabilities.len() as u64;
    record.fixable = fixable;
    record.severity = if report.vulnerabilities.is_empty() {
        "None".into()
    } else {
        report.severity.clone()
    };
    record.summary = serde_json::to_string(&counts).unwrap_or_else(|_| "{}".into());
}

/// Runs scans.
pub struct ScanJob(Scans);

#[async_trait]
impl JobHandler for ScanJob {
    async fn run(&self, ctx: &JobContext) -> std::result::Result<(), JobError> {
        let params: JobParams = ctx.params()?;
        match self.0.run(ctx, &params).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let message = e.to_string();
                ctx.log(format!(
                    "scan of {}@{} failed: {message}",
                    params.repository, params.digest
                ));
                if let Ok(Some(mut record)) = self.0.store.scan_report(&params.report_id).await
                    && record.is_running()
                {
                    record.status = if ctx.stop_requested() {
                        "Stopped".into()
                    } else {
                        "Error".into()
                    };
                    record.end_ms = now_ms();
                    record.log.push_str(&format!("failed: {message}\n"));
                    if let Err(e) = self.0.store.update_scan_report(&record).await {
                        return Err(JobError::retryable(format!(
                            "{message}; recording the failure failed: {e}"
                        )));
                    }
                    self.0.announce(&params, &record).await;
                }
                Err(JobError::fatal(message))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(
        status: &str,
        severity: &str,
        total: u64,
        summary: &str,
        start: i64,
        end: i64,
    ) -> ReportSummary {
        ReportSummary {
            record: ScanReportRecord {
                id: format!("{status}-{start}"),
                digest: format!("sha256:{start}"),
                registration_uuid: "r".into(),
                mime_type: spec::VULN_REPORT_V11.into(),
                status: status.into(),
                severity: severity.into(),
                total,
                fixable: total / 2,
                summary: summary.into(),
                report: Vec::new(),
                log: String::new(),
                job_id: None,
                start_ms: start,
                end_ms: end,
            },
            scanner: None,
            percent: None,
        }
    }

    #[test]
    fn an_index_merges_its_platforms_reports() {
        let merged = merge_summaries(vec![
            child("Success", "High", 4, r#"{"High":1,"Low":3}"#, 10, 50),
            child(
                "Success",
                "Critical",
                2,
                r#"{"Critical":1,"High":1}"#,
                5,
                40,
            ),
        ]);
        assert_eq!(merged.len(), 1);
        let m = &merged[0];
        assert_eq!(m.record.status, "Success");
        assert_eq!(m.record.severity, "Critical");
        assert_eq!((m.record.total, m.record.fixable), (6, 3));
        assert_eq!(m.record.summary, r#"{"Critical":1,"High":2,"Low":3}"#);
        assert_eq!((m.record.start_ms, m.record.end_ms), (5, 50));
        assert_eq!(m.percent, Some(100));

        let merged = merge_summaries(vec![
            child("Success", "None", 0, "{}", 10, 50),
            child("Running", "", 0, "{}", 20, 0),
        ]);
        assert_eq!(merged[0].record.status, "Running");
        assert_eq!(merged[0].record.end_ms, 0);
        assert_eq!(merged[0].percent, Some(50));
        let merged = merge_summaries(vec![
            child("Success", "Low", 1, "{}", 10, 50),
            child("Error", "", 0, "{}", 20, 30),
        ]);
        assert_eq!(merged[0].record.status, "Error");
        assert!(merge_summaries(Vec::new()).is_empty());
    }
}
