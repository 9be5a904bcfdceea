//! Harbor's `/ldap` definitions: the directory's ping, user search and import.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// LDAP settings to try (`POST /ldap/ping`); absent fields are the stored ones.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LdapConf {
    /// The directory's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_url: Option<String>,
    /// The DN to bind with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_search_dn: Option<String>,
    /// Its password (absent or empty: the stored one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_search_password: Option<String>,
    /// Where users are searched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_base_dn: Option<String>,
    /// The users' filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_filter: Option<String>,
    /// The login name attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_uid: Option<String>,
    /// 0 base, 1 one level, 2 subtree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_scope: Option<i64>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_connection_timeout: Option<i64>,
    /// Verify the directory's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_verify_cert: Option<bool>,
}

/// What a ping found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LdapPingResult {
    /// Whether the server bound and searched.
    pub success: bool,
    /// What happened.
    pub message: String,
}

/// Users to import (`POST /ldap/users/import`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LdapImportUsers {
    /// Their login names.
    #[serde(default)]
    pub ldap_uid_list: Vec<String>,
}

/// One user that was not imported (the `404` answer lists them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LdapFailedImportUser {
    /// The login name.
    pub uid: String,
    /// Why.
    pub error: String,
}

/// A directory user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LdapUser {
    /// The login name.
    pub username: String,
    /// The display name.
    pub realname: String,
    /// The e-mail address.
    pub email: String,
}
