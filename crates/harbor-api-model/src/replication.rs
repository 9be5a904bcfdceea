//! Registry endpoints (remote registries) and replication: Harbor's `/registries` and
//! `/replication/*` models.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the API shows instead of a stored secret.
pub const REDACTED_SECRET: &str = "*****";

/// Harbor's `Registry`: a remote registry replication and proxy-cache projects talk to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Registry {
    /// Id (0 on creation, and for "this registry" inside a replication policy).
    #[serde(default)]
    pub id: i64,
    /// Base URL, such as `https://registry.example.com`.
    #[serde(default)]
    pub url: String,
    /// Unique name.
    #[serde(default)]
    pub name: String,
    /// How to sign in; absent for anonymous access. Answers show the secret as `*****`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<RegistryCredential>,
    /// `harbor`, `docker-registry` or `docker-hub`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Do not verify the registry's TLS certificate.
    #[serde(default)]
    pub insecure: bool,
    /// A PEM CA certificate to verify the registry's certificate with, instead of the
    /// system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// `healthy`, `unhealthy` or `unknown` (not checked yet).
    #[serde(default)]
    pub status: String,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
}

/// Harbor's `RegistryCredential`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryCredential {
    /// `basic` (or `oauth`, sent the same way: a user name and a secret).
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The user name.
    #[serde(default)]
    pub access_key: String,
    /// The password or token; `*****` in answers.
    #[serde(default)]
    pub access_secret: String,
}

impl std::fmt::Debug for RegistryCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCredential")
            .field("kind", &self.kind)
            .field("access_key", &self.access_key)
            .field("access_secret", &REDACTED_SECRET)
            .finish()
    }
}

/// Harbor's `RegistryUpdate`: the fields to change; absent ones stay.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryUpdate {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// New credential type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    /// New user name; an empty one removes the credential (anonymous access).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// New secret; `*****` (what answers show) keeps the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_secret: Option<String>,
    /// New TLS verification setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// New CA certificate; empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
}

impl std::fmt::Debug for RegistryUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryUpdate")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("access_key", &self.access_key)
            .field(
                "access_secret",
                &self.access_secret.as_ref().map(|_| REDACTED_SECRET),
            )
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

/// Harbor's `RegistryPing`: a stored registry (`id`) and/or the settings to try.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryPing {
    /// A stored registry; the other fields override its settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Credential type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// Secret; `*****` keeps the stored registry's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_secret: Option<String>,
    /// Skip TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// CA certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
}

impl std::fmt::Debug for RegistryPing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryPing")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("access_key", &self.access_key)
            .field(
                "access_secret",
                &self.access_secret.as_ref().map(|_| REDACTED_SECRET),
            )
            .finish_non_exhaustive()
    }
}

/// Harbor's `RegistryInfo`: what replication can do with a registry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryInfo {
    /// The registry's type.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The filters policies may use with it.
    #[serde(default)]
    pub supported_resource_filters: Vec<FilterStyle>,
    /// `manual`, `scheduled`, `event_based`.
    #[serde(default)]
    pub supported_triggers: Vec<String>,
    /// Whether blobs may be copied in chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_copy_by_chunk: Option<bool>,
}

/// Harbor's `FilterStyle`: a filter type and how the portal asks for its value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FilterStyle {
    /// `name`, `tag`, `label` or `resource`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `input`, `list` or `radio`.
    #[serde(default)]
    pub style: String,
    /// The choices, for `list` and `radio`.
    #[serde(default)]
    pub values: Vec<String>,
}

/// Harbor's `RegistryProviderInfo` (`/replication/adapterinfos`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryProviderInfo {
    /// The URLs the type works with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_pattern: Option<RegistryProviderEndpointPattern>,
    /// The credential the type asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_pattern: Option<RegistryProviderCredentialPattern>,
}

/// Harbor's `RegistryProviderEndpointPattern`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryProviderEndpointPattern {
    /// `EndpointPatternTypeFix` (only `endpoints`), `EndpointPatternTypeList` or
    /// `EndpointPatternTypeStandard` (any URL).
    #[serde(default)]
    pub endpoint_type: String,
    /// The URLs offered.
    #[serde(default)]
    pub endpoints: Vec<RegistryEndpoint>,
}

/// Harbor's `RegistryEndpoint`: one URL offered for a registry type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryEndpoint {
    /// Its label.
    #[serde(default)]
    pub key: String,
    /// The URL.
    #[serde(default)]
    pub value: String,
}

/// Harbor's `RegistryProviderCredentialPattern`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryProviderCredentialPattern {
    /// How the access key is given.
    #[serde(default)]
    pub access_key_type: String,
    /// Its fixed value, if any.
    #[serde(default)]
    pub access_key_data: String,
    /// How the secret is given.
    #[serde(default)]
    pub access_secret_type: String,
    /// Its fixed value, if any.
    #[serde(default)]
    pub access_secret_data: String,
}

/// The map `/replication/adapterinfos` answers: registry type → what it offers.
pub type RegistryProviderInfos = BTreeMap<String, RegistryProviderInfo>;

/// Harbor's `ReplicationPolicy`. `src_registry` or `dest_registry` is this registry:
/// absent (or id 0) in requests; in answers, `{"id": 0, "name": "Local", ...}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReplicationPolicy {
    /// Id.
    #[serde(default)]
    pub id: i64,
    /// Unique name.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Where artifacts come from (pull-based when remote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_registry: Option<Registry>,
    /// Where they go (push-based when remote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_registry: Option<Registry>,
    /// Destination namespace; empty keeps the source's names.
    #[serde(default)]
    pub dest_namespace: String,
    /// How many leading path components the namespace replaces (-1: all but the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_namespace_replace_count: Option<i8>,
    /// When it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<ReplicationTrigger>,
    /// What it copies.
    #[serde(default)]
    pub filters: Vec<ReplicationFilter>,
    /// Deprecated alias of `deletion`.
    #[serde(default)]
    pub replicate_deletion: bool,
    /// Replicate deletes (event-based).
    #[serde(default)]
    pub deletion: bool,
    /// Overwrite destination tags pointing elsewhere.
    #[serde(default)]
    pub r#override: bool,
    /// Disabled policies do not run.
    #[serde(default)]
    pub enabled: bool,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
    /// Bandwidth per task in kbit/s; 0 or -1 is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<i32>,
    /// Push blobs in chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_by_chunk: Option<bool>,
    /// Skip a start while an execution is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_active_replication: Option<bool>,
}

/// Harbor's `ReplicationFilter`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReplicationFilter {
    /// `name`, `tag`, `label` or `resource`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// A pattern, `image`/`artifact`, or for `label` a list of names.
    #[serde(default)]
    pub value: serde_json::Value,
    /// `matches` or `excludes`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub decoration: String,
}

/// Harbor's `ReplicationTrigger`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReplicationTrigger {
    /// `manual`, `scheduled` or `event_based`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The cron of a scheduled trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_settings: Option<ReplicationTriggerSettings>,
}

/// Harbor's `ReplicationTriggerSettings`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReplicationTriggerSettings {
    /// Harbor's six-field cron (seconds first).
    #[serde(default)]
    pub cron: String,
}

/// Harbor's `ReplicationExecution`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReplicationExecution {
    /// Id.
    #[serde(default)]
    pub id: i64,
    /// Its policy.
    #[serde(default)]
    pub policy_id: i64,
    /// `InProgress`, `Succeed`, `Failed` or `Stopped`.
    #[serde(default)]
    pub status: String,
    /// `manual`, `scheduled` or `event_based`.
    #[serde(default)]
    pub trigger: String,
    /// Start time.
    #[serde(default)]
    pub start_time: String,
    /// End time (absent while in progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Why it ended as it did.
    #[serde(default)]
    pub status_text: String,
    /// Tasks.
    #[serde(default)]
    pub total: i64,
    /// Failed tasks.
    #[serde(default)]
    pub failed: i64,
    /// Succeeded tasks.
    #[serde(default)]
    pub succeed: i64,
    /// Pending or running tasks.
    #[serde(default)]
    pub in_progress: i64,
    /// Stopped tasks.
    #[serde(default)]
    pub stopped: i64,
}

/// Harbor's `ReplicationTask`: one source repository of an execution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReplicationTask {
    /// Id.
    #[serde(default)]
    pub id: i64,
    /// Its execution.
    #[serde(default)]
    pub execution_id: i64,
    /// `Pending`, `InProgress`, `Succeed`, `Failed` or `Stopped`.
    #[serde(default)]
    pub status: String,
    /// The job running it.
    #[serde(default)]
    pub job_id: String,
    /// `copy` or `deletion`.
    #[serde(default)]
    pub operation: String,
    /// `image` or `artifact`.
    #[serde(default)]
    pub resource_type: String,
    /// `repo [N item(s) in total]`.
    #[serde(default)]
    pub src_resource: String,
    /// The destination repository.
    #[serde(default)]
    pub dst_resource: String,
    /// Start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// End time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
}

/// Harbor's `StartReplicationExecution`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StartReplicationExecution {
    /// The policy to run.
    #[serde(default)]
    pub policy_id: i64,
}
