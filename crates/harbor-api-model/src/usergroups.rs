//! User groups (`/usergroups`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `UserGroup`: a group as listed, and as created or updated (fields absent on
/// input are left out).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserGroup {
    /// The group's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// 1 LDAP, 2 HTTP, 3 OIDC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_type: Option<i64>,
    /// The DN of an LDAP group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_group_dn: Option<String>,
}

/// Harbor's `UserGroupSearchItem`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserGroupSearchItem {
    /// The group's id.
    pub id: i64,
    /// Its name.
    pub group_name: String,
    /// 1 LDAP, 2 HTTP, 3 OIDC.
    pub group_type: i64,
}
