//! Durable background jobs: the records, the [`JobStore`] port, Harbor's 6-field cron
//! expressions and the [`JobRunner`] that claims and runs jobs on every replica.
//!
//! A job is a row in the store: `Pending` until a worker claims it (`Running`, with a
//! lease the worker keeps extending by heartbeats), then `Success`, `Error` or `Stopped`.
//! A worker that dies stops heartbeating; once its lease expires another worker claims
//! the job again (or ends it as `Error` when it has used all its attempts). Schedules
//! fire once per period across replicas because firing is a compare-and-set on the
//! schedule's next run, done in the same transaction as the enqueue.

mod context;
pub mod cron;
pub mod kinds;
mod runner;
mod store;

pub use context::{JobContext, JobError};
pub use cron::{Cron, CronError};
pub use runner::{JobHandler, JobRunner, RunnerConfig, RunnerHandle};
pub use store::JobStore;

/// The state of a job, with Harbor's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting to be claimed (possibly not before its `run_after`).
    Pending,
    /// Claimed by a worker that holds a lease on it.
    Running,
    /// Finished successfully.
    Success,
    /// Failed for good (out of attempts, not retryable, or its worker was lost).
    Error,
    /// Stopped on request.
    Stopped,
}

impl JobStatus {
    /// Harbor's string: `"Pending"`, `"Running"`, `"Success"`, `"Error"`, `"Stopped"`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "Pending",
            JobStatus::Running => "Running",
            JobStatus::Success => "Success",
            JobStatus::Error => "Error",
            JobStatus::Stopped => "Stopped",
        }
    }

    /// Parses Harbor's string (exact case).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Pending" => JobStatus::Pending,
            "Running" => JobStatus::Running,
            "Success" => JobStatus::Success,
            "Error" => JobStatus::Error,
            "Stopped" => JobStatus::Stopped,
            _ => return None,
        })
    }

    /// True for `Success`, `Error` and `Stopped`: the job will not run again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Success | JobStatus::Error | JobStatus::Stopped
        )
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What started a job (Harbor's `job_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Started by a user (`"MANUAL"`).
    Manual,
    /// Started by a schedule (`"SCHEDULE"`).
    Schedule,
    /// Started by an event (`"EVENT"`: event-based replication).
    Event,
}

impl Trigger {
    /// Harbor's string: `"MANUAL"` or `"SCHEDULE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "MANUAL",
            Trigger::Schedule => "SCHEDULE",
            Trigger::Event => "EVENT",
        }
    }

    /// Parses Harbor's string, ignoring case (`"Manual"` appears in some of its APIs).
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("MANUAL") {
            Some(Trigger::Manual)
        } else if s.eq_ignore_ascii_case("SCHEDULE") {
            Some(Trigger::Schedule)
        } else if s.eq_ignore_ascii_case("EVENT") {
            Some(Trigger::Event)
        } else {
            None
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// What to run (the name a handler is registered under, e.g. `"GARBAGE_COLLECTION"`).
    pub kind: String,
    /// The handler's parameters, JSON.
    pub params: String,
    /// Who started it.
    pub trigger: Trigger,
    /// Runs at most this many times (at least 1) counting retries and lost workers.
    pub max_attempts: u32,
    /// Not claimed before this time (ms); `0` or now for "at once".
    pub run_after_ms: i64,
    /// The schedule that fired it.
    pub schedule_id: Option<i64>,
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Id, increasing.
    pub id: i64,
    /// What to run.
    pub kind: String,
    /// Parameters, JSON.
    pub params: String,
    /// Who started it.
    pub trigger: Trigger,
    /// Current state.
    pub status: JobStatus,
    /// Times claimed so far (the current run included).
    pub attempts: u32,
    /// Most runs allowed.
    pub max_attempts: u32,
    /// Not claimed before this time (ms).
    pub run_after_ms: i64,
    /// The worker that claimed it last.
    pub worker: Option<String>,
    /// While `Running`: the worker's lease ends at this time (ms).
    pub lease_until_ms: Option<i64>,
    /// A stop was requested while it ran.
    pub stop_requested: bool,
    /// The handler's last reported progress, JSON (`"{}"` initially).
    pub progress: String,
    /// The last failure.
    pub error: Option<String>,
    /// The schedule that fired it.
    pub schedule_id: Option<i64>,
    /// Enqueued at (ms).
    pub created_at: i64,
    /// First claimed at (ms).
    pub started_at: Option<i64>,
    /// Last changed at (ms).
    pub updated_at: i64,
    /// Reached a final state at (ms).
    pub finished_at: Option<i64>,
}

/// Filters of the job listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobQuery {
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs in this state.
    pub status: Option<JobStatus>,
}

/// How a run ended, as the worker reports it to [`JobStore::finish`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The job did its work.
    Success,
    /// The job failed; with `retry_at_ms` (and attempts left) it runs again then.
    Failed {
        /// What went wrong.
        error: String,
        /// When to retry, or `None` for "never".
        retry_at_ms: Option<i64>,
    },
    /// The job stopped on request.
    Stopped,
}

/// The answer to a heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The worker still owns the running job (its lease was extended).
    pub owned: bool,
    /// A stop was requested.
    pub stop_requested: bool,
}

/// A stored schedule: a kind of job enqueued each time `cron` fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Id.
    pub id: i64,
    /// Unique key, e.g. `"gc"`, `"purge_audit"`, `"retention:12"`.
    pub name: String,
    /// The kind of job it enqueues.
    pub kind: String,
    /// Harbor's 6-field cron (seconds first), see [`Cron`].
    pub cron: String,
    /// Harbor's schedule type: `"Hourly"`, `"Daily"`, `"Weekly"`, `"Custom"` or `"None"`.
    pub schedule_type: String,
    /// Parameters of the jobs it enqueues, JSON.
    pub params: String,
    /// When it fires next (ms); `None` = never.
    pub next_run_ms: Option<i64>,
    /// Paused schedules do not fire.
    pub paused: bool,
    /// Created at (ms).
    pub created_at: i64,
    /// Last changed at (ms).
    pub updated_at: i64,
}

/// A schedule to create or replace (by `name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSchedule {
    /// Unique key.
    pub name: String,
    /// The kind of job it enqueues.
    pub kind: String,
    /// Harbor's 6-field cron.
    pub cron: String,
    /// `"Hourly"`, `"Daily"`, `"Weekly"`, `"Custom"` or `"None"`.
    pub schedule_type: String,
    /// Parameters of the jobs it enqueues, JSON.
    pub params: String,
    /// The first firing (ms), usually `Cron::next_after(now)`; `None` = never.
    pub next_run_ms: Option<i64>,
    /// Created paused.
    pub paused: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_trigger_strings_round_trip() {
        for s in [
            JobStatus::Pending,
            JobStatus::Running,
            JobStatus::Success,
            JobStatus::Error,
            JobStatus::Stopped,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobStatus::parse("pending"), None);
        assert!(JobStatus::Stopped.is_final() && !JobStatus::Running.is_final());
        assert_eq!(Trigger::Manual.as_str(), "MANUAL");
        assert_eq!(Trigger::parse("SCHEDULE"), Some(Trigger::Schedule));
        assert_eq!(Trigger::parse("Manual"), Some(Trigger::Manual));
        assert_eq!(Trigger::parse("EVENT"), Some(Trigger::Event));
        assert_eq!(Trigger::Event.as_str(), "EVENT");
        assert_eq!(Trigger::parse("sometimes"), None);
    }
}
