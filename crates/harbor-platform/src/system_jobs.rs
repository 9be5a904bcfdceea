//! System jobs (garbage collection, the audit log purge, the storage check, the upload
//! cleanup): runs started by hand, with at most one active run per kind, stops, and one
//! schedule per kind. System administrators only.

use std::sync::Arc;

use harbor_auth::Principal;
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::Page;
use harbor_core::jobs::{
    Cron, Job, JobQuery, JobStatus, JobStore, NewJob, NewSchedule, Schedule, Trigger,
};
use harbor_core::model::now_ms;
use harbor_core::{Error, Result};

use crate::access;

/// Runs of a job: every system kind is safe to run again (GC resumes blobs left
/// deleting), so a run whose worker died, or that failed on a passing error, is retried.
pub const MAX_ATTEMPTS: u32 = 3;

/// A run of `kind` with `params` started by hand now.
pub(crate) fn manual_job(kind: &str, params: String) -> NewJob {
    NewJob {
        kind: kind.to_owned(),
        params,
        trigger: Trigger::Manual,
        max_attempts: MAX_ATTEMPTS,
        run_after_ms: now_ms(),
        schedule_id: None,
    }
}

/// A schedule as Harbor's `ScheduleObj` gives it: a type and, for `Custom`, a cron.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleSpec {
    /// `Hourly`, `Daily`, `Weekly` or `Custom` (also `Schedule`).
    pub kind: String,
    /// Harbor's six-field cron, for `Custom`.
    pub cron: Option<String>,
}

/// Something to call when a run was queued (to wake this process's workers).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The system job service.
#[derive(Clone)]
pub struct SystemJobs {
    jobs: Arc<dyn JobStore>,
    wake: Option<Waker>,
}

impl SystemJobs {
    /// System jobs queued in `jobs` (their events are written with each change).
    pub fn new(jobs: Arc<dyn JobStore>) -> Self {
        SystemJobs { jobs, wake: None }
    }

    /// Calls `wake` whenever a run was queued.
    pub fn with_waker(mut self, wake: Waker) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Queues a run of `kind` with `params` (JSON, validated by the caller's decoding),
    /// unless a run of the kind is queued or running already ([`Error::Conflict`]
    /// naming it). The check and the insert are one transaction, so two concurrent starts
    /// cannot both succeed; the `JobStarted` event is written in it too.
    pub async fn start(&self, by: &Principal, kind: &str, params: String) -> Result<Job> {
        access::require_sysadmin(by)?;
        let new = manual_job(kind, params);
        let actor = by.name().to_owned();
        let events = move |job: &Job| {
            vec![NewEvent::now(
                &actor,
                DomainEvent::JobStarted {
                    kind: job.kind.clone(),
                    job_id: job.id,
                },
            )]
        };
        match self.jobs.enqueue_exclusive(&new, &events).await? {
            Ok(job) => {
                if let Some(wake) = &self.wake {
                    wake();
                }
                Ok(job)
            }
            Err(active) => Err(Error::Conflict(format!(
                "{kind} execution {} is already {}",
                active.id,
                active.status.as_str().to_lowercase()
            ))),
        }
    }

    /// The run `id` of `kind` ([`Error::NotFound`] for another kind's).
    pub async fn run(&self, by: &Principal, kind: &str, id: i64) -> Result<Job> {
        access::require_sysadmin(by)?;
        match self.jobs.job(id).await? {
            Some(j) if j.kind == kind => Ok(j),
            _ => Err(Error::NotFound(format!("{kind} execution {id} not found"))),
        }
    }

    /// The job `id`, of any kind.
    pub async fn job(&self, by: &Principal, id: i64) -> Result<Job> {
        access::require_sysadmin(by)?;
        self.jobs
            .job(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("job {id} not found")))
    }

    /// The job `id` with its log lines (`(ms, line)`).
    pub async fn job_log(&self, by: &Principal, id: i64) -> Result<(Job, Vec<(i64, String)>)> {
        let job = self.job(by, id).await?;
        let lines = self.jobs.job_log(job.id).await?;
        Ok((job, lines))
    }

    /// Stops the job `id`, of any kind (see [`SystemJobs::stop`]).
    pub async fn stop_job(&self, by: &Principal, id: i64) -> Result<Job> {
        let job = self.job(by, id).await?;
        self.stop_run(by, job).await
    }

    /// How many jobs of each of `kinds` are queued and running: `(kind, pending, running)`.
    pub async fn queues(&self, by: &Principal, kinds: &[&str]) -> Result<Vec<(String, u64, u64)>> {
        access::require_sysadmin(by)?;
        let one = Page {
            page: 1,
            page_size: 1,
        };
        let mut out = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let mut counts = [0; 2];
            for (i, status) in [JobStatus::Pending, JobStatus::Running]
                .into_iter()
                .enumerate()
            {
                let query = JobQuery {
                    kind: Some((*kind).to_owned()),
                    status: Some(status),
                };
                counts[i] = self.jobs.jobs(&query, one).await?.1;
            }
            out.push(((*kind).to_owned(), counts[0], counts[1]));
        }
        Ok(out)
    }

    /// Every schedule.
    pub async fn schedules(&self, by: &Principal) -> Result<Vec<Schedule>> {
        access::require_sysadmin(by)?;
        self.jobs.schedules().await
    }

    /// One page of the runs of `kind`, newest first, and how many there are.
    pub async fn runs(&self, by: &Principal, kind: &str, page: Page) -> Result<(Vec<Job>, u64)> {
        access::require_sysadmin(by)?;
        let query = JobQuery {
            kind: Some(kind.to_owned()),
            status: None,
        };
        self.jobs.jobs(&query, page).await
    }

    /// A run with its log lines (`(ms, line)`).
    pub async fn log(
        &self,
        by: &Principal,
        kind: &str,
        id: i64,
    ) -> Result<(Job, Vec<(i64, String)>)> {
        let job = self.run(by, kind, id).await?;
        let lines = self.jobs.job_log(job.id).await?;
        Ok((job, lines))
    }

    /// Stops a run: a queued one at once, a running one between its steps. A run that
    /// already ended is left as it is (Harbor answers such a stop with success too).
    pub async fn stop(&self, by: &Principal, kind: &str, id: i64) -> Result<Job> {
        let job = self.run(by, kind, id).await?;
        self.stop_run(by, job).await
    }

    async fn stop_run(&self, by: &Principal, job: Job) -> Result<Job> {
        if job.status.is_final() {
            return Ok(job);
        }
        let event = [NewEvent::now(
            by.name(),
            DomainEvent::JobStopRequested {
                kind: job.kind.clone(),
                job_id: job.id,
            },
        )];
        let stopped = self
            .jobs
            .request_stop_emitting(job.id, now_ms(), &event)
            .await?;
        Ok(stopped.unwrap_or(job))
    }

    /// The schedule named `name`, if set.
    pub async fn schedule(&self, by: &Principal, name: &str) -> Result<Option<Schedule>> {
        access::require_sysadmin(by)?;
        self.jobs.schedule(name).await
    }

    /// Sets the schedule `name` to run `kind` with `params` as `spec` says.
    pub async fn set_schedule(
        &self,
        by: &Principal,
        name: &str,
        kind: &str,
        spec: &ScheduleSpec,
        params: String,
    ) -> Result<Schedule> {
        access::require_sysadmin(by)?;
        let cron_text = match spec.kind.as_str() {
            "Hourly" | "Daily" | "Weekly" => Cron::default_for_type(&spec.kind)
                .map(str::to_owned)
                .unwrap_or_default(),
            "Custom" | "Schedule" => spec
                .cron
                .clone()
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| {
                    Error::Invalid("a Custom schedule needs a cron expression".into())
                })?,
            other => {
                return Err(Error::Invalid(format!(
                    "unknown schedule type {other:?}: use Manual, Hourly, Daily, Weekly, Custom or None"
                )));
            }
        };
        let cron = Cron::parse(&cron_text)
            .map_err(|e| Error::Invalid(format!("invalid cron {cron_text:?}: {e}")))?;
        let next = cron
            .next_after(now_ms())
            .ok_or_else(|| Error::Invalid(format!("the cron {cron_text:?} never fires")))?;
        let event = [NewEvent::now(
            by.name(),
            DomainEvent::ScheduleChanged {
                kind: kind.to_owned(),
                schedule: Some(format!("{} {cron_text}", spec.kind)),
            },
        )];
        let schedule = self
            .jobs
            .put_schedule_emitting(
                &NewSchedule {
                    name: name.into(),
                    kind: kind.into(),
                    cron: cron_text.clone(),
                    schedule_type: spec.kind.clone(),
                    params,
                    next_run_ms: Some(next),
                    paused: false,
                },
                &event,
            )
            .await?;
        Ok(schedule)
    }

    /// Removes the schedule `name` (of `kind`); removing none is not an error.
    pub async fn remove_schedule(&self, by: &Principal, name: &str, kind: &str) -> Result<()> {
        access::require_sysadmin(by)?;
        let event = [NewEvent::now(
            by.name(),
            DomainEvent::ScheduleChanged {
                kind: kind.to_owned(),
                schedule: None,
            },
        )];
        self.jobs.delete_schedule_emitting(name, &event).await?;
        Ok(())
    }
}
