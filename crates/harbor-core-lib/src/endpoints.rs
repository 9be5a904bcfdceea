//! Registry endpoints (Harbor's `/registries`): the remote registries replication policies
//! and proxy-cache projects talk to. Their records, Harbor's rules for them and the
//! [`EndpointStore`] port. Secrets arrive here already sealed (the service seals them
//! with the configured key); the core never sees one in clear.

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::events::NewEvent;
use crate::identity::{Match, Page};

/// Longest name, description, user name and URL accepted.
const MAX_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 1024;
const MAX_ACCESS_KEY: usize = 1024;
const MAX_URL: usize = 2048;
/// Largest CA certificate bundle accepted (PEM).
const MAX_CA_CERTIFICATE: usize = 64 * 1024;

/// Docker Hub's fixed endpoint, as Harbor names it.
pub const DOCKER_HUB_URL: &str = "https://hub.docker.com";
/// Where Docker Hub serves the distribution API.
pub const DOCKER_HUB_REGISTRY_URL: &str = "https://registry-1.docker.io";

/// The kinds of remote registry this server speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointKind {
    /// Harbor or Harbor-rs: the distribution API plus Harbor's REST API (destination
    /// projects are created through it).
    Harbor,
    /// Any OCI Distribution registry (CNCF Distribution, zot, cloud registries).
    DockerRegistry,
    /// Docker Hub: `library/` for official images, its own token service.
    DockerHub,
}

impl EndpointKind {
    /// Every kind, in the order `/replication/adapters` lists them.
    pub const ALL: [EndpointKind; 3] = [
        EndpointKind::DockerHub,
        EndpointKind::DockerRegistry,
        EndpointKind::Harbor,
    ];

    /// Harbor's adapter name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Harbor => "harbor",
            EndpointKind::DockerRegistry => "docker-registry",
            EndpointKind::DockerHub => "docker-hub",
        }
    }

    /// Parses Harbor's adapter name.
    pub fn parse(s: &str) -> Result<Self> {
        EndpointKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unsupported registry type {s:?}: use {}",
                    EndpointKind::ALL.map(|k| k.as_str()).join(", ")
                ))
            })
    }

    /// What replication can do with this kind of registry (`/registries/{id}/info`).
    pub fn capabilities(self) -> Capabilities {
        match self {
            EndpointKind::Harbor => Capabilities {
                filters: &["name", "tag", "label", "resource"],
                triggers: &["manual", "scheduled", "event_based"],
                copy_by_chunk: true,
            },
            EndpointKind::DockerRegistry => Capabilities {
                filters: &["name", "tag"],
                triggers: &["manual", "scheduled", "event_based"],
                copy_by_chunk: true,
            },
            EndpointKind::DockerHub => Capabilities {
                filters: &["name", "tag"],
                triggers: &["manual", "scheduled", "event_based"],
                copy_by_chunk: false,
            },
        }
    }
}

/// What replication supports for a kind of registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Filter types: `name`, `tag`, `label`, `resource`.
    pub filters: &'static [&'static str],
    /// Trigger types: `manual`, `scheduled`, `event_based`.
    pub triggers: &'static [&'static str],
    /// Whether blobs may be pushed in chunks.
    pub copy_by_chunk: bool,
}

/// How a credential is presented. Both are a user name and a secret sent to the
/// registry's token service (or as Basic authentication).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    /// `basic`.
    Basic,
    /// `oauth`.
    OAuth,
}

impl CredentialKind {
    /// Harbor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Basic => "basic",
            CredentialKind::OAuth => "oauth",
        }
    }

    /// Parses Harbor's name; empty means `basic`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "" | "basic" => Ok(CredentialKind::Basic),
            "oauth" => Ok(CredentialKind::OAuth),
            other => Err(Error::Invalid(format!(
                "unsupported credential type {other:?}: use basic or oauth"
            ))),
        }
    }
}

/// A stored credential: the user name in clear, the secret sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredential {
    /// How it is presented.
    pub kind: CredentialKind,
    /// The user name.
    pub access_key: String,
    /// The secret, sealed with the server's secret key.
    pub sealed_secret: Vec<u8>,
}

impl std::fmt::Debug for SealedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCredential")
            .field("kind", &self.kind)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// The last health check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointStatus {
    /// Not checked since it was created or changed.
    Unknown,
    /// The last check reached the registry and the credential was accepted.
    Healthy,
    /// The last check failed.
    Unhealthy,
}

impl EndpointStatus {
    /// Harbor's name (`unknown` is ours).
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Unknown => "unknown",
            EndpointStatus::Healthy => "healthy",
            EndpointStatus::Unhealthy => "unhealthy",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s names; anything else is `Unknown`.
    pub fn parse(s: &str) -> Self {
        match s {
            "healthy" => EndpointStatus::Healthy,
            "unhealthy" => EndpointStatus::Unhealthy,
            _ => EndpointStatus::Unknown,
        }
    }
}

/// A registry endpoint's settings, validated by [`EndpointSettings::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSettings {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// What kind of registry it is.
    pub kind: EndpointKind,
    /// Base URL without a trailing slash.
    pub url: String,
    /// Sign-in, if any.
    pub credential: Option<SealedCredential>,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// PEM CA certificates to verify the registry with instead of the system's roots.
    pub ca_certificate: Option<String>,
}

impl EndpointSettings {
    /// Applies Harbor's rules: a name, a URL this server can reach registries at (see
    /// [`normalize_url`]), sizes within bounds. Normalises the URL in place.
    pub fn validate(&mut self) -> Result<()> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(Error::Invalid("a registry needs a name".into()));
        }
        if name.len() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(Error::Invalid(format!(
                "a registry name has at most {MAX_NAME} characters and no control characters"
            )));
        }
        self.name = name.to_owned();
        if self.description.len() > MAX_DESCRIPTION {
            return Err(Error::Invalid(format!(
                "a registry description has at most {MAX_DESCRIPTION} characters"
            )));
        }
        self.url = normalize_url(self.kind, &self.url)?;
        if let Some(c) = &self.credential
            && (c.access_key.len() > MAX_ACCESS_KEY || c.access_key.chars().any(char::is_control))
        {
            return Err(Error::Invalid(
                "the credential's access key is too long or holds control characters".into(),
            ));
        }
        if let Some(ca) = &self.ca_certificate {
            if ca.trim().is_empty() {
                self.ca_certificate = None;
            } else if ca.len() > MAX_CA_CERTIFICATE || !ca.contains("-----BEGIN CERTIFICATE-----") {
                return Err(Error::Invalid(
                    "ca_certificate must be PEM certificates (-----BEGIN CERTIFICATE-----), \
                     at most 64 KiB"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

/// A registry's URL as stored: `http` or `https`, a host, an optional port, no user
/// information, path, query or fragment, no trailing slash. Docker Hub's URL is fixed
/// ([`DOCKER_HUB_URL`]; empty means it).
pub fn normalize_url(kind: EndpointKind, raw: &str) -> Result<String> {
    let raw = raw.trim();
    if kind == EndpointKind::DockerHub
        && (raw.is_empty() || raw.trim_end_matches('/') == DOCKER_HUB_URL)
    {
        return Ok(DOCKER_HUB_URL.to_owned());
    }
    let bad = |why: &str| Error::Invalid(format!("invalid registry URL {raw:?}: {why}"));
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
        return Err(bad(
            "put user names and secrets in the credential, not in the URL",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no query or fragment"));
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(bad(
            "give the registry's root (the distribution API is served under /v2/ there), \
             without a path",
        ));
    }
    if kind == EndpointKind::DockerHub {
        return Err(bad(&format!("Docker Hub's URL is {DOCKER_HUB_URL}")));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Where the distribution API (`/v2/`) of an endpoint is served.
pub fn distribution_url(kind: EndpointKind, url: &str) -> &str {
    match kind {
        EndpointKind::DockerHub => DOCKER_HUB_REGISTRY_URL,
        _ => url,
    }
}

/// A stored registry endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Id.
    pub id: i64,
    /// Its settings.
    pub settings: EndpointSettings,
    /// The last health check's outcome.
    pub status: EndpointStatus,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// Last change, ms since the epoch.
    pub updated_ms: i64,
}

impl Endpoint {
    /// Where its distribution API is served.
    pub fn distribution_url(&self) -> &str {
        distribution_url(self.settings.kind, &self.settings.url)
    }
}

/// Which endpoints a listing returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointQuery {
    /// By name.
    pub name: Option<Match>,
    /// By type.
    pub kind: Option<EndpointKind>,
}

/// Storage of registry endpoints. Names are unique ([`Error::Conflict`]).
#[async_trait]
pub trait EndpointStore: Send + Sync {
    /// Stores a new endpoint (status unknown) and `events`, in one transaction.
    async fn create_endpoint_emitting(
        &self,
        settings: &EndpointSettings,
        events: &[NewEvent],
    ) -> Result<Endpoint>;
    /// One endpoint.
    async fn endpoint(&self, id: i64) -> Result<Option<Endpoint>>;
    /// A page of endpoints by id, and the total.
    async fn endpoints(&self, query: &EndpointQuery, page: Page) -> Result<(Vec<Endpoint>, u64)>;
    /// Replaces an endpoint's settings (status back to unknown) and stores `events`, in
    /// one transaction. [`Error::NotFound`] if it is gone.
    async fn update_endpoint_emitting(
        &self,
        id: i64,
        settings: &EndpointSettings,
        events: &[NewEvent],
    ) -> Result<Endpoint>;
    /// Deletes an endpoint and stores `events`, in one transaction. [`Error::NotFound`] if
    /// it is gone, [`Error::Precondition`] while a replication policy or proxy-cache
    /// project uses it.
    async fn delete_endpoint_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()>;
    /// Records a health check's outcome, unless the settings changed since `checked_ms`
    /// (the check then says nothing about them).
    async fn set_endpoint_status(
        &self,
        id: i64,
        status: EndpointStatus,
        checked_ms: i64,
    ) -> Result<()>;
    /// Every sealed secret, by endpoint id (for re-sealing them after a key rotation).
    async fn sealed_endpoint_secrets(&self) -> Result<Vec<(i64, Vec<u8>)>>;
    /// Replaces one sealed secret, if it is still `old` (compare and set).
    async fn reseal_endpoint_secret(&self, id: i64, old: &[u8], new: &[u8]) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> EndpointSettings {
        EndpointSettings {
            name: " remote ".into(),
            description: String::new(),
            kind: EndpointKind::DockerRegistry,
            url: url.into(),
            credential: None,
            insecure: false,
            ca_certificate: None,
        }
    }

    #[test]
    fn urls_are_normalised_and_checked() {
        let k = EndpointKind::DockerRegistry;
        assert_eq!(
            normalize_url(k, "https://r.example.com/").unwrap(),
            "https://r.example.com"
        );
        assert_eq!(
            normalize_url(k, " http://127.0.0.1:5000 ").unwrap(),
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            normalize_url(k, "HTTPS://R.Example.COM").unwrap(),
            "https://r.example.com"
        );
        for bad in [
            "",
            "r.example.com",
            "ftp://r.example.com",
            "file:///etc/passwd",
            "https://user:pw@r.example.com",
            "https://r.example.com/v2/",
            "https://r.example.com/?x=1",
            "https://r.example.com/#f",
            "http://",
            "https://[::1",
        ] {
            assert!(normalize_url(k, bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("https://{}.com", "a".repeat(MAX_URL));
        assert!(normalize_url(k, &long).is_err());
    }

    #[test]
    fn docker_hub_has_one_url() {
        let k = EndpointKind::DockerHub;
        assert_eq!(normalize_url(k, "").unwrap(), DOCKER_HUB_URL);
        assert_eq!(
            normalize_url(k, "https://hub.docker.com/").unwrap(),
            DOCKER_HUB_URL
        );
        assert!(normalize_url(k, "https://evil.example.com").is_err());
        assert_eq!(distribution_url(k, DOCKER_HUB_URL), DOCKER_HUB_REGISTRY_URL);
        assert_eq!(
            distribution_url(EndpointKind::Harbor, "https://h.example.com"),
            "https://h.example.com"
        );
    }

    #[test]
    fn settings_are_validated() {
        let mut s = settings("https://r.example.com/");
        s.validate().unwrap();
        assert_eq!(s.name, "remote");
        assert_eq!(s.url, "https://r.example.com");
        let mut s = settings("https://r.example.com");
        s.name = "  ".into();
        assert!(s.validate().is_err());
        let mut s = settings("https://r.example.com");
        s.name = "a\nb".into();
        assert!(s.validate().is_err());
        let mut s = settings("https://r.example.com");
        s.ca_certificate = Some("not pem".into());
        assert!(s.validate().is_err());
        let mut s = settings("https://r.example.com");
        s.ca_certificate = Some(" ".into());
        s.validate().unwrap();
        assert_eq!(s.ca_certificate, None);
    }

    #[test]
    fn kinds_and_credentials_parse() {
        for k in EndpointKind::ALL {
            assert_eq!(EndpointKind::parse(k.as_str()).unwrap(), k);
        }
        assert!(EndpointKind::parse("quay").is_err());
        assert_eq!(CredentialKind::parse("").unwrap(), CredentialKind::Basic);
        assert_eq!(
            CredentialKind::parse("oauth").unwrap(),
            CredentialKind::OAuth
        );
        assert!(CredentialKind::parse("secret").is_err());
        assert_eq!(EndpointStatus::parse("healthy"), EndpointStatus::Healthy);
        assert_eq!(EndpointStatus::parse("?"), EndpointStatus::Unknown);
        let c = SealedCredential {
            kind: CredentialKind::Basic,
            access_key: "u".into(),
            sealed_secret: b"sealed".to_vec(),
        };
        assert!(!format!("{c:?}").contains("sealed_secret"));
    }
}
