//! Project members.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `ProjectMemberEntity`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectMemberEntity {
    /// Membership id.
    pub id: i64,
    /// The project's id.
    #[serde(default)]
    pub project_id: i64,
    /// The member's username, or the group's name.
    pub entity_name: String,
    /// Role name (`projectAdmin`, `maintainer`, `developer`, `guest`, `limitedGuest`).
    #[serde(default)]
    pub role_name: String,
    /// Role id: 1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest.
    pub role_id: i64,
    /// The user's or the group's id.
    #[serde(default)]
    pub entity_id: i64,
    /// `u` for a user, `g` for a group.
    #[serde(default)]
    pub entity_type: String,
}

/// Harbor's `ProjectMember`: a membership to create.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectMember {
    /// Role id.
    pub role_id: i64,
    /// The user, by id or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_user: Option<UserEntity>,
    /// A user group, by `id`, by `ldap_group_dn` (an LDAP group), or by `group_name`
    /// and `group_type`; the group must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_group: Option<crate::usergroups::UserGroup>,
}

/// Harbor's `UserEntity`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserEntity {
    /// The user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// Harbor's `RoleRequest`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RoleRequest {
    /// Role id.
    pub role_id: i64,
}
