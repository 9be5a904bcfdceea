//! Search and statistics.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::projects::Project;

/// Harbor's `Search`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Search {
    /// Matching projects the caller may see.
    #[serde(default)]
    pub project: Vec<Project>,
    /// Matching repositories the caller may see.
    #[serde(default)]
    pub repository: Vec<SearchRepository>,
}

/// Harbor's `SearchRepository`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SearchRepository {
    /// The project's id.
    pub project_id: i64,
    /// The project's name.
    pub project_name: String,
    /// Whether the project is public.
    pub project_public: bool,
    /// Full name.
    pub repository_name: String,
    /// Manifest pulls.
    pub pull_count: u64,
    /// Top-level artifacts.
    pub artifact_count: u64,
}

/// Harbor's `Statistic`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Statistic {
    /// Private projects the caller may see.
    pub private_project_count: u64,
    /// Repositories in them.
    pub private_repo_count: u64,
    /// Public projects.
    pub public_project_count: u64,
    /// Repositories in them.
    pub public_repo_count: u64,
    /// All projects (system administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_project_count: Option<u64>,
    /// All repositories (system administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_repo_count: Option<u64>,
    /// Bytes stored (system administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_storage_consumption: Option<u64>,
}
