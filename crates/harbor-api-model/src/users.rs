//! User accounts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `UserResp`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserResp {
    /// E-mail address (empty for none).
    #[serde(default)]
    pub email: String,
    /// Display name.
    #[serde(default)]
    pub realname: String,
    /// Free text.
    #[serde(default)]
    pub comment: String,
    /// Id.
    pub user_id: i64,
    /// Login name.
    pub username: String,
    /// System administrator.
    #[serde(default)]
    pub sysadmin_flag: bool,
    /// Administrator through an external group (always false here).
    #[serde(default)]
    pub admin_role_in_auth: bool,
    /// OIDC identity, for users signed in through OIDC (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_user_meta: Option<OIDCUserInfo>,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
}

/// Harbor's `OIDCUserInfo`: how a user signs in through OIDC. The secret is shown to the
/// user and to system administrators only.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OIDCUserInfo {
    /// The record's id.
    pub id: i64,
    /// The user's id.
    pub user_id: i64,
    /// The ID token's `sub` followed by its `iss`.
    pub subiss: String,
    /// The CLI secret (`docker login -u <username> -p <secret>`).
    #[serde(default)]
    pub secret: String,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
}

/// Harbor's `OIDCCliSecretReq`.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OIDCCliSecretReq {
    /// The new secret: 8 to 128 characters with an upper-case letter, a lower-case letter
    /// and a digit.
    #[serde(default)]
    pub secret: String,
}

/// The body of `POST /system/oidc/ping`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OidcPingReq {
    /// The OIDC endpoint (issuer) to test.
    #[serde(default)]
    pub url: String,
    /// Verify the endpoint's TLS certificate.
    #[serde(default = "yes")]
    pub verify_cert: bool,
}

fn yes() -> bool {
    true
}

/// Harbor's `UserCreationReq`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserCreationReq {
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Display name.
    #[serde(default)]
    pub realname: String,
    /// Free text.
    #[serde(default)]
    pub comment: String,
    /// Password (checked against the policy).
    pub password: String,
    /// Login name.
    pub username: String,
}

/// Harbor's `UserProfile`: fields to change, the others kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserProfile {
    /// New e-mail address (blank clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realname: Option<String>,
    /// New comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Harbor's `PasswordReq`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PasswordReq {
    /// The current password (users changing their own).
    #[serde(default)]
    pub old_password: String,
    /// The new password.
    pub new_password: String,
}

/// Harbor's `UserSysAdminFlag`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserSysAdminFlag {
    /// Grant (true) or revoke (false) system administration.
    pub sysadmin_flag: bool,
}

/// Harbor's `UserSearchRespItem`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserSearchRespItem {
    /// Id.
    pub user_id: i64,
    /// Login name.
    pub username: String,
}
