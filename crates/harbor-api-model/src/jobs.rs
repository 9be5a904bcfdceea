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

/// Harbor's `Schedule` as a request: a run now (`Manual`), a schedule, or none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScheduleBody {
    /// What to set; `Manual` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleObj>,
    /// The job's parameters.
    #[serde(default)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
}
