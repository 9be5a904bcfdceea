//! `Replication`: Harbor's replication policies and their executions (system-level:
//! system administrators, robots holding the `replication-policy` and `replication`
//! permissions). Executions run on the durable job queue ([`run::ReplicationJob`]);
//! scheduled policies have a schedule on the same queue; event-based ones are started by
//! [`trigger::EventTrigger`], a subscriber of the domain events.

pub mod local;
pub mod run;
pub mod trigger;

use std::sync::Arc;

use harbor_auth::Principal;
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::Page;
use harbor_core::jobs::{Cron, JobStatus, JobStore, NewJob, NewSchedule};
use harbor_core::model::now_ms;
use harbor_core::ports::MetadataStore;
use harbor_core::rbac::Action;
use harbor_core::replication::{
    Execution, ExecutionQuery, ExecutionStatus, JOB_KIND, Policy, PolicyQuery, PolicySettings,
    Task, Trigger, schedule_name,
};
use harbor_core::{Error, Registry, Result};

use crate::access::require_system;
use crate::registries::Registries;
use crate::system_jobs::Waker;
pub use run::{EventScope, ReplicationJob, ReplicationParams};

/// Runs of one execution's job (the first included): a transient failure is retried.
pub const MAX_ATTEMPTS: u32 = 3;
/// Runs of an event's job: it may also wait for the policy's active execution (a minute
/// per run, then the queue's backoff up to ten minutes), so it gets many.
pub const EVENT_MAX_ATTEMPTS: u32 = 30;

/// The replication service.
#[derive(Clone)]
pub struct Replication {
    store: Arc<dyn MetadataStore>,
    projects: crate::Projects,
    accounts: Arc<harbor_auth::Accounts>,
    jobs: Arc<dyn JobStore>,
    registry: Registry,
    registries: Registries,
    wake: Option<Waker>,
}

fn encode(p: &ReplicationParams) -> Result<String> {
    serde_json::to_string(p).map_err(Error::internal)
}

/// A job running an execution (or, without one, starting it when it runs).
pub(crate) fn job(
    params: &ReplicationParams,
    trigger: harbor_core::jobs::Trigger,
) -> Result<NewJob> {
    Ok(NewJob {
        kind: JOB_KIND.into(),
        params: encode(params)?,
        trigger,
        max_attempts: if params.event.is_some() {
            EVENT_MAX_ATTEMPTS
        } else {
            MAX_ATTEMPTS
        },
        run_after_ms: now_ms(),
        schedule_id: None,
    })
}

impl Replication {
    /// The service over `registry`'s store, queuing runs in `jobs`; pull-based policies
    /// create missing destination projects through `projects`, as their creator.
    pub fn new(
        registry: Registry,
        jobs: Arc<dyn JobStore>,
        registries: Registries,
        projects: crate::Projects,
        accounts: Arc<harbor_auth::Accounts>,
    ) -> Self {
        Replication {
            store: registry.metadata().clone(),
            projects,
            accounts,
            jobs,
            registry,
            registries,
            wake: None,
        }
    }

    /// Calls `wake` whenever an execution was queued.
    pub fn with_waker(mut self, wake: Waker) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Uses `registries` (their keys and client options) for the remote ends.
    pub fn with_registries(mut self, registries: Registries) -> Self {
        self.registries = registries;
        self
    }

    /// The job handler to register (kind [`JOB_KIND`]) on a runner.
    pub fn job_handler(&self) -> Arc<ReplicationJob> {
        Arc::new(ReplicationJob {
            store: self.store.clone(),
            projects: self.projects.clone(),
            accounts: self.accounts.clone(),
            registry: self.registry.clone(),
            registries: self.registries.clone(),
        })
    }

    /// The subscriber that starts event-based policies.
    pub fn event_trigger(&self) -> Arc<trigger::EventTrigger> {
        Arc::new(trigger::EventTrigger::new(
            self.store.clone(),
            self.jobs.clone(),
            self.wake.clone(),
        ))
    }

    fn woke(&self) {
        if let Some(w) = &self.wake {
            w();
        }
    }

    async fn check_endpoints(&self, s: &PolicySettings) -> Result<()> {
        for id in [s.src_registry, s.dest_registry].into_iter().flatten() {
            if self.store.endpoint(id).await?.is_none() {
                return Err(Error::NotFound(format!("registry {id} not found")));
            }
        }
        Ok(())
    }

    async fn schedule(&self, id: i64, s: &PolicySettings) -> Result<()> {
        match &s.trigger {
            Trigger::Scheduled(cron) if s.enabled => {
                let parsed = Cron::parse(cron).map_err(|e| Error::Invalid(e.to_string()))?;
                let params = encode(&ReplicationParams {
                    policy_id: id,
                    execution_id: None,
                    trigger: "scheduled".into(),
                    event: None,
                })?;
                self.jobs
                    .put_schedule(&NewSchedule {
                        name: schedule_name(id),
                        kind: JOB_KIND.into(),
                        cron: cron.clone(),
                        schedule_type: "Custom".into(),
                        params,
                        next_run_ms: parsed.next_after(now_ms()),
                        paused: false,
                    })
                    .await?;
            }
            _ => {
                self.jobs.delete_schedule(&schedule_name(id)).await?;
            }
        }
        Ok(())
    }

    /// Creates a policy (`replication-policy:create`).
    pub async fn create_policy(&self, by: &Principal, mut s: PolicySettings) -> Result<Policy> {
        require_system(
            by,
            "replication-policy",
            Action::Create,
            "only system administrators may create replication policies",
        )?;
        s.validate()?;
        self.check_endpoints(&s).await?;
        let event = NewEvent::now(
            by.name(),
            DomainEvent::ReplicationPolicyChanged {
                name: s.name.clone(),
                change: "create".into(),
            },
        );
        let p = self
            .store
            .create_replication_policy_emitting(&s, by.name(), &[event])
            .await?;
        self.schedule(p.id, &p.settings).await?;
        Ok(p)
    }

    /// One policy (`replication-policy:read`).
    pub async fn policy(&self, by: &Principal, id: i64) -> Result<Policy> {
        require_system(
            by,
            "replication-policy",
            Action::Read,
            "only system administrators may see replication policies",
        )?;
        self.store
            .replication_policy(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("replication policy {id} not found")))
    }

    /// A page of policies (`replication-policy:list`).
    pub async fn policies(
        &self,
        by: &Principal,
        q: &PolicyQuery,
        page: Page,
    ) -> Result<(Vec<Policy>, u64)> {
        require_system(
            by,
            "replication-policy",
            Action::List,
            "only system administrators may list replication policies",
        )?;
        self.store.replication_policies(q, page).await
    }

    /// Replaces a policy's settings (`replication-policy:update`).
    pub async fn update_policy(
        &self,
        by: &Principal,
        id: i64,
        mut s: PolicySettings,
    ) -> Result<Policy> {
        require_system(
            by,
            "replication-policy",
            Action::Update,
            "only system administrators may change replication policies",
        )?;
        s.validate()?;
        self.check_endpoints(&s).await?;
        let event = NewEvent::now(
            by.name(),
            DomainEvent::ReplicationPolicyChanged {
                name: s.name.clone(),
                change: "update".into(),
            },
        );
        let p = self
            .store
            .update_replication_policy_emitting(id, &s, &[event])
            .await?;
        self.schedule(p.id, &p.settings).await?;
        Ok(p)
    }

    /// Deletes a policy and its history; refused while an execution is in progress.
    pub async fn delete_policy(&self, by: &Principal, id: i64) -> Result<()> {
        let p = self.policy(by, id).await?;
        require_system(
            by,
            "replication-policy",
            Action::Delete,
            "only system administrators may delete replication policies",
        )?;
        let event = NewEvent::now(
            by.name(),
            DomainEvent::ReplicationPolicyChanged {
                name: p.settings.name.clone(),
                change: "delete".into(),
            },
        );
        self.store
            .delete_replication_policy_emitting(id, &[event])
            .await?;
        self.jobs.delete_schedule(&schedule_name(id)).await?;
        Ok(())
    }

    /// Starts an execution of a policy by hand (`replication:create`). Refused for a
    /// disabled policy (412) and while one is in progress (409).
    pub async fn start(&self, by: &Principal, policy_id: i64) -> Result<Execution> {
        require_system(
            by,
            "replication",
            Action::Create,
            "only system administrators may start replications",
        )?;
        let p = self
            .store
            .replication_policy(policy_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("replication policy {policy_id} not found")))?;
        if !p.settings.enabled {
            return Err(Error::Precondition(format!(
                "the policy {policy_id} is disabled"
            )));
        }
        let event = NewEvent::now(
            by.name(),
            DomainEvent::ReplicationStarted {
                policy_id,
                trigger: "manual".into(),
            },
        );
        let Some(execution) = self
            .store
            .start_replication(policy_id, "manual", &[event])
            .await?
        else {
            return Err(Error::Conflict(format!(
                "an execution of policy {policy_id} is in progress; stop it or wait for it"
            )));
        };
        let params = ReplicationParams {
            policy_id,
            execution_id: Some(execution.id),
            trigger: "manual".into(),
            event: None,
        };
        let queued = self
            .jobs
            .enqueue(&job(&params, harbor_core::jobs::Trigger::Manual)?)
            .await;
        let queued = match queued {
            Ok(j) => j,
            Err(e) => {
                let _ = self
                    .store
                    .finish_replication_emitting(
                        execution.id,
                        ExecutionStatus::Failed,
                        &format!("could not be queued: {e}"),
                        &[],
                    )
                    .await;
                return Err(e);
            }
        };
        self.store
            .set_replication_job(execution.id, queued.id)
            .await?;
        self.woke();
        Ok(Execution {
            job_id: Some(queued.id),
            ..execution
        })
    }

    /// An execution whose job ended without ending it (its worker was lost too often)
    /// is ended as failed, so that it does not stay in progress forever.
    async fn reconcile(&self, e: Execution) -> Result<Execution> {
        if e.status != ExecutionStatus::InProgress {
            return Ok(e);
        }
        let Some(job_id) = e.job_id else {
            return Ok(e);
        };
        let job = self.jobs.job(job_id).await?;
        let (status, text) = match &job {
            None => (ExecutionStatus::Failed, "its job is gone".to_owned()),
            Some(j) if j.status == JobStatus::Stopped => {
                (ExecutionStatus::Stopped, "stopped on request".to_owned())
            }
            Some(j) if j.status.is_final() => (
                ExecutionStatus::Failed,
                j.error.clone().unwrap_or_else(|| "its job ended".into()),
            ),
            _ => return Ok(e),
        };
        let event = NewEvent::now(
            harbor_core::events::SYSTEM,
            DomainEvent::ReplicationFinished {
                policy_id: e.policy_id,
                execution_id: e.id,
                status: status.as_str().into(),
            },
        );
        self.store
            .finish_replication_emitting(e.id, status, &text, &[event])
            .await?;
        self.store
            .replication_execution(e.id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("replication execution {} not found", e.id)))
    }

    /// A page of executions, newest first (`replication:list`).
    pub async fn executions(
        &self,
        by: &Principal,
        query: &ExecutionQuery,
        page: Page,
    ) -> Result<(Vec<Execution>, u64)> {
        require_system(
            by,
            "replication",
            Action::List,
            "only system administrators may list replications",
        )?;
        let (items, total) = self.store.replication_executions(query, page).await?;
        let mut out = Vec::with_capacity(items.len());
        for e in items {
            out.push(self.reconcile(e).await?);
        }
        Ok((out, total))
    }

    /// One execution (`replication:read`).
    pub async fn execution(&self, by: &Principal, id: i64) -> Result<Execution> {
        require_system(
            by,
            "replication",
            Action::Read,
            "only system administrators may see replications",
        )?;
        let e = self
            .store
            .replication_execution(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("replication execution {id} not found")))?;
        self.reconcile(e).await
    }

    /// Stops an execution (`replication:update`): its job stops between artifacts (a
    /// blob being copied is interrupted); an execution not running yet stops at once.
    pub async fn stop(&self, by: &Principal, id: i64) -> Result<()> {
        let e = self.execution(by, id).await?;
        require_system(
            by,
            "replication",
            Action::Update,
            "only system administrators may stop replications",
        )?;
        if e.status != ExecutionStatus::InProgress {
            return Ok(());
        }
        if let Some(job_id) = e.job_id {
            self.jobs.request_stop(job_id, now_ms()).await?;
        }
        self.reconcile(e).await.map(drop)
    }

    /// An execution and its tasks (`replication:read`).
    pub async fn tasks(&self, by: &Principal, execution_id: i64) -> Result<(Execution, Vec<Task>)> {
        let e = self.execution(by, execution_id).await?;
        let tasks = self.store.replication_tasks(execution_id).await?;
        Ok((e, tasks))
    }

    /// A task's log (`replication:read`).
    pub async fn task_log(
        &self,
        by: &Principal,
        execution_id: i64,
        task_id: i64,
    ) -> Result<Vec<(i64, String)>> {
        self.execution(by, execution_id).await?;
        match self.store.replication_task(task_id).await? {
            Some(t) if t.execution_id == execution_id => self.store.replication_log(task_id).await,
            _ => Err(Error::NotFound(format!(
                "task {task_id} of execution {execution_id} not found"
            ))),
        }
    }
}
