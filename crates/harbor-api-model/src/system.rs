//! System information, health and configuration.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Harbor's `GeneralInfo` (`GET /systeminfo`): the first fields for everyone, the rest
/// for signed-in callers only, with our robot settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GeneralInfo {
    /// `db_auth`.
    #[serde(default)]
    pub auth_mode: String,
    /// Always false.
    #[serde(default)]
    pub primary_auth_mode: bool,
    /// Whether anyone may sign up.
    #[serde(default)]
    pub self_registration: bool,
    /// `harbor-rs v<version>`.
    #[serde(default)]
    pub harbor_version: String,
    /// The portal's banner (a JSON string, empty for none).
    #[serde(default)]
    pub banner_message: String,
    /// Always empty.
    #[serde(default)]
    pub oidc_provider_name: String,
    /// The server's clock.
    #[serde(default)]
    pub current_time: String,
    /// The registry's host (and port), for `docker login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_url: Option<String>,
    /// The external URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// `everyone` or `adminonly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_creation_restriction: Option<String>,
    /// Always false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_ca_root: Option<bool>,
    /// Whether writes are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// `filesystem` or `s3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_storage_provider_name: Option<String>,
    /// Always false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_chartmuseum: Option<bool>,
    /// Always false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_enable: Option<bool>,
    /// Robot names start with it (`robot$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robot_name_prefix: Option<String>,
    /// Days a robot lives by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robot_token_duration: Option<i64>,
}

/// Harbor's `OverallHealthStatus` (`GET /health`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OverallHealthStatus {
    /// `healthy` or `unhealthy`.
    pub status: String,
    /// Each component.
    #[serde(default)]
    pub components: Vec<ComponentHealthStatus>,
}

/// Harbor's `ComponentHealthStatus`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ComponentHealthStatus {
    /// `core`, `database` or `registry`.
    pub name: String,
    /// `healthy` or `unhealthy`.
    pub status: String,
    /// Why it is unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One setting of `GET /configurations` (Harbor's `BoolConfigItem`, `StringConfigItem`
/// and `IntegerConfigItem`, by the value's type).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigItem {
    /// The value.
    pub value: Value,
    /// Whether `PUT /configurations` may change it.
    pub editable: bool,
}

/// `GET /configurations`: every setting by Harbor's name.
pub type ConfigurationsResponse = BTreeMap<String, ConfigItem>;

/// What a stored-usage check of a project's quota found (`POST /quotas/{id}/recount`,
/// ours): the usage stored, charged to the project's blobs and recounted from its
/// artifacts, the blobs whose charge drifted and whether the stored usage was repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QuotaRecount {
    /// The quota's id.
    pub id: i64,
    /// The project.
    #[serde(rename = "ref")]
    pub reference: crate::repositories::QuotaRef,
    /// The usage stored.
    pub stored: i64,
    /// The sum of the project's charged blobs.
    pub charged: i64,
    /// The usage recounted from the project's artifacts.
    pub recounted: i64,
    /// How many blobs are charged but unreferenced, or referenced but not charged.
    #[serde(default)]
    pub drifted_digests: u64,
    /// Whether all three agree.
    pub consistent: bool,
    /// Whether the stored usage was set to the recount.
    pub repaired: bool,
}

/// The built-in scanner's vulnerability database (`GET` and `PUT
/// /system/vulnerability-db`, ours: Harbor's scanners bring their own).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VulnerabilityDbStatus {
    /// Whether a database was imported.
    #[serde(default)]
    pub imported: bool,
    /// Where it came from (a file name, or what the uploader said).
    #[serde(default)]
    pub source: String,
    /// The newest record's modification time: the data's version.
    #[serde(default)]
    pub version: String,
    /// When it was imported.
    #[serde(default)]
    pub imported_at: String,
    /// OSV records read.
    #[serde(default)]
    pub records: u64,
    /// Advisories stored: one per affected package of a record.
    #[serde(default)]
    pub advisories: u64,
}
