//! System job runs (`GCHistory`, `ExecHistory`) and schedules.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `ExecHistory` (and `GCHistory`, the same shape): one run of a system job,
/// with our run times, attempts, progress and error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecHistory {
    /// Id.
    pub id: i64,
    /// The job kind (`GARBAGE_COLLECTION`, ...).
    #[serde(default)]
    pub job_name: String,
    /// `MANUAL`, `SCHEDULE` or (for a schedule) `SCHEDULE`.
    #[serde(default)]
    pub job_kind: String,
    /// The run's parameters, as a JSON string.
    #[serde(default)]
    pub job_parameters: String,
    /// The schedule that started it (`Manual` for a manual run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleObj>,
    /// `Pending`, `Running`, `Success`, `Error`, `Stopped` (`Scheduled`, `Paused` for a
    /// schedule).
    #[serde(default)]
    pub job_status: String,
    /// Always false.
    #[serde(default)]
    pub deleted: bool,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
    /// When it started running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Runs so far (retries and lost workers count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// A stop was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_requested: Option<bool>,
    /// Progress counters, by kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<serde_json::Value>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ExecHistory {
    /// Whether the run has ended (`Success`, `Error` or `Stopped`).
    pub fn ended(&self) -> bool {
        matches!(self.job_status.as_str(), "Success" | "Error" | "Stopped")
    }

    /// The parameters as the kind's type (its default when absent or different).
    pub fn params_as<T: serde::de::DeserializeOwned + Default>(&self) -> T {
        serde_json::from_str(&self.job_parameters).unwrap_or_default()
    }

    /// Whether the run has not ended yet (`Pending` or `Running`).
    pub fn in_progress(&self) -> bool {
        matches!(self.job_status.as_str(), "Pending" | "Running")
    }

    /// The progress report as the kind's type (its default when absent or different).
    pub fn progress_as<T: serde::de::DeserializeOwned + Default>(&self) -> T {
        self.progress
            .clone()
            .and_then(|p| serde_json::from_value(p).ok())
            .unwrap_or_default()
    }
}

/// Harbor's `ScheduleObj`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScheduleObj {
    /// `Hourly`, `Daily`, `Weekly`, `Custom`, `Manual` or `None`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Six-field cron (`0 0 0 * * *`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// Next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_scheduled_time: Option<String>,
}

/// Harbor's `Schedule`: as a request, a run now (`Manual`), a schedule, or none; as the
/// answer for a job kind without a schedule, `{"schedule": {"type": "None"}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScheduleBody {
    /// What to set; `Manual` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleObj>,
    /// The job's parameters (left out when there are none).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

impl ScheduleBody {
    /// The answer for a job kind without a schedule: type `None`.
    pub fn none() -> Self {
        ScheduleBody {
            schedule: Some(ScheduleObj {
                kind: "None".into(),
                ..ScheduleObj::default()
            }),
            parameters: serde_json::Map::new(),
        }
    }
}

/// The answer to `POST /system/<kind>/schedule` that starts a run now (ours: Harbor
/// answers without a body): the run's id, as in its `Location`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecStarted {
    /// The run's id.
    pub id: i64,
}

/// Harbor's `JobQueue`, with our count of running jobs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobQueue {
    /// The job kind.
    pub job_type: String,
    /// Jobs waiting.
    #[serde(default)]
    pub count: u64,
    /// Jobs running.
    #[serde(default)]
    pub running: u64,
    /// Whether the queue is paused (never).
    #[serde(default)]
    pub paused: bool,
}

/// Harbor's `WorkerPool`: a process running jobs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerPool {
    /// The process id.
    pub pid: i64,
    /// The pool's id.
    #[serde(default)]
    pub worker_pool_id: String,
    /// When it started.
    #[serde(default)]
    pub start_at: String,
    /// Its last heartbeat.
    #[serde(default)]
    pub heartbeat_at: String,
    /// Workers.
    #[serde(default)]
    pub concurrency: i64,
    /// The host it runs on.
    #[serde(default)]
    pub host: String,
}

/// Harbor's `ScheduleTask`, with our name, type, next run, pause flag and parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScheduleTask {
    /// Id.
    pub id: i64,
    /// The job kind it starts.
    #[serde(default)]
    pub vendor_type: String,
    /// Harbor's vendor id: the retention policy's id, -1 for system jobs.
    #[serde(default)]
    pub vendor_id: i64,
    /// Six-field cron.
    #[serde(default)]
    pub cron: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
    /// Its name (`gc`, `retention:3`).
    #[serde(default)]
    pub name: String,
    /// `Hourly`, `Daily`, `Weekly` or `Custom`.
    #[serde(default)]
    pub schedule_type: String,
    /// The next run.
    #[serde(default)]
    pub next_scheduled_time: Option<String>,
    /// Whether it is paused.
    #[serde(default)]
    pub paused: bool,
    /// The parameters of the runs it starts.
    #[serde(default)]
    pub extra_attrs: serde_json::Value,
}

/// Harbor's `SchedulerStatus`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SchedulerStatus {
    /// Whether every schedule of the kind is paused.
    pub paused: bool,
}

/// Garbage collection's parameters (Harbor's `parameters`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GcParameters {
    /// Delete untagged artifacts first, so their blobs become garbage too.
    pub delete_untagged: bool,
    /// Only report what would be deleted.
    pub dry_run: bool,
    /// Concurrent blob deletions (1 to 10).
    pub workers: u32,
    /// Hours a blob must have gone untouched before it may go.
    pub time_window: u64,
}

/// The audit log purge's parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PurgeAuditParameters {
    /// Entries newer than this many hours are kept.
    pub audit_retention_hour: i64,
    /// Comma-separated operations to purge, e.g. `create,delete,pull`.
    pub include_operations: String,
    /// Only count what would be purged.
    pub dry_run: bool,
}

/// The storage check's parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FsckParameters {
    /// Delete orphaned objects older than `grace_minutes`.
    pub repair: bool,
    /// Orphans younger than this many minutes are left alone.
    pub grace_minutes: u64,
}

/// Where a garbage collection run stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct GcProgress {
    /// `untagged`, `mark`, `sweep` or `done`.
    pub phase: String,
    /// A dry run.
    pub dry_run: bool,
    /// Untagged artifacts deleted.
    pub artifacts_deleted: u64,
    /// Blob records examined.
    pub blobs_total: u64,
    /// Ranges of the digest space done (of `ranges_total`): the run's share done.
    pub ranges_done: u64,
    /// Ranges in all (0 until marking starts).
    pub ranges_total: u64,
    /// Blobs found to be garbage.
    pub blobs_candidates: u64,
    /// Blobs deleted (a dry run: that would be).
    pub blobs_deleted: u64,
    /// Bytes those blobs held.
    pub bytes_freed: u64,
    /// Blobs that could not be deleted this time.
    pub blobs_failed: u64,
    /// Unreferenced blobs kept because they were pushed or used within the time window
    /// (a later run takes them once they are older).
    pub blobs_kept_young: u64,
    /// Bytes those blobs hold.
    pub bytes_kept_young: u64,
    /// The time window of the run, in hours.
    pub time_window_hours: u64,
}

/// Where an audit log purge stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PurgeAuditProgress {
    /// Entries purged (a dry run: that would be).
    pub purged: u64,
    /// A dry run.
    pub dry_run: bool,
}
