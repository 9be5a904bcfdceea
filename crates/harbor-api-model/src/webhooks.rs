//! Webhooks: Harbor's `WebhookPolicy`, `WebhookTargetObject`, `WebhookLastTrigger`,
//! `SupportedWebhookEventTypes` and the generic `Execution`, `Task` and `Metrics` its
//! executions are listed as.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `WebhookTargetObject`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookTargetObject {
    /// `http` or `slack`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Where events are posted (`http(s)://host[:port]/path`; a query is dropped).
    #[serde(default)]
    pub address: String,
    /// Sent as the `Authorization` header; shown as `*****` once stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_header: Option<String>,
    /// Do not verify the receiver's TLS certificate.
    #[serde(default)]
    pub skip_cert_verify: bool,
    /// `Default` or `CloudEvents` (`http` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<String>,
}

/// Harbor's `WebhookPolicy`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookPolicy {
    /// Id (ignored in requests).
    #[serde(default)]
    pub id: i64,
    /// Unique in its project.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Its project (ignored in requests).
    #[serde(default)]
    pub project_id: i64,
    /// Where it sends.
    #[serde(default)]
    pub targets: Vec<WebhookTargetObject>,
    /// What it sends (`PUSH_ARTIFACT`, ...).
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Who created it.
    #[serde(default)]
    pub creator: String,
    /// Created at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    /// Changed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
    /// Whether it sends (a request without it creates an enabled policy).
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// Harbor's `WebhookLastTrigger`: a policy's last event of one type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookLastTrigger {
    /// The policy's name.
    #[serde(default)]
    pub policy_name: String,
    /// The event type.
    #[serde(default)]
    pub event_type: String,
    /// Whether the policy is enabled.
    #[serde(default)]
    pub enabled: bool,
    /// When the policy was created.
    #[serde(default)]
    pub creation_time: String,
    /// When an event of this type was last sent (absent if never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_trigger_time: Option<String>,
}

/// Harbor's `PayloadFormat`: the formats one notify type takes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PayloadFormat {
    /// `http` or `slack`.
    #[serde(default)]
    pub notify_type: String,
    /// Its formats.
    #[serde(default)]
    pub formats: Vec<String>,
}

/// Harbor's `SupportedWebhookEventTypes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SupportedWebhookEventTypes {
    /// Event types.
    #[serde(default)]
    pub event_type: Vec<String>,
    /// Notify types.
    #[serde(default)]
    pub notify_type: Vec<String>,
    /// Formats per notify type.
    #[serde(default)]
    pub payload_formats: Vec<PayloadFormat>,
}

/// Harbor's `Metrics`: task counts of an execution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Metrics {
    /// Tasks.
    #[serde(default)]
    pub task_count: i64,
    /// Succeeded.
    #[serde(default)]
    pub success_task_count: i64,
    /// Failed.
    #[serde(default)]
    pub error_task_count: i64,
    /// Waiting.
    #[serde(default)]
    pub pending_task_count: i64,
    /// Running.
    #[serde(default)]
    pub running_task_count: i64,
    /// Scheduled.
    #[serde(default)]
    pub scheduled_task_count: i64,
    /// Stopped.
    #[serde(default)]
    pub stopped_task_count: i64,
}

/// Harbor's `Execution` (a webhook delivery: vendor `WEBHOOK` or `SLACK`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Execution {
    /// Id.
    #[serde(default)]
    pub id: i64,
    /// `WEBHOOK` or `SLACK`.
    #[serde(default)]
    pub vendor_type: String,
    /// The policy's id.
    #[serde(default)]
    pub vendor_id: i64,
    /// `Pending`, `Running`, `Success`, `Error` or `Stopped`.
    #[serde(default)]
    pub status: String,
    /// Why it ended as it did, or why it waits.
    #[serde(default)]
    pub status_message: String,
    /// Its task counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// `EVENT`.
    #[serde(default)]
    pub trigger: String,
    /// `event_type` and `payload`, as Harbor's.
    #[serde(default)]
    pub extra_attrs: BTreeMap<String, serde_json::Value>,
    /// Queued at.
    #[serde(default)]
    pub start_time: String,
    /// Ended at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
}

/// Harbor's `Task` (a webhook delivery's one task, with the delivery's id).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Task {
    /// Id.
    #[serde(default)]
    pub id: i64,
    /// Its execution.
    #[serde(default)]
    pub execution_id: i64,
    /// `Pending`, `Running`, `Success`, `Error` or `Stopped`.
    #[serde(default)]
    pub status: String,
    /// Why it ended as it did, or why it waits.
    #[serde(default)]
    pub status_message: String,
    /// Attempts made.
    #[serde(default)]
    pub run_count: i32,
    /// The receiver's address and the idempotency key sent.
    #[serde(default)]
    pub extra_attrs: BTreeMap<String, serde_json::Value>,
    /// Queued at.
    #[serde(default)]
    pub creation_time: String,
    /// Changed at.
    #[serde(default)]
    pub update_time: String,
    /// First attempt at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Ended at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
}

/// What sending a test event to one target came to (`POST …/policies/{id}/test`, an
/// extension: Harbor 2 has no test call).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookTestResult {
    /// The target's address.
    #[serde(default)]
    pub address: String,
    /// Whether it answered 2xx.
    #[serde(default)]
    pub success: bool,
    /// The answer's status or why there was none.
    #[serde(default)]
    pub message: String,
}
