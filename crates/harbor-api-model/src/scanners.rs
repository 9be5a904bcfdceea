//! Scanner registrations and project scanners: Harbor's `/scanners` and
//! `/projects/{project_name_or_id}/scanner` models. The adapter's own metadata
//! (`/scanners/{id}/metadata`) is [`crate::scanner_adapter::ScannerAdapterMetadata`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `ScannerRegistration`: a scanner adapter this server calls. Answers never
/// carry the credential (`access_credential` is empty, as in Harbor).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScannerRegistration {
    /// Its identifier.
    #[serde(default)]
    pub uuid: String,
    /// Unique name.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The adapter's base URL (its API is under `<url>/api/v1`).
    #[serde(default)]
    pub url: String,
    /// Not used for scans.
    #[serde(default)]
    pub disabled: bool,
    /// The system default.
    #[serde(default)]
    pub is_default: bool,
    /// `""`, `Basic`, `Bearer` or `X-ScannerAdapter-API-Key`.
    #[serde(default)]
    pub auth: String,
    /// Always empty in answers.
    #[serde(default)]
    pub access_credential: String,
    /// Skip TLS verification of the adapter.
    #[serde(default, rename = "skip_certVerify")]
    pub skip_cert_verify: bool,
    /// Give the adapter the registry's internal address to pull from.
    #[serde(default)]
    pub use_internal_addr: bool,
    /// Creation time.
    #[serde(default)]
    pub create_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
    /// The adapter's scanner name (Harbor fills it when it pinged the adapter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// The scanner's vendor (idem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The scanner's version (idem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `healthy` or `unhealthy` (idem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// What the scanner supports, `{"support_vulnerability": true}` (idem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<BTreeMap<String, serde_json::Value>>,
}

impl std::fmt::Debug for ScannerRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScannerRegistration")
            .field("uuid", &self.uuid)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("disabled", &self.disabled)
            .field("is_default", &self.is_default)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// Harbor's `ScannerRegistrationReq`: a registration to create, or the whole new settings
/// of one (`PUT`: an empty `access_credential` keeps the stored one while `auth` needs
/// one).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScannerRegistrationReq {
    /// Unique name.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The adapter's base URL.
    #[serde(default)]
    pub url: String,
    /// `""`, `Basic`, `Bearer` or `X-ScannerAdapter-API-Key`.
    #[serde(default)]
    pub auth: String,
    /// The credential: `user:password` for Basic, the token for Bearer, the key.
    #[serde(default)]
    pub access_credential: String,
    /// Skip TLS verification of the adapter.
    #[serde(default, rename = "skip_certVerify")]
    pub skip_cert_verify: bool,
    /// Give the adapter the registry's internal address to pull from.
    #[serde(default)]
    pub use_internal_addr: bool,
    /// Not used for scans.
    #[serde(default)]
    pub disabled: bool,
}

impl std::fmt::Debug for ScannerRegistrationReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScannerRegistrationReq")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("auth", &self.auth)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// Harbor's `ScannerRegistrationSettings`: what `POST /scanners/ping` tries.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScannerRegistrationSettings {
    /// A name.
    #[serde(default)]
    pub name: String,
    /// The adapter's base URL.
    #[serde(default)]
    pub url: String,
    /// How to authenticate.
    #[serde(default)]
    pub auth: String,
    /// The credential.
    #[serde(default)]
    pub access_credential: String,
}

impl std::fmt::Debug for ScannerRegistrationSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScannerRegistrationSettings")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// Harbor's `ProjectScanner`: the registration a project chooses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectScanner {
    /// The registration's identifier.
    pub uuid: String,
}

/// The answer for a project without a scanner (neither its own nor a default): an
/// empty object, `{}`, as Harbor answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NoScanner {}

/// Harbor's `IsDefault` (`PATCH /scanners/{registration_id}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IsDefault {
    /// `true` makes the registration the default; `false` changes nothing.
    #[serde(default)]
    pub is_default: bool,
}
