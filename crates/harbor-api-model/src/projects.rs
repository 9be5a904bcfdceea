//! Projects.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `ResourceList`: amounts per resource (`storage`, in bytes; -1 unlimited).
pub type ResourceList = BTreeMap<String, i64>;

/// Harbor's `Project`, with the caller's roles in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Project {
    /// Id.
    pub project_id: i64,
    /// The owner's user id.
    #[serde(default)]
    pub owner_id: i64,
    /// Name.
    pub name: String,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
    /// Always false: deleted projects are gone.
    #[serde(default)]
    pub deleted: bool,
    /// The owner's username.
    #[serde(default)]
    pub owner_name: String,
    /// Whether its visibility may be changed.
    #[serde(default)]
    pub togglable: bool,
    /// The caller's first role id (0 for none).
    #[serde(default)]
    pub current_user_role_id: i64,
    /// The caller's role ids.
    #[serde(default)]
    pub current_user_role_ids: Vec<i64>,
    /// Repositories holding an artifact (in listings and reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_count: Option<u64>,
    /// Metadata; every value a string.
    #[serde(default)]
    pub metadata: ProjectMetadata,
    /// The project's own CVE allowlist (filled in a project's read; empty in listings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve_allowlist: Option<CveAllowlist>,
    /// A proxy-cache project's upstream registry endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<i64>,
}

impl Project {
    /// Whether it is a proxy cache of a registry endpoint.
    pub fn is_proxy_cache(&self) -> bool {
        self.registry_id.is_some()
    }

    /// Whether anyone may pull from it.
    pub fn is_public(&self) -> bool {
        self.metadata.public.as_deref() == Some("true")
    }

    /// The id of its tag retention policy, if it has one.
    pub fn retention_id(&self) -> Option<i64> {
        self.metadata.retention_id.as_deref()?.parse().ok()
    }
}

/// Harbor's `ProjectMetadata`: `public` and `retention_id` by name, the other keys
/// (`auto_scan`, `severity`, ...) as strings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectMetadata {
    /// `"true"` or `"false"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<String>,
    /// The project's tag retention policy (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_id: Option<String>,
    /// The other keys.
    #[serde(flatten)]
    pub other: BTreeMap<String, String>,
}

/// Harbor's `CVEAllowlist`: the system list (`/system/CVEAllowlist`, project id 0) or a
/// project's own (`cve_allowlist`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CveAllowlist {
    /// Id (absent until the list is first written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The project's id; 0 for the system list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<i64>,
    /// Expiry in seconds since the epoch; absent for never. Once passed, the whole list
    /// is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The allowed CVEs.
    #[serde(default)]
    pub items: Vec<CveAllowlistItem>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    /// Last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
}

/// Harbor's `CVEAllowlistItem`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CveAllowlistItem {
    /// A CVE id (`CVE-2024-1234`).
    pub cve_id: String,
}

/// Harbor's `ProjectReq`: a project to create, or changes to one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectReq {
    /// Name (creation; a project cannot be renamed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// Deprecated: `metadata.public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// Metadata keys to set; values are strings (`"true"`), booleans or integers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
    /// The project's own CVE allowlist: replaces it whole when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve_allowlist: Option<CveAllowlist>,
    /// Storage limit in bytes, -1 unlimited (system administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_limit: Option<i64>,
    /// Makes the project a proxy cache of this registry endpoint (system administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<i64>,
}

impl ProjectReq {
    /// A private project named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ProjectReq {
            project_name: Some(name.into()),
            metadata: Some(BTreeMap::from([(
                "public".to_owned(),
                serde_json::Value::String("false".into()),
            )])),
            ..ProjectReq::default()
        }
    }

    /// Makes it public (or not).
    pub fn public(mut self, public: bool) -> Self {
        self.metadata.get_or_insert_with(BTreeMap::new).insert(
            "public".into(),
            serde_json::Value::String(public.to_string()),
        );
        self
    }
}

/// Harbor's `ProjectDeletable`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectDeletable {
    /// It may be deleted now.
    pub deletable: bool,
    /// Why not.
    #[serde(default)]
    pub message: String,
}

/// Harbor's `ProjectSummary`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectSummary {
    /// Repositories holding an artifact.
    pub repo_count: u64,
    /// Project admins (for those who may list members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_admin_count: Option<u64>,
    /// Maintainers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintainer_count: Option<u64>,
    /// Developers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_count: Option<u64>,
    /// Guests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_count: Option<u64>,
    /// Limited guests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited_guest_count: Option<u64>,
    /// The storage quota (for those who may read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<ProjectSummaryQuota>,
}

/// Harbor's `ProjectSummaryQuota`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectSummaryQuota {
    /// Limits (`storage` in bytes, -1 unlimited).
    #[serde(default)]
    pub hard: ResourceList,
    /// Usage.
    #[serde(default)]
    pub used: ResourceList,
}
