//! Scanner registrations (Harbor's `/scanners`): the scanner adapters this server calls,
//! the system default and each project's choice, and the [`ScannerStore`] port.
//! Credentials arrive sealed (the service seals them with the server's key).

use async_trait::async_trait;

use crate::error::Result;
use crate::events::NewEvent;

/// How the server authenticates to a scanner adapter (Harbor's `auth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterAuth {
    /// No credential.
    None,
    /// `Authorization: Basic <credential>` (the credential is `user:password`).
    Basic,
    /// `Authorization: Bearer <credential>`.
    Bearer,
    /// `X-ScannerAdapter-API-Key: <credential>`.
    ApiKey,
}

impl AdapterAuth {
    /// Harbor's name: `""`, `Basic`, `Bearer`, `X-ScannerAdapter-API-Key`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Basic => "Basic",
            Self::Bearer => "Bearer",
            Self::ApiKey => "X-ScannerAdapter-API-Key",
        }
    }

    /// Parses Harbor's name (`None` for an unknown one).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Basic, Self::Bearer, Self::ApiKey]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// What an administrator sets on a registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationSettings {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The adapter's base URL (its API is under `<url>/api/v1`).
    pub url: String,
    /// A disabled registration is not used for scans.
    pub disabled: bool,
    /// How to authenticate to the adapter.
    pub auth: AdapterAuth,
    /// The credential, sealed; empty for none.
    pub sealed_credential: Vec<u8>,
    /// Skip TLS verification of the adapter.
    pub skip_cert_verify: bool,
    /// Give the adapter the registry's internal address to pull from.
    pub use_internal_addr: bool,
}

/// A stored registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannerRegistration {
    /// Its identifier (a UUID), Harbor's `uuid`.
    pub uuid: String,
    /// The settings.
    pub settings: RegistrationSettings,
    /// Whether it is the system default.
    pub is_default: bool,
    /// Creation time (ms).
    pub created_ms: i64,
    /// Last change (ms).
    pub updated_ms: i64,
}

/// Storage of scanner registrations and project choices.
#[async_trait]
pub trait ScannerStore: Send + Sync {
    /// Stores a new registration with `events`; the first one becomes the default.
    /// [`crate::Error::Conflict`] for a name or URL in use.
    async fn create_registration(
        &self,
        uuid: &str,
        settings: &RegistrationSettings,
        events: &[NewEvent],
    ) -> Result<ScannerRegistration>;
    /// One registration.
    async fn registration(&self, uuid: &str) -> Result<Option<ScannerRegistration>>;
    /// Every registration, oldest first.
    async fn registrations(&self) -> Result<Vec<ScannerRegistration>>;
    /// Replaces a registration's settings with `events`. [`crate::Error::NotFound`] if gone.
    async fn update_registration(
        &self,
        uuid: &str,
        settings: &RegistrationSettings,
        events: &[NewEvent],
    ) -> Result<ScannerRegistration>;
    /// Deletes a registration and the project choices of it, with `events`.
    /// [`crate::Error::NotFound`] if gone.
    async fn delete_registration(&self, uuid: &str, events: &[NewEvent]) -> Result<()>;
    /// Makes a registration the system default (and no other).
    async fn set_default_registration(&self, uuid: &str, events: &[NewEvent]) -> Result<()>;
    /// The registration a project chose, if any.
    async fn project_registration(&self, project_id: i64) -> Result<Option<String>>;
    /// Sets a project's registration.
    async fn set_project_registration(
        &self,
        project_id: i64,
        uuid: &str,
        events: &[NewEvent],
    ) -> Result<()>;
}
