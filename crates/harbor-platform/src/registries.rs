//! `Registries`: the remote registries (Harbor's `/registries`, "registry endpoints")
//! replication and proxy-cache projects talk to. System-level: system administrators,
//! and robots holding the `registry` permissions. Secrets are sealed with the server's
//! secret key before they are stored and never leave this service in clear except to
//! the code that signs in to the registry ([`Registries::credential`]).

use std::sync::Arc;

use harbor_auth::Principal;
use harbor_auth::sealing::SealingKeys;
use harbor_core::endpoints::{
    Capabilities, CredentialKind, Endpoint, EndpointKind, EndpointQuery, EndpointSettings,
    EndpointStatus, SealedCredential,
};
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::Page;
use harbor_core::model::now_ms;
use harbor_core::ports::MetadataStore;
use harbor_core::rbac::Action;
use harbor_core::{Error, Result};

use crate::access::require_system;
use crate::remote::{self, Probe, RemoteCredential};

/// What a sealed registry secret is sealed as (its additional data).
const SEALED_AS: &str = "registry credential";
/// The system resource guarding registries.
const RESOURCE: &str = "registry";
/// What the API shows, and callers send back, for a stored secret.
pub const REDACTED: &str = "*****";

/// A credential as a caller gives it: the secret in clear (sealed before storing).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CredentialInput {
    /// `basic` (default) or `oauth`.
    pub kind: String,
    /// The user name; empty means anonymous access.
    pub access_key: String,
    /// The secret; [`REDACTED`] keeps the stored one (on updates and pings).
    pub access_secret: String,
}

impl std::fmt::Debug for CredentialInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialInput")
            .field("kind", &self.kind)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// A new registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewRegistry {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// `harbor`, `docker-registry` or `docker-hub`.
    pub kind: String,
    /// Base URL (Docker Hub's is fixed; empty means it).
    pub url: String,
    /// Sign-in; `None` (or an empty access key) for anonymous access.
    pub credential: Option<CredentialInput>,
    /// Skip TLS verification.
    pub insecure: bool,
    /// PEM CA certificates to trust for it.
    pub ca_certificate: Option<String>,
}

/// Changes to a registry: `None` keeps a field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New URL.
    pub url: Option<String>,
    /// New credential type.
    pub credential_type: Option<String>,
    /// New user name; empty removes the credential.
    pub access_key: Option<String>,
    /// New secret; [`REDACTED`] keeps the stored one.
    pub access_secret: Option<String>,
    /// New TLS verification setting.
    pub insecure: Option<bool>,
    /// New CA certificates; empty removes them.
    pub ca_certificate: Option<String>,
}

/// What a ping tries: a stored registry (`id`) with `changes` applied, or, without an
/// id, the changes alone as a new registry of type `kind`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PingRequest {
    /// A stored registry.
    pub id: Option<i64>,
    /// The type, for a registry not stored.
    pub kind: Option<String>,
    /// Settings to try.
    pub changes: RegistryChanges,
}

/// The registry endpoints service.
#[derive(Clone)]
pub struct Registries {
    store: Arc<dyn MetadataStore>,
    keys: Option<Arc<SealingKeys>>,
    probe: Probe,
}

impl Registries {
    /// The service over `store`; credentials need [`with_keys`](Self::with_keys).
    pub fn new(store: Arc<dyn MetadataStore>) -> Self {
        Registries {
            store,
            keys: None,
            probe: Probe::default(),
        }
    }

    /// Seals and opens credentials with `keys`.
    pub fn with_keys(mut self, keys: Arc<SealingKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Pings registries with `probe` (its network rules and time-outs).
    pub fn with_probe(mut self, probe: Probe) -> Self {
        self.probe = probe;
        self
    }

    fn keys(&self) -> Result<&SealingKeys> {
        self.keys.as_deref().ok_or_else(|| {
            Error::Invalid(
                "registry credentials cannot be stored: this server has no secret key \
                 (Platform::with_secret_keys)"
                    .into(),
            )
        })
    }

    fn seal(&self, c: &CredentialInput) -> Result<Option<SealedCredential>> {
        if c.access_key.is_empty() {
            return Ok(None);
        }
        if c.access_secret == REDACTED {
            return Err(Error::Invalid(
                "give the credential's secret (\"*****\" only stands for a stored one)".into(),
            ));
        }
        let sealed = self
            .keys()?
            .seal(c.access_secret.as_bytes(), SEALED_AS)
            .map_err(Error::internal)?;
        Ok(Some(SealedCredential {
            kind: CredentialKind::parse(&c.kind)?,
            access_key: c.access_key.clone(),
            sealed_secret: sealed,
        }))
    }

    /// Creates a registry. Its status is `unknown` until it is pinged.
    pub async fn create(&self, by: &Principal, new: NewRegistry) -> Result<Endpoint> {
        require_system(
            by,
            RESOURCE,
            Action::Create,
            "only system administrators may add registries",
        )?;
        let mut settings = EndpointSettings {
            name: new.name,
            description: new.description,
            kind: EndpointKind::parse(&new.kind)?,
            url: new.url,
            credential: match &new.credential {
                Some(c) => self.seal(c)?,
                None => None,
            },
            insecure: new.insecure,
            ca_certificate: new.ca_certificate,
        };
        settings.validate()?;
        let event = NewEvent::now(
            by.name(),
            DomainEvent::RegistryEndpointChanged {
                name: settings.name.clone(),
                change: "create".into(),
            },
        );
        self.store
            .create_endpoint_emitting(&settings, &[event])
            .await
    }

    /// One registry.
    pub async fn get(&self, by: &Principal, id: i64) -> Result<Endpoint> {
        require_system(
            by,
            RESOURCE,
            Action::Read,
            "only system administrators may see registries",
        )?;
        self.store
            .endpoint(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("registry {id} not found")))
    }

    /// A page of registries, and the total.
    pub async fn list(
        &self,
        by: &Principal,
        query: &EndpointQuery,
        page: Page,
    ) -> Result<(Vec<Endpoint>, u64)> {
        require_system(
            by,
            RESOURCE,
            Action::List,
            "only system administrators may list registries",
        )?;
        self.store.endpoints(query, page).await
    }

    /// `stored` with `changes` applied and validated.
    fn apply(&self, stored: &EndpointSettings, c: RegistryChanges) -> Result<EndpointSettings> {
        let mut s = stored.clone();
        if let Some(v) = c.name {
            s.name = v;
        }
        if let Some(v) = c.description {
            s.description = v;
        }
        if let Some(v) = c.url {
            s.url = v;
        }
        if let Some(v) = c.insecure {
            s.insecure = v;
        }
        if let Some(v) = c.ca_certificate {
            s.ca_certificate = Some(v);
        }
        let credential_changed =
            c.credential_type.is_some() || c.access_key.is_some() || c.access_secret.is_some();
        if credential_changed {
            let kind = c.credential_type.unwrap_or_else(|| {
                stored
                    .credential
                    .as_ref()
                    .map_or("basic", |c| c.kind.as_str())
                    .to_owned()
            });
            let access_key = c.access_key.unwrap_or_else(|| {
                stored
                    .credential
                    .as_ref()
                    .map(|c| c.access_key.clone())
                    .unwrap_or_default()
            });
            s.credential = match (c.access_secret, &stored.credential) {
                _ if access_key.is_empty() => None,
                // The secret unchanged: keep the sealed bytes.
                (None, Some(old)) => Some(SealedCredential {
                    kind: CredentialKind::parse(&kind)?,
                    access_key,
                    sealed_secret: old.sealed_secret.clone(),
                }),
                (Some(secret), Some(old)) if secret == REDACTED => Some(SealedCredential {
                    kind: CredentialKind::parse(&kind)?,
                    access_key,
                    sealed_secret: old.sealed_secret.clone(),
                }),
                (secret, _) => self.seal(&CredentialInput {
                    kind,
                    access_key,
                    access_secret: secret.unwrap_or_default(),
                })?,
            };
        }
        s.validate()?;
        Ok(s)
    }

    /// Changes a registry; its status goes back to `unknown`.
    pub async fn update(
        &self,
        by: &Principal,
        id: i64,
        changes: RegistryChanges,
    ) -> Result<Endpoint> {
        require_system(
            by,
            RESOURCE,
            Action::Update,
            "only system administrators may change registries",
        )?;
        let stored = self
            .store
            .endpoint(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("registry {id} not found")))?;
        let settings = self.apply(&stored.settings, changes)?;
        let event = NewEvent::now(
            by.name(),
            DomainEvent::RegistryEndpointChanged {
                name: settings.name.clone(),
                change: "update".into(),
            },
        );
        self.store
            .update_endpoint_emitting(id, &settings, &[event])
            .await
    }

    /// Deletes a registry; refused ([`Error::Precondition`]) while a replication policy
    /// or a proxy-cache project uses it.
    pub async fn delete(&self, by: &Principal, id: i64) -> Result<()> {
        require_system(
            by,
            RESOURCE,
            Action::Delete,
            "only system administrators may delete registries",
        )?;
        let stored = self
            .store
            .endpoint(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("registry {id} not found")))?;
        let event = NewEvent::now(
            by.name(),
            DomainEvent::RegistryEndpointChanged {
                name: stored.settings.name.clone(),
                change: "delete".into(),
            },
        );
        self.store.delete_endpoint_emitting(id, &[event]).await
    }

    /// What replication can do with a registry (`/registries/{id}/info`).
    pub async fn info(&self, by: &Principal, id: i64) -> Result<(EndpointKind, Capabilities)> {
        let e = self.get(by, id).await?;
        Ok((e.settings.kind, e.settings.kind.capabilities()))
    }

    /// The registry types this server supports (`/replication/adapters`).
    pub fn adapters(&self, by: &Principal) -> Result<&'static [EndpointKind]> {
        require_system(
            by,
            "replication-adapter",
            Action::List,
            "only system administrators may list registry types",
        )?;
        Ok(&EndpointKind::ALL)
    }

    /// Checks that a registry answers and accepts its credential. With an id, the
    /// outcome is also stored as the registry's status (unless its settings changed
    /// meanwhile). Fails with [`Error::Invalid`] saying why when it is unhealthy.
    pub async fn ping(&self, by: &Principal, req: PingRequest) -> Result<()> {
        let (settings, id, credential) = match req.id {
            Some(id) => {
                require_system(
                    by,
                    RESOURCE,
                    Action::Read,
                    "only system administrators may ping registries",
                )?;
                let stored = self
                    .store
                    .endpoint(id)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("registry {id} not found")))?;
                let settings = self.apply(&stored.settings, req.changes)?;
                let credential = self.open(&settings)?;
                (settings, Some(id), credential)
            }
            None => {
                require_system(
                    by,
                    RESOURCE,
                    Action::Create,
                    "only system administrators may ping registries",
                )?;
                let c = req.changes;
                let mut s = EndpointSettings {
                    name: "ping".into(),
                    description: String::new(),
                    kind: EndpointKind::parse(req.kind.as_deref().unwrap_or_default())?,
                    url: c.url.unwrap_or_default(),
                    credential: None,
                    insecure: c.insecure.unwrap_or(false),
                    ca_certificate: c.ca_certificate,
                };
                s.validate()?;
                // Not stored: the secret is used as given, never sealed.
                let credential = match c.access_key.filter(|k| !k.is_empty()) {
                    Some(key) => {
                        CredentialKind::parse(c.credential_type.as_deref().unwrap_or_default())?;
                        let secret = c.access_secret.unwrap_or_default();
                        if secret == REDACTED {
                            return Err(Error::Invalid(
                                "give the credential's secret (\"*****\" only stands for a \
                                 stored one)"
                                    .into(),
                            ));
                        }
                        Some(RemoteCredential::basic(key, secret))
                    }
                    None => None,
                };
                (s, None, credential)
            }
        };
        let started = now_ms();
        let outcome = self.probe.ping(&settings, credential).await;
        if let Some(id) = id {
            let status = if outcome.is_ok() {
                EndpointStatus::Healthy
            } else {
                EndpointStatus::Unhealthy
            };
            self.store.set_endpoint_status(id, status, started).await?;
        }
        outcome.map_err(|why| Error::Invalid(format!("the registry is unhealthy: {why}")))
    }

    fn open(&self, s: &EndpointSettings) -> Result<Option<RemoteCredential>> {
        let Some(c) = &s.credential else {
            return Ok(None);
        };
        let (secret, _) = self
            .keys()?
            .open(&c.sealed_secret, SEALED_AS)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let secret = String::from_utf8(secret)
            .map_err(|_| Error::internal("a sealed registry secret is not text"))?;
        Ok(Some(RemoteCredential::basic(c.access_key.clone(), secret)))
    }

    /// Pings every registry and records each one's status (Harbor checks them every five
    /// minutes); returns how many are healthy and how many were checked. A system task:
    /// no principal.
    pub async fn check_all(&self) -> Result<(usize, usize)> {
        let mut endpoints = Vec::new();
        for page in 1.. {
            let (items, _) = self
                .store
                .endpoints(
                    &EndpointQuery::default(),
                    Page {
                        page,
                        page_size: 100,
                    },
                )
                .await?;
            let n = items.len();
            endpoints.extend(items);
            if n < 100 {
                break;
            }
        }
        let checked = endpoints.len();
        let mut healthy = 0;
        for e in endpoints {
            let started = now_ms();
            let outcome = match self.open(&e.settings) {
                Ok(credential) => self.probe.ping(&e.settings, credential).await,
                Err(err) => Err(err.to_string()),
            };
            let status = match &outcome {
                Ok(()) => {
                    healthy += 1;
                    EndpointStatus::Healthy
                }
                Err(why) => {
                    tracing::info!(registry = %e.settings.name, %why, "registry unhealthy");
                    EndpointStatus::Unhealthy
                }
            };
            self.store
                .set_endpoint_status(e.id, status, started)
                .await?;
        }
        Ok((healthy, checked))
    }

    /// The sign-in for `endpoint`, secret in clear: for the code that talks to it
    /// (replication, proxy cache). Never log or return it.
    pub fn credential(&self, endpoint: &Endpoint) -> Result<Option<RemoteCredential>> {
        self.open(&endpoint.settings)
    }

    /// The registry `id`, for the services that use one (no permission check: theirs
    /// applies).
    pub async fn endpoint(&self, id: i64) -> Result<Option<Endpoint>> {
        self.store.endpoint(id).await
    }

    /// The client options this service talks to registries with.
    pub fn probe(&self) -> &Probe {
        &self.probe
    }

    /// Re-seals every stored secret sealed with a previous key with the current one (a
    /// key rotation); returns how many were re-sealed.
    pub async fn reseal(&self) -> Result<usize> {
        let Some(keys) = &self.keys else {
            return Ok(0);
        };
        let mut n = 0;
        for (id, sealed) in self.store.sealed_endpoint_secrets().await? {
            match keys.open(&sealed, SEALED_AS) {
                Ok((plain, true)) => {
                    let new = keys.seal(&plain, SEALED_AS).map_err(Error::internal)?;
                    if self.store.reseal_endpoint_secret(id, &sealed, &new).await? {
                        n += 1;
                    }
                }
                Ok((_, false)) => {}
                Err(e) => {
                    tracing::warn!(registry = id, error = %e, "a registry secret cannot be opened")
                }
            }
        }
        Ok(n)
    }
}

/// Re-exported for handlers: what a probe reports.
pub use remote::ProbeError;
