//! Tag retention policies (one per project) with their cron schedules, and their runs.
//!
//! A policy is decided on `tag-retention` in its project; a policy of a project the
//! caller may not see is answered as a missing policy (the error does not name the
//! project).

use std::sync::Arc;

use harbor_auth::{Accounts, Principal};
use harbor_core::events::{DomainEvent, EventStore, NewEvent};
use harbor_core::identity::{Page, Project};
use harbor_core::jobs::kinds::{RETENTION_JOB_KIND, RetentionParams};
use harbor_core::jobs::{Cron, Job, JobQuery, JobStore, NewSchedule};
use harbor_core::model::now_ms;
use harbor_core::rbac::{Action, Resource};
use harbor_core::retention::RetentionPolicy;
use harbor_core::{Error, Registry, Result};

use crate::access::{self, ProjectRef};
use crate::system_jobs::manual_job;

/// Retention jobs examined when listing one policy's runs (newest first).
const SCAN: u64 = 1000;

/// The job schedule of policy `id`.
pub fn schedule_name(id: i64) -> String {
    format!("retention:{id}")
}

/// The parameters a retention job runs with.
pub fn params_of(job: &Job) -> RetentionParams {
    serde_json::from_str(&job.params).unwrap_or_default()
}

/// The policy's cron trigger, checked (`None`: manual runs only).
fn trigger_cron(policy: &RetentionPolicy) -> Result<Option<(String, Cron)>> {
    let Some(text) = policy.trigger.as_ref().and_then(|t| t.cron()) else {
        return Ok(None);
    };
    let cron = Cron::parse(text)
        .map_err(|e| Error::Invalid(format!("invalid trigger cron {text:?}: {e}")))?;
    Ok(Some((text.to_owned(), cron)))
}

fn encode(p: &RetentionParams) -> Result<String> {
    serde_json::to_string(p).map_err(Error::internal)
}

/// The retention service.
#[derive(Clone)]
pub struct Retention {
    registry: Registry,
    accounts: Arc<Accounts>,
    jobs: Arc<dyn JobStore>,
    events: Arc<dyn EventStore>,
    wake: Option<crate::system_jobs::Waker>,
}

impl Retention {
    /// Policies kept by `registry`, runs queued in `jobs`, projects from `accounts`.
    pub fn new(registry: Registry, accounts: Arc<Accounts>, jobs: Arc<dyn JobStore>) -> Self {
        let events: Arc<dyn EventStore> = registry.metadata().clone();
        Retention {
            registry,
            accounts,
            jobs,
            events,
            wake: None,
        }
    }

    /// Calls `wake` whenever a run was queued.
    pub fn with_waker(mut self, wake: crate::system_jobs::Waker) -> Self {
        self.wake = Some(wake);
        self
    }

    /// The policy `id` and its project, after checking `action` on `tag-retention` there.
    pub async fn authorised(
        &self,
        by: &Principal,
        id: i64,
        action: Action,
    ) -> Result<(RetentionPolicy, Project)> {
        access::require_authenticated(by)?;
        let policy = self.registry.retention_policy(id).await?;
        let r = ProjectRef::Id(policy.project_id().unwrap_or_default());
        let (project, grants) =
            access::open_project(&self.accounts, by, &r)
                .await
                .map_err(|e| match e {
                    Error::NotFound(_) => {
                        Error::NotFound(format!("retention policy {id} not found"))
                    }
                    other => other,
                })?;
        access::check(by, &grants, Resource::TagRetention, action)?;
        Ok((policy, project))
    }

    /// Creates the project's policy (its project is `scope.ref`) and its schedule.
    pub async fn create(&self, by: &Principal, policy: &RetentionPolicy) -> Result<i64> {
        access::require_authenticated(by)?;
        policy.validate()?;
        let project_id = policy.project_id().unwrap_or_default();
        let r = ProjectRef::Id(project_id);
        let (project, grants) =
            access::open_project(&self.accounts, by, &r)
                .await
                .map_err(|e| match e {
                    Error::NotFound(_) => {
                        Error::Invalid(format!("invalid Project id {project_id}"))
                    }
                    other => other,
                })?;
        access::check(by, &grants, Resource::TagRetention, Action::Create)?;
        let cron = trigger_cron(policy)?;
        let id = self.registry.create_retention_policy(policy).await?;
        let event = changed(by, &project, id, "create");
        self.sync_schedule(id, cron, &event).await?;
        Ok(id)
    }

    /// Replaces the policy `id`; it stays in its project.
    pub async fn update(&self, by: &Principal, id: i64, policy: &RetentionPolicy) -> Result<()> {
        policy.validate()?;
        let (_, project) = self.authorised(by, id, Action::Update).await?;
        let cron = trigger_cron(policy)?;
        self.registry.update_retention_policy(id, policy).await?;
        let event = changed(by, &project, id, "update");
        self.sync_schedule(id, cron, &event).await?;
        Ok(())
    }

    /// Deletes the policy `id` and its schedule.
    pub async fn delete(&self, by: &Principal, id: i64) -> Result<()> {
        let (_, project) = self.authorised(by, id, Action::Delete).await?;
        self.registry.delete_retention_policy(id).await?;
        let event = changed(by, &project, id, "delete");
        if !self
            .jobs
            .delete_schedule_emitting(&schedule_name(id), &event)
            .await?
        {
            self.events.append_events(&event).await?;
        }
        Ok(())
    }

    /// Makes the policy's schedule match its trigger, writing `events` with that change
    /// (or on their own when there is no schedule to change).
    async fn sync_schedule(
        &self,
        id: i64,
        cron: Option<(String, Cron)>,
        events: &[NewEvent],
    ) -> Result<()> {
        let Some((text, cron)) = cron else {
            if !self
                .jobs
                .delete_schedule_emitting(&schedule_name(id), events)
                .await?
            {
                self.events.append_events(events).await?;
            }
            return Ok(());
        };
        let params = encode(&RetentionParams {
            policy_id: id,
            dry_run: false,
        })?;
        self.jobs
            .put_schedule_emitting(
                &NewSchedule {
                    name: schedule_name(id),
                    kind: RETENTION_JOB_KIND.into(),
                    cron: text,
                    schedule_type: "Custom".into(),
                    params,
                    next_run_ms: cron.next_after(now_ms()),
                    paused: false,
                },
                events,
            )
            .await?;
        Ok(())
    }

    /// Starts a run of the policy `id` (`tag-retention:operate`), with its event in the
    /// same transaction.
    pub async fn start(&self, by: &Principal, id: i64, dry_run: bool) -> Result<Job> {
        let (_, project) = self.authorised(by, id, Action::Operate).await?;
        let params = encode(&RetentionParams {
            policy_id: id,
            dry_run,
        })?;
        let new = manual_job(RETENTION_JOB_KIND, params);
        let actor = by.name().to_owned();
        let events = move |job: &Job| {
            vec![NewEvent::now(
                &actor,
                DomainEvent::RetentionRunStarted {
                    project: project.name.clone(),
                    project_id: project.id,
                    policy_id: id,
                    job_id: job.id,
                    dry_run,
                },
            )]
        };
        let job = self.jobs.enqueue_emitting(&new, &events).await?;
        if let Some(wake) = &self.wake {
            wake();
        }
        Ok(job)
    }

    /// One page of the policy's runs, newest first (among the newest 1000 retention
    /// runs), and how many there are.
    pub async fn runs(&self, by: &Principal, id: i64, page: Page) -> Result<(Vec<Job>, u64)> {
        self.authorised(by, id, Action::List).await?;
        let query = JobQuery {
            kind: Some(RETENTION_JOB_KIND.to_owned()),
            status: None,
        };
        let scan = Page {
            page: 1,
            page_size: SCAN,
        };
        let (jobs, _) = self.jobs.jobs(&query, scan).await?;
        let mine: Vec<Job> = jobs
            .into_iter()
            .filter(|j| params_of(j).policy_id == id)
            .collect();
        let total = mine.len() as u64;
        let skip = usize::try_from(page.page.saturating_sub(1).saturating_mul(page.page_size))
            .unwrap_or(usize::MAX);
        let take = usize::try_from(page.page_size).unwrap_or(usize::MAX);
        Ok((mine.into_iter().skip(skip).take(take).collect(), total))
    }

    /// The run `job_id` of the policy `id`, after checking `action`.
    pub async fn run(&self, by: &Principal, id: i64, job_id: i64, action: Action) -> Result<Job> {
        self.authorised(by, id, action).await?;
        match self.jobs.job(job_id).await? {
            Some(j) if j.kind == RETENTION_JOB_KIND && params_of(&j).policy_id == id => Ok(j),
            _ => Err(Error::NotFound(format!(
                "retention execution {job_id} not found"
            ))),
        }
    }

    /// Stops a run of the policy (`tag-retention:operate`).
    pub async fn stop(&self, by: &Principal, id: i64, job_id: i64) -> Result<()> {
        let job = self.run(by, id, job_id, Action::Operate).await?;
        self.jobs.request_stop(job.id, now_ms()).await?;
        Ok(())
    }

    /// A run with its log lines (`tag-retention:read`).
    pub async fn log(
        &self,
        by: &Principal,
        id: i64,
        job_id: i64,
    ) -> Result<(Job, Vec<(i64, String)>)> {
        let job = self.run(by, id, job_id, Action::Read).await?;
        let lines = self.jobs.job_log(job.id).await?;
        Ok((job, lines))
    }
}

/// The event of a policy change, written with the policy's schedule.
fn changed(by: &Principal, project: &Project, policy_id: i64, change: &str) -> [NewEvent; 1] {
    [NewEvent::now(
        by.name(),
        DomainEvent::RetentionPolicyChanged {
            project: project.name.clone(),
            project_id: project.id,
            policy_id,
            change: change.to_owned(),
        },
    )]
}
