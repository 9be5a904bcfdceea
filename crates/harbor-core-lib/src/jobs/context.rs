//! What a running handler sees: its job, a log, progress and the stop signal.

use std::sync::{Arc, Mutex, PoisonError};

use serde::de::DeserializeOwned;
use tokio::sync::watch;

use super::Job;
use crate::model::now_ms;

/// A handler's failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    /// What went wrong (stored as the job's error).
    pub message: String,
    /// Worth running again later (with backoff), if the job has attempts left.
    pub retryable: bool,
}

impl JobError {
    /// A failure that may pass (a back end down, a timeout).
    pub fn retryable(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that would happen again (bad parameters, a broken invariant).
    pub fn fatal(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retryable: false,
        }
    }
}

impl From<crate::Error> for JobError {
    /// Internal (back-end) errors are retryable, the others are not.
    fn from(e: crate::Error) -> Self {
        let retryable = matches!(e, crate::Error::Internal(_));
        JobError {
            message: e.to_string(),
            retryable,
        }
    }
}

/// Why a job was told to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StopReason {
    /// Not stopped.
    None,
    /// A user requested it.
    Requested,
    /// The worker no longer owns the job (its lease expired and another worker took it).
    Lost,
    /// This replica is shutting down.
    Shutdown,
}

struct State {
    logs: Mutex<Vec<(i64, String)>>,
    progress: Mutex<Option<String>>,
    stop: watch::Sender<StopReason>,
}

/// The claimed job as its handler sees it. Cheap to clone.
#[derive(Clone)]
pub struct JobContext {
    job: Arc<Job>,
    state: Arc<State>,
}

impl JobContext {
    pub(super) fn new(job: Job) -> Self {
        JobContext {
            job: Arc::new(job),
            state: Arc::new(State {
                logs: Mutex::new(Vec::new()),
                progress: Mutex::new(None),
                stop: watch::Sender::new(StopReason::None),
            }),
        }
    }

    /// The claimed job (id, kind, params, `attempts` = this run's number, ...).
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The job's parameters, decoded from JSON; a decoding error is not retryable.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_str(&self.job.params)
            .map_err(|e| JobError::fatal(format!("invalid job parameters: {e}")))
    }

    /// Adds a line to the job's log (stored with the next heartbeat and at the end).
    pub fn log(&self, line: impl Into<String>) {
        self.state
            .logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((now_ms(), line.into()));
    }

    /// Reports progress (stored with the next heartbeat; the last report wins).
    pub fn progress(&self, json: serde_json::Value) {
        *self
            .state
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(json.to_string());
    }

    /// True once the job should stop: a stop was requested, the worker lost the job, or
    /// the replica is shutting down. Long handlers check it between steps.
    pub fn is_stopped(&self) -> bool {
        *self.state.stop.borrow() != StopReason::None
    }

    /// True once a user asked the job to stop (as opposed to the replica shutting down
    /// or losing the job, after which the job runs again elsewhere): a handler that
    /// keeps its own record of a run ends it as stopped only then.
    pub fn stop_requested(&self) -> bool {
        *self.state.stop.borrow() == StopReason::Requested
    }

    /// Resolves once [`JobContext::is_stopped`] is true (for `tokio::select!`).
    pub async fn stopped(&self) {
        let mut rx = self.state.stop.subscribe();
        // The sender lives as long as `self`, so `wait_for` cannot fail here.
        let _ = rx.wait_for(|r| *r != StopReason::None).await;
    }

    /// Signals a stop; the first reason sticks.
    pub(super) fn stop(&self, reason: StopReason) {
        self.state.stop.send_if_modified(|r| {
            let first = *r == StopReason::None;
            if first {
                *r = reason;
            }
            first
        });
    }

    pub(super) fn stop_reason(&self) -> StopReason {
        *self.state.stop.borrow()
    }

    /// Takes the buffered log lines.
    pub(super) fn take_logs(&self) -> Vec<(i64, String)> {
        std::mem::take(
            &mut *self
                .state
                .logs
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Puts lines back in front (a flush failed).
    pub(super) fn restore_logs(&self, mut lines: Vec<(i64, String)>) {
        let mut logs = self
            .state
            .logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        lines.append(&mut logs);
        *logs = lines;
    }

    /// Puts a progress report back unless a newer one arrived (a heartbeat failed).
    pub(super) fn restore_progress(&self, json: String) {
        self.state
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(json);
    }

    /// Takes the last progress report.
    pub(super) fn take_progress(&self) -> Option<String> {
        self.state
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{JobStatus, Trigger};

    fn job(params: &str) -> Job {
        Job {
            id: 7,
            kind: "k".into(),
            params: params.into(),
            trigger: Trigger::Manual,
            status: JobStatus::Running,
            attempts: 1,
            max_attempts: 1,
            run_after_ms: 0,
            worker: Some("w".into()),
            lease_until_ms: Some(1),
            stop_requested: false,
            progress: "{}".into(),
            error: None,
            schedule_id: None,
            created_at: 0,
            started_at: Some(0),
            updated_at: 0,
            finished_at: None,
        }
    }

    #[test]
    fn params_logs_and_progress() {
        let ctx = JobContext::new(job(r#"{"dry_run":true}"#));
        let p: serde_json::Value = ctx.params().unwrap();
        assert_eq!(p["dry_run"], true);
        let bad = JobContext::new(job("not json"));
        let err = bad.params::<serde_json::Value>().unwrap_err();
        assert!(!err.retryable && err.message.contains("invalid job parameters"));

        ctx.log("one");
        ctx.log(String::from("two"));
        let lines = ctx.take_logs();
        assert_eq!(
            lines.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        ctx.log("three");
        ctx.restore_logs(lines);
        assert_eq!(ctx.take_logs().len(), 3);
        assert!(ctx.take_logs().is_empty());

        ctx.progress(serde_json::json!({"done": 1}));
        ctx.progress(serde_json::json!({"done": 2}));
        assert_eq!(ctx.take_progress().as_deref(), Some(r#"{"done":2}"#));
        assert_eq!(ctx.take_progress(), None);
    }

    #[tokio::test]
    async fn stop_wakes_waiters_and_keeps_the_first_reason() {
        let ctx = JobContext::new(job("{}"));
        assert!(!ctx.is_stopped());
        let waiter = {
            let ctx = ctx.clone();
            tokio::spawn(async move { ctx.stopped().await })
        };
        ctx.stop(StopReason::Requested);
        ctx.stop(StopReason::Shutdown);
        waiter.await.unwrap();
        assert!(ctx.is_stopped());
        assert_eq!(ctx.stop_reason(), StopReason::Requested);
        // Already stopped: resolves at once.
        ctx.stopped().await;
    }

    #[test]
    fn core_errors_map_to_retryable_or_not() {
        let e: JobError = crate::Error::internal(std::io::Error::other("db down")).into();
        assert!(e.retryable);
        let e: JobError = crate::Error::Invalid("bad".into()).into();
        assert!(!e.retryable && e.message == "bad");
    }
}
