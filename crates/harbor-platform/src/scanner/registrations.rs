//! `Scanners`: the scanner adapters this server calls (Harbor's `/scanners`, "scanner
//! registrations"), the system default and each project's choice
//! (`/projects/{p}/scanner`). Registrations are system-level: system administrators only
//! (the system resource `scanner`, which no robot may hold yet). A project's scanner is
//! read with the project's `scanner` read permission (every member) and chosen with its
//! `create` permission (project administrators).
//!
//! Credentials are sealed with the server's secret key before they are stored and never
//! leave this service in clear, except in the header sent to the adapter
//! ([`Scanners::authorization`]). Adapters are reached under the server's outbound rules
//! (the address policy of `remote`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use harbor_api_model::scanner_adapter::{Scanner, ScannerAdapterMetadata, ScannerCapability};
use harbor_auth::sealing::SealingKeys;
use harbor_auth::{Accounts, Principal};
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::Page;
use harbor_core::ports::MetadataStore;
use harbor_core::rbac::{Action, Resource};
use harbor_core::scan::registrations::{
    AdapterAuth, RegistrationQuery, RegistrationSettings, ScannerRegistration, check_credential,
};
use harbor_core::{Error, Result};
use harbor_remote::http::{HttpClient, Request};
use serde::Deserialize;

use crate::access::{self, ProjectRef, require_system};
use crate::remote::Probe;
use crate::scanner::builtin::{self, LocalRegistry};

/// What a sealed adapter credential is sealed as (its additional data).
const SEALED_AS: &str = "scanner credential";
/// The system resource guarding registrations.
const RESOURCE: &str = "scanner";
/// How long a ping or a metadata request may take.
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest metadata document read.
const MAX_METADATA: u64 = 256 * 1024;
/// The `Accept` header of `GET /api/v1/metadata`.
pub const METADATA_MIME: &str = "application/vnd.scanner.adapter.metadata+json; version=1.0";
/// The artifact types Harbor's scans hand to an adapter; one capability must consume one.
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// A registration as an administrator writes it (`ScannerRegistrationReq`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RegistrationInput {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The adapter's base URL (its API is under `<url>/api/v1`).
    pub url: String,
    /// `""`, `Basic`, `Bearer` or `X-ScannerAdapter-API-Key`.
    pub auth: String,
    /// The credential in clear (`user:password` for Basic). On an update, empty keeps the
    /// stored one while `auth` still needs one.
    pub access_credential: String,
    /// Not used for scans.
    pub disabled: bool,
    /// Skip TLS verification of the adapter.
    pub skip_cert_verify: bool,
    /// Give the adapter the registry's internal address.
    pub use_internal_addr: bool,
}

impl std::fmt::Debug for RegistrationInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationInput")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("auth", &self.auth)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// Settings to try with a ping (`ScannerRegistrationSettings`); nothing is stored.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PingSettings {
    /// A name (checked like a registration's).
    pub name: String,
    /// The adapter's base URL.
    pub url: String,
    /// How to authenticate.
    pub auth: String,
    /// The credential in clear.
    pub access_credential: String,
}

impl std::fmt::Debug for PingSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PingSettings")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// What an adapter says about itself (`GET /api/v1/metadata`): the protocol's type.
pub type AdapterMetadata = ScannerAdapterMetadata;

/// The metadata as it arrives: properties of any JSON type are kept as text.
#[derive(Deserialize)]
struct RawMetadata {
    #[serde(default)]
    scanner: Scanner,
    #[serde(default)]
    capabilities: Vec<ScannerCapability>,
    #[serde(default)]
    properties: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct AdapterErrorBody {
    error: AdapterErrorMessage,
}

#[derive(Deserialize)]
struct AdapterErrorMessage {
    #[serde(default)]
    message: String,
}

/// The header that authenticates to an adapter with `auth` and the clear `credential`
/// (Harbor's: Basic sends the credential base64-encoded, Bearer as it is, the API key in
/// `X-ScannerAdapter-API-Key`).
pub fn auth_header(auth: AdapterAuth, credential: &str) -> Option<(&'static str, String)> {
    match auth {
        AdapterAuth::None => None,
        AdapterAuth::Basic => Some((
            "Authorization",
            format!("Basic {}", STANDARD.encode(credential)),
        )),
        AdapterAuth::Bearer => Some(("Authorization", format!("Bearer {credential}"))),
        AdapterAuth::ApiKey => Some(("X-ScannerAdapter-API-Key", credential.to_owned())),
    }
}

fn parse_auth(s: &str) -> Result<AdapterAuth> {
    AdapterAuth::parse(s).ok_or_else(|| {
        Error::Invalid(format!(
            "unsupported auth {s:?}: use \"\", Basic, Bearer or X-ScannerAdapter-API-Key"
        ))
    })
}

fn not_found(uuid: &str) -> Error {
    Error::NotFound(format!("scanner {uuid} not found"))
}

/// The items of `all` on `page`, and how many there are.
fn paged(all: Vec<ScannerRegistration>, page: Page) -> (Vec<ScannerRegistration>, u64) {
    let total = all.len() as u64;
    let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let take = usize::try_from(page.page_size).unwrap_or(usize::MAX);
    (all.into_iter().skip(skip).take(take).collect(), total)
}

/// The scanner registrations service.
#[derive(Clone)]
pub struct Scanners {
    store: Arc<dyn MetadataStore>,
    accounts: Arc<Accounts>,
    keys: Option<Arc<SealingKeys>>,
    probe: Probe,
    local: LocalRegistry,
}

impl Scanners {
    /// The service over `store`, finding projects through `accounts`; credentials need
    /// [`with_keys`](Self::with_keys).
    pub fn new(store: Arc<dyn MetadataStore>, accounts: Arc<Accounts>) -> Self {
        Scanners {
            store,
            accounts,
            keys: None,
            probe: Probe::default(),
            local: LocalRegistry::default(),
        }
    }

    /// Knows this server's own address through `local` (the built-in registration).
    pub fn with_local(mut self, local: LocalRegistry) -> Self {
        self.local = local;
        self
    }

    /// The key the built-in adapter accepts from this server (derived from the secret
    /// key, the same on every replica); `None` without a secret key.
    pub fn builtin_key(&self) -> Option<String> {
        self.keys
            .as_deref()
            .map(|k| k.derive(builtin::ADAPTER_KEY_PURPOSE))
    }

    /// Registers the built-in scanner at this server's address (once it serves), or
    /// brings its registration up to date (address, key); the first registration is the
    /// default. A registration of another scanner under its name or URL is left alone,
    /// with a warning. `None` when there is nothing to register yet.
    pub async fn ensure_builtin(&self) -> Result<Option<ScannerRegistration>> {
        let (Some(address), Some(key)) = (self.local.get(), self.builtin_key()) else {
            return Ok(None);
        };
        let stored = self.store.registration(builtin::BUILTIN_UUID).await?;
        if let Some(r) = &stored
            && r.settings.url == address.url
            && r.settings.skip_cert_verify == address.insecure
            && self.open(&r.settings).is_ok_and(|k| k == key)
        {
            return Ok(stored);
        }
        let settings = builtin::settings(&address, self.seal(&key)?)?;
        let event = |change: &str| {
            NewEvent::now(
                "system",
                DomainEvent::ScannerRegistrationChanged {
                    name: settings.name.clone(),
                    change: change.to_owned(),
                },
            )
        };
        let result = match stored {
            Some(_) => {
                self.store
                    .update_registration(builtin::BUILTIN_UUID, &settings, &[event("update")])
                    .await
            }
            None => {
                self.store
                    .create_registration(builtin::BUILTIN_UUID, &settings, &[event("create")])
                    .await
            }
        };
        match result {
            Ok(r) => Ok(Some(r)),
            Err(Error::Conflict(why)) => {
                tracing::warn!(%why, "the built-in scanner is not registered: another registration has its name or URL");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Seals and opens credentials with `keys`.
    pub fn with_keys(mut self, keys: Arc<SealingKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Reaches adapters under `probe`'s options (address policy, connect time-out).
    pub fn with_probe(mut self, probe: Probe) -> Self {
        self.probe = probe;
        self
    }

    fn keys(&self) -> Result<&SealingKeys> {
        self.keys.as_deref().ok_or_else(|| {
            Error::Invalid(
                "scanner credentials cannot be stored: this server has no secret key \
                 (Platform::with_secret_keys)"
                    .into(),
            )
        })
    }

    fn seal(&self, credential: &str) -> Result<Vec<u8>> {
        self.keys()?
            .seal(credential.as_bytes(), SEALED_AS)
            .map_err(Error::internal)
    }

    fn open(&self, s: &RegistrationSettings) -> Result<String> {
        if !s.auth.needs_credential() {
            return Ok(String::new());
        }
        let (plain, _) = self
            .keys()?
            .open(&s.sealed_credential, SEALED_AS)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        String::from_utf8(plain)
            .map_err(|_| Error::internal("a sealed scanner credential is not text"))
    }

    /// The settings `input` describes, validated; the credential sealed, or `kept` (the
    /// stored sealed one) when the input leaves it empty and `auth` needs one.
    fn settings(
        &self,
        input: RegistrationInput,
        kept: Option<&[u8]>,
    ) -> Result<RegistrationSettings> {
        let auth = parse_auth(&input.auth)?;
        let sealed_credential = match (auth.needs_credential(), kept) {
            (false, _) => Vec::new(),
            (true, Some(old)) if input.access_credential.is_empty() && !old.is_empty() => {
                old.to_vec()
            }
            (true, _) => {
                check_credential(auth, &input.access_credential)?;
                self.seal(&input.access_credential)?
            }
        };
        let mut s = RegistrationSettings {
            name: input.name,
            description: input.description,
            url: input.url,
            disabled: input.disabled,
            auth,
            sealed_credential,
            skip_cert_verify: input.skip_cert_verify,
            use_internal_addr: input.use_internal_addr,
        };
        s.validate()?;
        Ok(s)
    }

    fn event(by: &Principal, name: &str, change: &str) -> NewEvent {
        NewEvent::now(
            by.name(),
            DomainEvent::ScannerRegistrationChanged {
                name: name.to_owned(),
                change: change.to_owned(),
            },
        )
    }

    /// A page of the registrations `query` selects, oldest first, and how many it selects.
    pub async fn list(
        &self,
        by: &Principal,
        query: &RegistrationQuery,
        page: Page,
    ) -> Result<(Vec<ScannerRegistration>, u64)> {
        require_system(
            by,
            RESOURCE,
            Action::List,
            "only system administrators may list scanners",
        )?;
        let all = self.store.registrations().await?;
        Ok(paged(
            all.into_iter().filter(|r| query.matches(r)).collect(),
            page,
        ))
    }

    /// One registration.
    pub async fn get(&self, by: &Principal, uuid: &str) -> Result<ScannerRegistration> {
        require_system(
            by,
            RESOURCE,
            Action::Read,
            "only system administrators may see scanners",
        )?;
        self.registration(uuid).await
    }

    async fn registration(&self, uuid: &str) -> Result<ScannerRegistration> {
        self.store
            .registration(uuid)
            .await?
            .ok_or_else(|| not_found(uuid))
    }

    /// Registers an adapter (without calling it: [`ping`](Self::ping) checks one). The
    /// first enabled registration, or one created while there is no default, becomes the
    /// default.
    pub async fn create(
        &self,
        by: &Principal,
        input: RegistrationInput,
    ) -> Result<ScannerRegistration> {
        require_system(
            by,
            RESOURCE,
            Action::Create,
            "only system administrators may add scanners",
        )?;
        let settings = self.settings(input, None)?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let event = Self::event(by, &settings.name, "create");
        self.store
            .create_registration(&uuid, &settings, &[event])
            .await
    }

    /// Replaces a registration's settings (Harbor's `PUT`: every field; an empty
    /// credential keeps the stored one while `auth` needs one). The default cannot be
    /// disabled.
    pub async fn update(
        &self,
        by: &Principal,
        uuid: &str,
        input: RegistrationInput,
    ) -> Result<ScannerRegistration> {
        require_system(
            by,
            RESOURCE,
            Action::Update,
            "only system administrators may change scanners",
        )?;
        let stored = self.registration(uuid).await?;
        builtin::refuse_change(&stored, "changed")?;
        let settings = self.settings(input, Some(&stored.settings.sealed_credential))?;
        if stored.is_default && settings.disabled {
            return Err(Error::Invalid(format!(
                "scanner {:?} is the default and cannot be disabled: make another one the \
                 default first",
                stored.settings.name
            )));
        }
        let event = Self::event(by, &settings.name, "update");
        self.store
            .update_registration(uuid, &settings, &[event])
            .await
    }

    /// Deletes a registration and the project choices of it; returns what was deleted.
    /// Deleting the default leaves no default until one is chosen.
    pub async fn delete(&self, by: &Principal, uuid: &str) -> Result<ScannerRegistration> {
        require_system(
            by,
            RESOURCE,
            Action::Delete,
            "only system administrators may delete scanners",
        )?;
        let stored = self.registration(uuid).await?;
        builtin::refuse_change(&stored, "deleted")?;
        let event = Self::event(by, &stored.settings.name, "delete");
        self.store.delete_registration(uuid, &[event]).await?;
        Ok(stored)
    }

    /// Makes a registration the system default (`is_default: false` changes nothing, as
    /// in Harbor). A disabled registration cannot be the default.
    pub async fn set_default(&self, by: &Principal, uuid: &str, is_default: bool) -> Result<()> {
        require_system(
            by,
            RESOURCE,
            Action::Update,
            "only system administrators may change the default scanner",
        )?;
        let stored = self.registration(uuid).await?;
        if !is_default || stored.is_default {
            return Ok(());
        }
        if stored.settings.disabled {
            return Err(Error::Invalid(format!(
                "scanner {:?} is disabled: enable it before making it the default",
                stored.settings.name
            )));
        }
        let event = Self::event(by, &stored.settings.name, "default");
        self.store.set_default_registration(uuid, &[event]).await
    }

    /// Calls an adapter's `GET /api/v1/metadata` with `settings` (nothing is stored) and
    /// returns what it says. [`Error::Invalid`] saying why when it cannot be used: not
    /// reachable (or refused by the address policy), the credential refused, or not a
    /// scanner adapter Harbor can use.
    pub async fn ping(&self, by: &Principal, settings: PingSettings) -> Result<AdapterMetadata> {
        require_system(
            by,
            RESOURCE,
            Action::Read,
            "only system administrators may ping scanners",
        )?;
        let auth = parse_auth(&settings.auth)?;
        check_credential(auth, &settings.access_credential)?;
        let mut s = RegistrationSettings {
            name: settings.name,
            description: String::new(),
            url: settings.url,
            disabled: false,
            auth,
            // Not stored: a placeholder for the check that a credential is given.
            sealed_credential: settings.access_credential.as_bytes().to_vec(),
            skip_cert_verify: false,
            use_internal_addr: false,
        };
        s.validate()?;
        self.fetch_metadata(&s.url, auth, &settings.access_credential, false)
            .await
    }

    /// The metadata of a stored registration's adapter (called now, not cached).
    pub async fn metadata(&self, by: &Principal, uuid: &str) -> Result<AdapterMetadata> {
        require_system(
            by,
            RESOURCE,
            Action::Read,
            "only system administrators may see scanners",
        )?;
        let stored = self.registration(uuid).await?;
        self.adapter_metadata(&stored).await
    }

    /// The metadata of `registration`'s adapter, for the services that use one (no
    /// permission check: theirs applies).
    pub async fn adapter_metadata(&self, r: &ScannerRegistration) -> Result<AdapterMetadata> {
        let credential = self.open(&r.settings)?;
        self.fetch_metadata(
            &r.settings.url,
            r.settings.auth,
            &credential,
            r.settings.skip_cert_verify,
        )
        .await
    }

    /// How each registration's adapter answers now (Harbor's `health` and the
    /// `adapter`/`vendor`/`version`/`capabilities` of registration answers): its metadata,
    /// or why it cannot be used. Disabled ones are not called (`None`). The adapters are
    /// called at once, 5 s at most each.
    pub async fn health(
        &self,
        registrations: &[ScannerRegistration],
    ) -> Vec<Option<std::result::Result<AdapterMetadata, String>>> {
        futures::future::join_all(registrations.iter().map(|r| async move {
            if r.settings.disabled {
                return None;
            }
            Some(self.adapter_metadata(r).await.map_err(|e| e.to_string()))
        }))
        .await
    }

    /// The header that authenticates to `registration`'s adapter, credential in clear:
    /// for the code that calls it. Never log or return it.
    pub fn authorization(&self, r: &ScannerRegistration) -> Result<Option<(&'static str, String)>> {
        let credential = self.open(&r.settings)?;
        Ok(auth_header(r.settings.auth, &credential))
    }

    async fn fetch_metadata(
        &self,
        base: &str,
        auth: AdapterAuth,
        credential: &str,
        insecure: bool,
    ) -> Result<AdapterMetadata> {
        let url = format!("{}/api/v1/metadata", base.trim_end_matches('/'));
        self.try_metadata(&url, auth, credential, insecure)
            .await
            .map_err(|why| {
                Error::Invalid(format!(
                    "the scanner adapter at {base} cannot be used: {why}"
                ))
            })
    }

    async fn try_metadata(
        &self,
        url: &str,
        auth: AdapterAuth,
        credential: &str,
        insecure: bool,
    ) -> std::result::Result<AdapterMetadata, String> {
        let probe = self.local.probe_for(&self.probe, url);
        let client = HttpClient::new(probe.options(), insecure).map_err(|e| e.to_string())?;
        let mut req = Request::get(url);
        req.timeout = PING_TIMEOUT;
        req.max_body = MAX_METADATA;
        req.headers.push(("Accept", METADATA_MIME.to_owned()));
        if let Some(header) = auth_header(auth, credential) {
            req.headers.push(header);
        }
        let answer = client.send(req).await.map_err(|e| e.to_string())?;
        if answer.status != 200 {
            let message = serde_json::from_slice::<AdapterErrorBody>(&answer.body)
                .map(|b| b.error.message)
                .unwrap_or_default();
            let why = match answer.status {
                401 | 403 => "the credential was refused",
                404 => "no scanner adapter API there",
                _ => "unexpected answer",
            };
            return Err(if message.is_empty() {
                format!("GET {url} answered {} ({why})", answer.status)
            } else {
                format!("GET {url} answered {} ({why}): {message}", answer.status)
            });
        }
        let raw: RawMetadata = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("GET {url}: not scanner adapter metadata: {e}"))?;
        let metadata = AdapterMetadata {
            scanner: raw.scanner,
            capabilities: raw.capabilities,
            properties: raw
                .properties
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect(),
        };
        if metadata.scanner.name.is_empty() {
            return Err("the metadata names no scanner".into());
        }
        if !metadata.capabilities.iter().any(|c| {
            c.consumes_mime_types
                .iter()
                .any(|m| MANIFEST_TYPES.contains(&m.as_str()))
        }) {
            return Err(format!(
                "the adapter scans none of {}",
                MANIFEST_TYPES.join(", ")
            ));
        }
        Ok(metadata)
    }

    /// The registration that scans a project: its choice, else the default (`None` when
    /// there is neither). Every member may read it; anonymous callers may not, even in a
    /// public project (as in Harbor).
    pub async fn project_scanner(
        &self,
        by: &Principal,
        project: &ProjectRef,
    ) -> Result<Option<ScannerRegistration>> {
        access::require_authenticated(by)?;
        let (p, _) =
            access::project_for(&self.accounts, by, project, Resource::Scanner, Action::Read)
                .await?;
        self.for_project(p.id).await
    }

    /// The registration that scans the project `project_id`, for the services that scan
    /// (no permission check).
    pub async fn for_project(&self, project_id: i64) -> Result<Option<ScannerRegistration>> {
        if let Some(uuid) = self.store.project_registration(project_id).await?
            && let Some(r) = self.store.registration(&uuid).await?
        {
            return Ok(Some(r));
        }
        Ok(self
            .store
            .registrations()
            .await?
            .into_iter()
            .find(|r| r.is_default))
    }

    /// Chooses a project's scanner among the enabled registrations (project
    /// administrators).
    pub async fn set_project_scanner(
        &self,
        by: &Principal,
        project: &ProjectRef,
        uuid: &str,
    ) -> Result<()> {
        let (p, _) = access::project_for(
            &self.accounts,
            by,
            project,
            Resource::Scanner,
            Action::Create,
        )
        .await?;
        let r = self.registration(uuid).await?;
        if r.settings.disabled {
            return Err(Error::Invalid(format!(
                "scanner {:?} is disabled",
                r.settings.name
            )));
        }
        let event = NewEvent::now(
            by.name(),
            DomainEvent::ProjectScannerSet {
                project: p.name.clone(),
                project_id: p.id,
                scanner: r.settings.name.clone(),
            },
        );
        self.store
            .set_project_registration(p.id, uuid, &[event])
            .await
    }

    /// The registrations a project may choose from: the enabled ones `query` selects, a
    /// page of them and how many (project administrators, as in Harbor).
    pub async fn candidates(
        &self,
        by: &Principal,
        project: &ProjectRef,
        query: &RegistrationQuery,
        page: Page,
    ) -> Result<(Vec<ScannerRegistration>, u64)> {
        access::project_for(
            &self.accounts,
            by,
            project,
            Resource::Scanner,
            Action::Create,
        )
        .await?;
        let all = self.store.registrations().await?;
        Ok(paged(
            all.into_iter()
                .filter(|r| !r.settings.disabled && query.matches(r))
                .collect(),
            page,
        ))
    }

    /// Re-seals every stored credential sealed with a previous key with the current one
    /// (a key rotation); returns how many were re-sealed.
    pub async fn reseal(&self) -> Result<usize> {
        let Some(keys) = &self.keys else {
            return Ok(0);
        };
        let mut n = 0;
        for (uuid, sealed) in self.store.sealed_registration_credentials().await? {
            match keys.open(&sealed, SEALED_AS) {
                Ok((plain, true)) => {
                    let new = keys.seal(&plain, SEALED_AS).map_err(Error::internal)?;
                    if self
                        .store
                        .reseal_registration_credential(&uuid, &sealed, &new)
                        .await?
                    {
                        n += 1;
                    }
                }
                Ok((_, false)) => {}
                Err(e) => {
                    tracing::warn!(scanner = %uuid, error = %e, "a scanner credential cannot be opened")
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_harbors_auth_types() {
        assert_eq!(auth_header(AdapterAuth::None, "x"), None);
        assert_eq!(
            auth_header(AdapterAuth::Basic, "user:secret"),
            Some(("Authorization", "Basic dXNlcjpzZWNyZXQ=".to_owned()))
        );
        assert_eq!(
            auth_header(AdapterAuth::Bearer, "t0ken"),
            Some(("Authorization", "Bearer t0ken".to_owned()))
        );
        assert_eq!(
            auth_header(AdapterAuth::ApiKey, "k"),
            Some(("X-ScannerAdapter-API-Key", "k".to_owned()))
        );
    }

    #[test]
    fn pages_slice_the_selection() {
        let r = |n: &str| ScannerRegistration {
            uuid: n.into(),
            settings: RegistrationSettings {
                name: n.into(),
                description: String::new(),
                url: format!("http://{n}"),
                disabled: false,
                auth: AdapterAuth::None,
                sealed_credential: Vec::new(),
                skip_cert_verify: false,
                use_internal_addr: false,
            },
            is_default: false,
            created_ms: 0,
            updated_ms: 0,
        };
        let all = vec![r("a"), r("b"), r("c")];
        let (items, total) = paged(
            all.clone(),
            Page {
                page: 2,
                page_size: 2,
            },
        );
        assert_eq!((items, total), (vec![r("c")], 3));
        let (items, _) = paged(
            all,
            Page {
                page: 3,
                page_size: 2,
            },
        );
        assert!(items.is_empty());
    }
}
