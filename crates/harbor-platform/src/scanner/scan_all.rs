//! Scan all (Harbor's `SCAN_ALL`): a system job that queues a scan of every image in the
//! registry with each project's scanner, run by hand or on a schedule; its metrics (the
//! scans the latest run queued, by status) and stop. The job only queues: the scans are
//! ordinary `IMAGE_SCAN` jobs, so a run never holds a worker the scans need, and an
//! artifact shared by several repositories is scanned once (the second queue finds its
//! scan running).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use harbor_auth::Principal;
use harbor_core::artifact::ArtifactQuery;
use harbor_core::identity::{Page, Project};
use harbor_core::jobs::{Job, JobContext, JobError, JobHandler, JobQuery, JobStatus, Trigger};
use harbor_core::model::now_ms;
use harbor_core::registry::ArtifactOptions;
use harbor_core::{Error, RepositoryName, Result};

use super::scans::Scans;
use crate::access;

/// The job kind.
pub const JOB_KIND: &str = "SCAN_ALL";
/// The name of its schedule.
pub const SCHEDULE: &str = "scan_all";
/// Repositories and artifacts read per query.
const BATCH: u64 = 100;

/// What a scan-all run queued, by outcome (Harbor's `Stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanAllMetrics {
    /// Scans queued.
    pub total: u64,
    /// Scans finished (whatever the outcome).
    pub completed: u64,
    /// Scans by status (`Pending`, `Running`, `Success`, `Error`, `Stopped`).
    pub by_status: BTreeMap<String, u64>,
    /// Whether the run or any of its scans is still going.
    pub ongoing: bool,
    /// How the run started (`MANUAL`, `SCHEDULE`).
    pub trigger: String,
    /// Who started it (the run's id, as Harbor names the execution).
    pub requester: String,
}

impl Scans {
    /// The job handler to register under [`JOB_KIND`].
    pub fn scan_all_handler(&self) -> Arc<ScanAllJob> {
        Arc::new(ScanAllJob(self.clone()))
    }

    /// The metrics of the latest scan-all run (`scheduled_only`: the latest scheduled
    /// one), system administrators only; `None` before any run.
    pub async fn scan_all_metrics(
        &self,
        by: &Principal,
        scheduled_only: bool,
    ) -> Result<Option<ScanAllMetrics>> {
        access::require_sysadmin(by)?;
        let Some(run) = self.latest_scan_all(scheduled_only).await? else {
            return Ok(None);
        };
        let reports = self.reports_of_run(&run).await?;
        let mut m = ScanAllMetrics {
            total: reports.len() as u64,
            trigger: run.trigger.as_str().to_owned(),
            requester: run.id.to_string(),
            ..Default::default()
        };
        for r in &reports {
            *m.by_status.entry(r.status.clone()).or_default() += 1;
            if !r.is_running() {
                m.completed += 1;
            }
        }
        m.ongoing =
            matches!(run.status, JobStatus::Pending | JobStatus::Running) || m.completed < m.total;
        Ok(Some(m))
    }

    /// [`Error::Conflict`] while the latest scan-all run or one of its scans is going
    /// (a new run would find every scan running and queue nothing).
    pub async fn ensure_scan_all_idle(&self, by: &Principal) -> Result<()> {
        match self.scan_all_metrics(by, false).await? {
            Some(m) if m.ongoing => Err(Error::Conflict(format!(
                "scan all {} is still going ({} of {} scans finished): stop it first",
                m.requester, m.completed, m.total
            ))),
            _ => Ok(()),
        }
    }

    /// Stops the latest scan-all run: no more scans are queued and those it queued that
    /// have not finished are stopped. [`Error::Invalid`] when none is going.
    pub async fn stop_scan_all(&self, by: &Principal) -> Result<u64> {
        access::require_sysadmin(by)?;
        let Some(run) = self.latest_scan_all(false).await? else {
            return Err(Error::Invalid("no scan all is running".into()));
        };
        let running = matches!(run.status, JobStatus::Pending | JobStatus::Running);
        if running {
            self.jobs_store().request_stop(run.id, now_ms()).await?;
        }
        let mut stopped = 0;
        for record in self.reports_of_run(&run).await? {
            if record.is_running() {
                self.stop_report(record, "scan all stopped").await?;
                stopped += 1;
            }
        }
        if !running && stopped == 0 {
            return Err(Error::Invalid("no scan all is running".into()));
        }
        Ok(stopped)
    }

    async fn latest_scan_all(&self, scheduled_only: bool) -> Result<Option<Job>> {
        let mut page = Page {
            page: 1,
            page_size: 20,
        };
        loop {
            let (jobs, total) = self
                .jobs_store()
                .jobs(
                    &JobQuery {
                        kind: Some(JOB_KIND.into()),
                        status: None,
                    },
                    page,
                )
                .await?;
            if let Some(j) = jobs
                .iter()
                .find(|j| !scheduled_only || j.trigger == Trigger::Schedule)
            {
                return Ok(Some(j.clone()));
            }
            if page.page * page.page_size >= total || jobs.is_empty() {
                return Ok(None);
            }
            page.page += 1;
        }
    }

    /// The reports a run queued: those started while it ran.
    async fn reports_of_run(&self, run: &Job) -> Result<Vec<harbor_core::scan::ScanReportRecord>> {
        let Some(from) = run.started_at else {
            return Ok(Vec::new());
        };
        let to = run.finished_at.unwrap_or_else(now_ms);
        self.store_ref().scan_reports_between(from, to).await
    }

    /// Queues scans of every image; returns (queued, skipped).
    async fn scan_everything(&self, ctx: &JobContext) -> Result<(u64, u64)> {
        let local = self.local_address().ok_or_else(|| {
            Error::Precondition("the server does not know its own address yet".into())
        })?;
        let meta = self.registry_ref().metadata().clone();
        let mut projects: HashMap<String, Option<Project>> = HashMap::new();
        let (mut queued, mut skipped) = (0u64, 0u64);
        let mut last: Option<String> = None;
        loop {
            let repos = meta.repositories(last.as_deref(), BATCH as usize).await?;
            let Some(end) = repos.last().cloned() else {
                break;
            };
            for repo in repos {
                if ctx.stop_requested() {
                    return Err(Error::Invalid("stopped".into()));
                }
                let name = RepositoryName::parse(&repo)?;
                let project_name = name.first_component().to_owned();
                if !projects.contains_key(&project_name) {
                    let p = self
                        .accounts_ref()
                        .store()
                        .project_by_name(&project_name)
                        .await?;
                    projects.insert(project_name.clone(), p);
                }
                let Some(Some(project)) = projects.get(&project_name) else {
                    continue;
                };
                let query = ArtifactQuery {
                    kind: Some("IMAGE".into()),
                    ..Default::default()
                };
                let mut page = Page {
                    page: 1,
                    page_size: BATCH,
                };
                loop {
                    let opts = ArtifactOptions {
                        with_tags: true,
                        ..Default::default()
                    };
                    let (artifacts, total) = self
                        .registry_ref()
                        .list_artifacts(&name, &query, page, opts)
                        .await?;
                    for a in &artifacts {
                        match self
                            .queue_scan(project, a, &local.url, ctx.job().trigger)
                            .await
                        {
                            Ok(ids) => queued += ids.len() as u64,
                            Err(
                                Error::Conflict(_) | Error::Unsupported(_) | Error::Precondition(_),
                            ) => skipped += 1,
                            Err(e) => return Err(e),
                        }
                    }
                    ctx.progress(serde_json::json!({"queued": queued, "skipped": skipped}));
                    if artifacts.is_empty() || page.page * page.page_size >= total {
                        break;
                    }
                    page.page += 1;
                }
            }
            last = Some(end);
        }
        Ok((queued, skipped))
    }
}

/// Runs scan all.
pub struct ScanAllJob(Scans);

#[async_trait]
impl JobHandler for ScanAllJob {
    async fn run(&self, ctx: &JobContext) -> std::result::Result<(), JobError> {
        match self.0.scan_everything(ctx).await {
            Ok((queued, skipped)) => {
                ctx.log(format!(
                    "queued {queued} scans; skipped {skipped} artifacts (already scanning, not scannable or no scanner)"
                ));
                Ok(())
            }
            Err(e) if ctx.stop_requested() => {
                ctx.log(format!("stopped: {e}"));
                Err(JobError::fatal("stopped"))
            }
            Err(e @ (Error::Internal(_) | Error::Busy(_))) => {
                Err(JobError::retryable(e.to_string()))
            }
            Err(e) => Err(JobError::fatal(e.to_string())),
        }
    }
}
