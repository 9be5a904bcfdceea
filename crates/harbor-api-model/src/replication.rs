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
