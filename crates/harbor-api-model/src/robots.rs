//! Robot accounts and the permissions they may hold.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `Robot`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Robot {
    /// Id.
    pub id: i64,
    /// Login name (`robot$...`).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// `system` or `project`.
    #[serde(default)]
    pub level: String,
    /// Lifetime in days (-1 never expires).
    #[serde(default)]
    pub duration: i64,
    /// May be edited.
    #[serde(default)]
    pub editable: bool,
    /// Disabled.
    #[serde(default)]
    pub disable: bool,
    /// Expiry in seconds since the epoch (-1 never).
    #[serde(default)]
    pub expires_at: i64,
    /// What it may do.
    #[serde(default)]
    pub permissions: Vec<RobotPermission>,
    /// Who created it (ours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// `local` (a user) or `robot`.
    #[serde(default)]
    pub creator_type: String,
    /// The creating account's id.
    #[serde(default)]
    pub creator_ref: i64,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
}

/// Harbor's `RobotCreate`; also the body of `PUT /robots/{id}` (the fields to change).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RobotCreate {
    /// Name, without prefix or project.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The secret to use; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `system` or `project`.
    #[serde(default)]
    pub level: String,
    /// Created (or set) disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<bool>,
    /// Lifetime in days: -1 never expires, 0 the system default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// What it may do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<RobotPermission>>,
}

/// Harbor's `RobotCreated`: the secret is shown this once.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RobotCreated {
    /// Id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// The secret: store it now, it cannot be read again.
    pub secret: String,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Expiry in seconds since the epoch (-1 never).
    #[serde(default)]
    pub expires_at: i64,
}

impl std::fmt::Debug for RobotCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotCreated")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Harbor's `RobotSec`: a secret to set (request; absent or empty: generate one) or the
/// new secret (response).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RobotSec {
    /// The secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl std::fmt::Debug for RobotSec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotSec").finish_non_exhaustive()
    }
}

/// Harbor's `RobotPermission`: what a robot may do in a namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RobotPermission {
    /// `project` or `system`.
    pub kind: String,
    /// A project's name (`*`: every project) or `/` for `system`.
    pub namespace: String,
    /// The allowed (resource, action) pairs.
    #[serde(default)]
    pub access: Vec<Access>,
}

/// Harbor's `Access`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Access {
    /// Resource, e.g. `repository`.
    pub resource: String,
    /// Action, e.g. `pull`.
    pub action: String,
    /// `allow` (or empty); nothing else is supported.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub effect: String,
}

/// Harbor's `Permissions`: what robots may be given, per level.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Permissions {
    /// System-level pairs (system administrators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Vec<Permission>>,
    /// Project-level pairs.
    #[serde(default)]
    pub project: Vec<Permission>,
}

/// Harbor's `Permission`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Permission {
    /// Resource.
    pub resource: String,
    /// Action.
    pub action: String,
}
