//! The audit log.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `AuditLog`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuditLog {
    /// Id.
    pub id: i64,
    /// Who: a username, a robot's login name, or `system`.
    #[serde(default)]
    pub username: String,
    /// To what (`team/app:v1`, a project's name, ...).
    #[serde(default)]
    pub resource: String,
    /// Its kind: `artifact`, `tag`, `repository`, `project`, `member`, `robot`, `user`, ...
    #[serde(default)]
    pub resource_type: String,
    /// What was done: `create`, `update`, `delete`, `pull`, `login`.
    #[serde(default)]
    pub operation: String,
    /// When.
    #[serde(default)]
    pub op_time: String,
}
