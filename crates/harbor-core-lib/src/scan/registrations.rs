//! Scanner registrations (Harbor's `/scanners`): the scanner adapters this server calls,
//! the system default and each project's choice, Harbor's rules for them and the
//! [`ScannerStore`] port. Credentials arrive sealed (the service seals them with the
//! server's key); the clear credential is checked by [`check_credential`] before.

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::events::NewEvent;
use crate::identity::Match;

/// Longest name (characters), description and URL (bytes) accepted.
const MAX_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 1024;
const MAX_URL: usize = 2048;
/// Longest credential accepted (bytes, in clear).
pub const MAX_CREDENTIAL: usize = 4096;

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

impl AdapterAuth {
    /// Whether this kind of authentication sends a credential.
    pub fn needs_credential(self) -> bool {
        self != Self::None
    }
}

/// What an administrator sets on a registration, validated by
/// [`RegistrationSettings::validate`].
#[derive(Clone, PartialEq, Eq)]
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

impl std::fmt::Debug for RegistrationSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationSettings")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("url", &self.url)
            .field("disabled", &self.disabled)
            .field("auth", &self.auth)
            .field("skip_cert_verify", &self.skip_cert_verify)
            .field("use_internal_addr", &self.use_internal_addr)
            .finish_non_exhaustive()
    }
}

impl RegistrationSettings {
    /// Applies Harbor's rules: a name (trimmed, 1 to 255 characters, no control
    /// characters), a description of at most 1024 bytes, an adapter URL (see
    /// [`normalize_adapter_url`]) and a credential exactly when `auth` sends one.
    /// Normalises the name and URL in place.
    pub fn validate(&mut self) -> Result<()> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(Error::Invalid("a scanner registration needs a name".into()));
        }
        if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(Error::Invalid(format!(
                "a scanner name has at most {MAX_NAME} characters and no control characters"
            )));
        }
        self.name = name.to_owned();
        if self.description.len() > MAX_DESCRIPTION {
            return Err(Error::Invalid(format!(
                "a scanner description has at most {MAX_DESCRIPTION} characters"
            )));
        }
        self.url = normalize_adapter_url(&self.url)?;
        if !self.auth.needs_credential() {
            self.sealed_credential.clear();
        } else if self.sealed_credential.is_empty() {
            return Err(Error::Invalid(format!(
                "access_credential is required for auth {}",
                self.auth.as_str()
            )));
        }
        Ok(())
    }
}

/// Checks a credential in clear before it is sealed: required (non-empty) exactly when
/// `auth` sends one, at most [`MAX_CREDENTIAL`] bytes, no control characters (it travels
/// in an HTTP header).
pub fn check_credential(auth: AdapterAuth, credential: &str) -> Result<()> {
    if !auth.needs_credential() {
        return Ok(());
    }
    if credential.is_empty() {
        return Err(Error::Invalid(format!(
            "access_credential is required for auth {}",
            auth.as_str()
        )));
    }
    if credential.len() > MAX_CREDENTIAL || credential.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "access_credential has at most {MAX_CREDENTIAL} bytes and no control characters"
        )));
    }
    Ok(())
}

/// An adapter's base URL as stored: `http` or `https`, a host, an optional port and path
/// (its API is under `<url>/api/v1`), no user information, query or fragment, no
/// trailing slash.
pub fn normalize_adapter_url(raw: &str) -> Result<String> {
    let raw = raw.trim();
    let bad = |why: &str| Error::Invalid(format!("invalid scanner adapter URL {raw:?}: {why}"));
    if raw.is_empty() {
        return Err(bad("a URL is required"));
    }
    if raw.len() > MAX_URL {
        return Err(bad("too long"));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("put credentials in access_credential, not in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Which registrations a listing returns (Harbor's `q` on `/scanners`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationQuery {
    /// By name.
    pub name: Option<Match>,
    /// By description.
    pub description: Option<Match>,
    /// By URL.
    pub url: Option<Match>,
}

fn text_matches(m: &Option<Match>, value: &str) -> bool {
    match m {
        None => true,
        Some(Match::Exact(v)) => value == v,
        Some(Match::Fuzzy(v)) => value.to_lowercase().contains(&v.to_lowercase()),
    }
}

impl RegistrationQuery {
    /// Whether `r` passes every filter (exact, or a case-insensitive substring).
    pub fn matches(&self, r: &ScannerRegistration) -> bool {
        let s = &r.settings;
        text_matches(&self.name, &s.name)
            && text_matches(&self.description, &s.description)
            && text_matches(&self.url, &s.url)
    }
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
    /// Stores a new registration with `events`. It becomes the default when no
    /// registration is (so the first one does). [`crate::Error::Conflict`] naming the
    /// field for a name or URL in use.
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
    /// Replaces a registration's settings with `events`. [`crate::Error::NotFound`] if
    /// gone, [`crate::Error::Conflict`] for a name or URL in use.
    async fn update_registration(
        &self,
        uuid: &str,
        settings: &RegistrationSettings,
        events: &[NewEvent],
    ) -> Result<ScannerRegistration>;
    /// Deletes a registration and the project choices of it, with `events`.
    /// [`crate::Error::NotFound`] if gone. Deleting the default leaves no default.
    async fn delete_registration(&self, uuid: &str, events: &[NewEvent]) -> Result<()>;
    /// Makes a registration the system default (and no other), atomically.
    /// [`crate::Error::NotFound`] if gone.
    async fn set_default_registration(&self, uuid: &str, events: &[NewEvent]) -> Result<()>;
    /// The registration a project chose, if any.
    async fn project_registration(&self, project_id: i64) -> Result<Option<String>>;
    /// Sets a project's registration, with `events`. [`crate::Error::NotFound`] when the
    /// project or the registration is gone.
    async fn set_project_registration(
        &self,
        project_id: i64,
        uuid: &str,
        events: &[NewEvent],
    ) -> Result<()>;
    /// Every sealed credential, by registration (for re-sealing them after a key
    /// rotation).
    async fn sealed_registration_credentials(&self) -> Result<Vec<(String, Vec<u8>)>>;
    /// Replaces one sealed credential, if it is still `old` (compare and set).
    async fn reseal_registration_credential(
        &self,
        uuid: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RegistrationSettings {
        RegistrationSettings {
            name: " Trivy ".into(),
            description: String::new(),
            url: "http://Trivy.Example.com:8080/".into(),
            disabled: false,
            auth: AdapterAuth::None,
            sealed_credential: b"dropped".to_vec(),
            skip_cert_verify: false,
            use_internal_addr: false,
        }
    }

    #[test]
    fn auth_names_round_trip() {
        for a in [
            AdapterAuth::None,
            AdapterAuth::Basic,
            AdapterAuth::Bearer,
            AdapterAuth::ApiKey,
        ] {
            assert_eq!(AdapterAuth::parse(a.as_str()), Some(a));
        }
        assert_eq!(
            AdapterAuth::parse("x-scanneradapter-api-key"),
            Some(AdapterAuth::ApiKey)
        );
        assert_eq!(AdapterAuth::parse("Digest"), None);
    }

    #[test]
    fn settings_are_normalised_and_checked() {
        let mut s = settings();
        s.validate().unwrap();
        assert_eq!(s.name, "Trivy");
        assert_eq!(s.url, "http://trivy.example.com:8080");
        assert!(s.sealed_credential.is_empty(), "no auth, no credential");

        let mut with_path = settings();
        with_path.url = "https://proxy.example.com/trivy/".into();
        with_path.validate().unwrap();
        assert_eq!(with_path.url, "https://proxy.example.com/trivy");

        let mut keyed = settings();
        keyed.auth = AdapterAuth::ApiKey;
        keyed.validate().unwrap();
        keyed.sealed_credential.clear();
        assert!(keyed.validate().is_err(), "a key without a credential");

        for (field, value) in [
            ("name", "   "),
            ("name", &"n".repeat(256)),
            ("name", "a\nb"),
            ("url", ""),
            ("url", "trivy:8080"),
            ("url", "ftp://trivy.example.com"),
            ("url", "http://u:p@trivy.example.com"),
            ("url", "http://trivy.example.com/?x=1"),
            ("url", "http://trivy.example.com/#f"),
            ("description", &"d".repeat(1025)),
        ] {
            let mut s = settings();
            match field {
                "name" => s.name = value.into(),
                "url" => s.url = value.into(),
                _ => s.description = value.into(),
            }
            assert!(
                matches!(s.validate(), Err(Error::Invalid(_))),
                "{field} {value:?}"
            );
        }
        let mut long = settings();
        long.name = "é".repeat(255);
        long.validate().unwrap();
    }

    #[test]
    fn credentials_are_checked_in_clear() {
        assert!(check_credential(AdapterAuth::None, "").is_ok());
        assert!(check_credential(AdapterAuth::Bearer, "token").is_ok());
        assert!(check_credential(AdapterAuth::Bearer, "").is_err());
        assert!(check_credential(AdapterAuth::Basic, "u:p\r\nX: y").is_err());
        assert!(check_credential(AdapterAuth::ApiKey, &"k".repeat(MAX_CREDENTIAL)).is_ok());
        assert!(check_credential(AdapterAuth::ApiKey, &"k".repeat(MAX_CREDENTIAL + 1)).is_err());
    }

    #[test]
    fn queries_filter_by_name_description_and_url() {
        let mut s = settings();
        s.validate().unwrap();
        s.description = "Aqua's scanner".into();
        let r = ScannerRegistration {
            uuid: "u".into(),
            settings: s,
            is_default: false,
            created_ms: 0,
            updated_ms: 0,
        };
        assert!(RegistrationQuery::default().matches(&r));
        let q = |name: Option<Match>, description: Option<Match>, url: Option<Match>| {
            RegistrationQuery {
                name,
                description,
                url,
            }
        };
        assert!(q(Some(Match::Fuzzy("triv".into())), None, None).matches(&r));
        assert!(q(Some(Match::Exact("Trivy".into())), None, None).matches(&r));
        assert!(!q(Some(Match::Exact("trivy".into())), None, None).matches(&r));
        assert!(q(None, Some(Match::Fuzzy("AQUA".into())), None).matches(&r));
        assert!(!q(None, None, Some(Match::Fuzzy("clair".into()))).matches(&r));
    }
}
