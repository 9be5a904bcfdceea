//! Repositories and storage quotas.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::projects::ResourceList;

/// Harbor's `Repository`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Repository {
    /// Id.
    pub id: i64,
    /// The project's id.
    #[serde(default)]
    pub project_id: i64,
    /// Full name (`project/repo`).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Top-level artifacts.
    #[serde(default)]
    pub artifact_count: u64,
    /// Manifest pulls.
    #[serde(default)]
    pub pull_count: u64,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last push or pull.
    #[serde(default)]
    pub update_time: String,
}

/// Harbor's `Quota`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Quota {
    /// Id.
    pub id: i64,
    /// The project it limits.
    #[serde(rename = "ref")]
    pub reference: QuotaRef,
    /// Limits (`storage` in bytes, -1 unlimited).
    #[serde(default)]
    pub hard: ResourceList,
    /// Usage.
    #[serde(default)]
    pub used: ResourceList,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
}

impl Quota {
    /// The project's name.
    pub fn project_name(&self) -> String {
        self.reference.name.clone()
    }

    /// The storage limit in bytes, -1 unlimited.
    pub fn limit(&self) -> i64 {
        self.hard.get("storage").copied().unwrap_or(-1)
    }

    /// Bytes stored.
    pub fn usage(&self) -> i64 {
        self.used.get("storage").copied().unwrap_or(0)
    }
}

/// Harbor's `QuotaRefObject` for a project.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QuotaRef {
    /// The project's id.
    pub id: i64,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its owner's username.
    #[serde(default)]
    pub owner_name: String,
}
