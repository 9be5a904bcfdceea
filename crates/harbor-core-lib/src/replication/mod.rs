//! Replication: policies that copy artifacts between this registry and a remote one
//! ([`policy`]), their executions and tasks (Harbor's model and statuses), and the
//! [`ReplicationStore`] port. The copying itself (`harbor-platform`'s replication job
//! over `harbor-remote`) needs network access and lives above the core.

pub mod policy;

use async_trait::async_trait;

use crate::error::Result;
use crate::events::NewEvent;
use crate::identity::{Match, Page};

pub use policy::{
    FilterInput, Filters, Policy, PolicySettings, ResourceKind, Trigger, destination_repository,
    filter_inputs, parse_filters, schedule_name,
};

/// The job kind of a replication execution.
pub const JOB_KIND: &str = "REPLICATION";

/// An execution's state, with Harbor's API names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// Planned or copying.
    InProgress,
    /// Every task succeeded (or there was nothing to copy).
    Succeed,
    /// A task failed, or the execution could not be planned.
    Failed,
    /// Stopped on request.
    Stopped,
}

impl ExecutionStatus {
    /// Harbor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::InProgress => "InProgress",
            ExecutionStatus::Succeed => "Succeed",
            ExecutionStatus::Failed => "Failed",
            ExecutionStatus::Stopped => "Stopped",
        }
    }

    /// Parses Harbor's name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            ExecutionStatus::InProgress,
            ExecutionStatus::Succeed,
            ExecutionStatus::Failed,
            ExecutionStatus::Stopped,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Harbor's rule: any task active → in progress; else any failed → failed; else any
    /// stopped → stopped; else succeeded.
    pub fn of_tasks(counts: &TaskCounts) -> Self {
        if counts.in_progress > 0 {
            ExecutionStatus::InProgress
        } else if counts.failed > 0 {
            ExecutionStatus::Failed
        } else if counts.stopped > 0 {
            ExecutionStatus::Stopped
        } else {
            ExecutionStatus::Succeed
        }
    }
}

/// A task's state, with Harbor's API names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// Not started.
    Pending,
    /// Copying.
    InProgress,
    /// Done.
    Succeed,
    /// Gave up; the log says why.
    Failed,
    /// Stopped on request before it finished.
    Stopped,
}

impl TaskStatus {
    /// Harbor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "Pending",
            TaskStatus::InProgress => "InProgress",
            TaskStatus::Succeed => "Succeed",
            TaskStatus::Failed => "Failed",
            TaskStatus::Stopped => "Stopped",
        }
    }

    /// Parses Harbor's name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            TaskStatus::Pending,
            TaskStatus::InProgress,
            TaskStatus::Succeed,
            TaskStatus::Failed,
            TaskStatus::Stopped,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether the task has ended.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Succeed | TaskStatus::Failed | TaskStatus::Stopped
        )
    }
}

/// Task counts of an execution (Harbor's `total`, `failed`, ...). Pending tasks count as
/// in progress, as in Harbor's API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// All tasks.
    pub total: i64,
    /// Failed.
    pub failed: i64,
    /// Succeeded.
    pub succeed: i64,
    /// Pending or running.
    pub in_progress: i64,
    /// Stopped.
    pub stopped: i64,
}

/// A stored execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// Id.
    pub id: i64,
    /// Its policy.
    pub policy_id: i64,
    /// `manual`, `scheduled` or `event_based`.
    pub trigger: String,
    /// State.
    pub status: ExecutionStatus,
    /// Why it ended as it did, or what it is doing.
    pub status_text: String,
    /// The job running it.
    pub job_id: Option<i64>,
    /// Whether its tasks were planned.
    pub planned: bool,
    /// Started at (ms).
    pub started_ms: i64,
    /// Ended at (ms).
    pub ended_ms: Option<i64>,
    /// Its tasks' counts.
    pub counts: TaskCounts,
}

/// A task to plan: one source repository, what to do with which of its references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTask {
    /// `copy` or `deletion`.
    pub operation: String,
    /// `image` or `artifact`.
    pub resource_type: String,
    /// The source repository.
    pub src_repository: String,
    /// The destination repository.
    pub dst_repository: String,
    /// Tags (and digests of untagged artifacts) to copy or delete.
    pub references: Vec<String>,
}

/// A stored task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Id.
    pub id: i64,
    /// Its execution.
    pub execution_id: i64,
    /// State.
    pub status: TaskStatus,
    /// What it does.
    pub plan: NewTask,
    /// Artifacts copied (or deleted) so far.
    pub done: Vec<String>,
    /// Started at (ms).
    pub started_ms: Option<i64>,
    /// Ended at (ms).
    pub ended_ms: Option<i64>,
}

impl Task {
    /// Harbor's `src_resource`: `repo:[t1,t2]`-like.
    pub fn src_resource(&self) -> String {
        format!(
            "{} [{} item(s) in total]",
            self.plan.src_repository,
            self.plan.references.len()
        )
    }
}

/// Which executions a listing returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionQuery {
    /// Of one policy.
    pub policy_id: Option<i64>,
    /// In one state.
    pub status: Option<ExecutionStatus>,
    /// Started one way: `manual`, `scheduled` or `event_based`.
    pub trigger: Option<String>,
}

/// Which policies a listing returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyQuery {
    /// By name.
    pub name: Option<Match>,
}

/// Storage of replication policies, executions, tasks and task logs.
#[async_trait]
pub trait ReplicationStore: Send + Sync {
    /// Stores a new policy and `events` in one transaction ([`crate::Error::Conflict`] for
    /// a taken name, [`crate::Error::NotFound`] for a missing registry).
    async fn create_replication_policy_emitting(
        &self,
        settings: &PolicySettings,
        creator: &str,
        events: &[NewEvent],
    ) -> Result<Policy>;
    /// One policy.
    async fn replication_policy(&self, id: i64) -> Result<Option<Policy>>;
    /// A page of policies by id, and the total.
    async fn replication_policies(
        &self,
        query: &PolicyQuery,
        page: Page,
    ) -> Result<(Vec<Policy>, u64)>;
    /// Every enabled push-based policy (for event-based triggers).
    async fn push_replication_policies(&self) -> Result<Vec<Policy>>;
    /// Replaces a policy's settings.
    async fn update_replication_policy_emitting(
        &self,
        id: i64,
        settings: &PolicySettings,
        events: &[NewEvent],
    ) -> Result<Policy>;
    /// Deletes a policy with its executions; [`crate::Error::Precondition`] while one is
    /// in progress.
    async fn delete_replication_policy_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()>;
    /// Starts an execution of `policy_id`, unless one is in progress: then `None`. One
    /// transaction, so two starts never both succeed.
    async fn start_replication(
        &self,
        policy_id: i64,
        trigger: &str,
        events: &[NewEvent],
    ) -> Result<Option<Execution>>;
    /// Records the job that runs an execution.
    async fn set_replication_job(&self, id: i64, job_id: i64) -> Result<()>;
    /// One execution with its counts.
    async fn replication_execution(&self, id: i64) -> Result<Option<Execution>>;
    /// A page of the executions `query` selects, newest first, and the total.
    async fn replication_executions(
        &self,
        query: &ExecutionQuery,
        page: Page,
    ) -> Result<(Vec<Execution>, u64)>;
    /// Stores an execution's tasks, once: if it has tasks already, nothing changes (a
    /// resumed run keeps its plan). Marks it planned.
    async fn plan_replication(&self, id: i64, tasks: &[NewTask]) -> Result<()>;
    /// An execution's tasks, in plan order.
    async fn replication_tasks(&self, execution_id: i64) -> Result<Vec<Task>>;
    /// One task.
    async fn replication_task(&self, id: i64) -> Result<Option<Task>>;
    /// Moves a task to `status` (setting its start or end time) and records what it
    /// has done so far.
    async fn update_replication_task(
        &self,
        id: i64,
        status: TaskStatus,
        done: &[String],
    ) -> Result<()>;
    /// Appends lines to a task's log.
    async fn append_replication_log(&self, id: i64, lines: &[(i64, String)]) -> Result<()>;
    /// A task's log.
    async fn replication_log(&self, id: i64) -> Result<Vec<(i64, String)>>;
    /// Ends an execution (its tasks not yet final become `Stopped` when it is stopped,
    /// `Failed` otherwise) with `events`.
    async fn finish_replication_emitting(
        &self,
        id: i64,
        status: ExecutionStatus,
        status_text: &str,
        events: &[NewEvent],
    ) -> Result<()>;
}
