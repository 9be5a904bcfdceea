//! The built-in scanner as a Harbor scanner adapter: scan requests accepted and stored for
//! every replica, run by the process that accepted them (two at a time), and their outcomes
//! kept for the client to poll from any replica.

use std::sync::Arc;

use harbor_auth::sealing::SealingKeys;
use harbor_core::model::now_ms;
use harbor_core::ports::MetadataStore;
use harbor_core::scan::{ScanRequestRecord, ScanRequestState};
use harbor_core::{Digest, Error, RepositoryName, Result};
use harbor_scanner::codec;
use serde::{Deserialize, Serialize};

use super::engine::{Engine, ScanOutcome};
use crate::remote::{Probe, RemoteCredential};
use crate::scanner::builtin::LocalRegistry;

/// Scans one process runs at once (more wait for a permit).
const CONCURRENT_SCANS: usize = 2;
/// A request neither finished nor updated for this long was lost with the process that
/// ran it.
const LOST_MS: i64 = 45 * 60_000;
/// How long requests and their outcomes are kept for the client to read.
pub const KEEP_MS: i64 = 24 * 3_600_000;
/// What the sealed credential is sealed as (authenticated data).
const SEALED_AS: &str = "scan request credential";

/// What a client asks the adapter to scan, and how to pull it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScanTarget {
    /// The registry's base URL.
    pub registry_url: String,
    /// The user name and secret to pull with (kept sealed), or none.
    #[serde(skip)]
    pub credential: Option<(String, String)>,
    /// Skip TLS verification of the registry.
    pub insecure: bool,
    /// The repository.
    pub repository: String,
    /// The manifest digest.
    pub digest: String,
    /// A tag, informative.
    pub tag: Option<String>,
    /// The manifest's media type, when the client says.
    pub mime_type: Option<String>,
}

/// Where a request is.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestStatus {
    /// Queued or running.
    Pending,
    /// Scanned.
    Done(Box<ScanOutcome>),
    /// The scan failed.
    Failed(String),
}

/// A request as stored.
#[derive(Debug, Clone)]
pub struct ScanRequestView {
    /// What was asked.
    pub target: ScanTarget,
    /// Where it is.
    pub status: RequestStatus,
}

/// Accepts scan requests and runs them.
#[derive(Clone)]
pub struct Adapter {
    store: Arc<dyn MetadataStore>,
    engine: Engine,
    keys: Option<Arc<SealingKeys>>,
    probe: Probe,
    local: LocalRegistry,
    /// Scans running at once in this process.
    permits: Arc<tokio::sync::Semaphore>,
}

impl Adapter {
    /// Requests kept in `store`, run by `engine`.
    pub fn new(store: Arc<dyn MetadataStore>, engine: Engine) -> Self {
        Self {
            store,
            engine,
            keys: None,
            probe: Probe::default(),
            local: LocalRegistry::default(),
            permits: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_SCANS)),
        }
    }

    /// Seals request credentials with `keys` (without them, only anonymous pulls).
    pub fn with_keys(mut self, keys: Arc<SealingKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Knows this server's own address through `local`: pulls from it are allowed
    /// whatever the address policy says.
    pub fn with_local(mut self, local: LocalRegistry) -> Self {
        self.local = local;
        self
    }

    /// Pulls with `probe`'s options (address policy, time-outs).
    pub fn with_probe(mut self, probe: Probe) -> Self {
        self.probe = probe;
        self
    }

    /// Validates and queues a request; returns its id. [`Error::Invalid`] for a malformed
    /// field, [`Error::Unsupported`] for an artifact type or credential it cannot use.
    pub async fn accept(&self, target: ScanTarget) -> Result<String> {
        validate(&target)?;
        let sealed = match (&target.credential, &self.keys) {
            (None, _) => Vec::new(),
            (Some(credential), Some(keys)) => {
                let plain = serde_json::to_vec(credential).map_err(Error::internal)?;
                keys.seal(&plain, SEALED_AS).map_err(Error::internal)?
            }
            (Some(_), None) => {
                return Err(Error::Unsupported(
                    "this server has no secret key to keep registry credentials".into(),
                ));
            }
        };
        let now = now_ms();
        if let Err(e) = self.store.delete_scan_requests_before(now - KEEP_MS).await {
            tracing::warn!(error = %e, "could not delete old scan requests");
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.store
            .create_scan_request(&ScanRequestRecord {
                id: id.clone(),
                request: serde_json::to_string(&target).map_err(Error::internal)?,
                sealed_authorization: sealed,
                state: ScanRequestState::Queued,
                error: String::new(),
                result: Vec::new(),
                created_ms: now,
                updated_ms: now,
            })
            .await?;
        // The scan runs here, not on the shared job queue: a scan job of this server
        // waits for the report, and must not hold the worker the scan itself needs.
        let adapter = self.clone();
        let scan_id = id.clone();
        tokio::spawn(async move {
            let Ok(_permit) = adapter.permits.clone().acquire_owned().await else {
                return;
            };
            if let Err(message) = adapter.run(&scan_id).await {
                tracing::warn!(id = scan_id, error = %message, "scan failed");
                if let Err(e) = adapter
                    .store
                    .update_scan_request(&scan_id, ScanRequestState::Failed, &message, b"")
                    .await
                {
                    tracing::error!(id = scan_id, error = %e, "could not record a failed scan");
                }
            }
        });
        Ok(id)
    }

    /// A request and where it is; `None` for an unknown (or expired) id.
    pub async fn request(&self, id: &str) -> Result<Option<ScanRequestView>> {
        let Some(record) = self.store.scan_request(id).await? else {
            return Ok(None);
        };
        let target: ScanTarget = serde_json::from_str(&record.request).map_err(Error::internal)?;
        let status = match record.state {
            ScanRequestState::Queued | ScanRequestState::Running
                if record.updated_ms < now_ms() - LOST_MS =>
            {
                RequestStatus::Failed(
                    "the scan was lost: the server running it stopped; request it again".into(),
                )
            }
            ScanRequestState::Queued | ScanRequestState::Running => RequestStatus::Pending,
            ScanRequestState::Failed => RequestStatus::Failed(record.error),
            ScanRequestState::Done => RequestStatus::Done(Box::new(
                codec::decode(&record.result).map_err(Error::internal)?,
            )),
        };
        Ok(Some(ScanRequestView { target, status }))
    }

    async fn run(&self, id: &str) -> std::result::Result<(), String> {
        let Some(record) = self
            .store
            .scan_request(id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(()); // expired before it ran
        };
        if matches!(
            record.state,
            ScanRequestState::Done | ScanRequestState::Failed
        ) {
            return Ok(());
        }
        let target: ScanTarget =
            serde_json::from_str(&record.request).map_err(|e| e.to_string())?;
        let credential = match (&self.keys, record.sealed_authorization.is_empty()) {
            (_, true) => None,
            (Some(keys), false) => {
                let (plain, _) = keys
                    .open(&record.sealed_authorization, SEALED_AS)
                    .map_err(|e| e.to_string())?;
                let (user, secret): (String, String) =
                    serde_json::from_slice(&plain).map_err(|e| e.to_string())?;
                Some(RemoteCredential::basic(user, secret))
            }
            (None, false) => return Err("no secret key to open the request's credential".into()),
        };
        self.store
            .update_scan_request(id, ScanRequestState::Running, "", b"")
            .await
            .map_err(|e| e.to_string())?;
        let repo = RepositoryName::parse(&target.repository).map_err(|e| e.to_string())?;
        let digest = Digest::parse(&target.digest).map_err(|e| e.to_string())?;
        let local = self
            .local
            .get()
            .filter(|_| self.local.is_local(&target.registry_url));
        let insecure = target.insecure || local.is_some_and(|a| a.insecure);
        let client = self
            .local
            .probe_for(&self.probe, &target.registry_url)
            .client_for(&target.registry_url, credential, insecure)
            .map_err(|e| e.to_string())?;
        let outcome = self
            .engine
            .scan(&client, &repo, &digest)
            .await
            .map_err(|e| e.to_string())?;
        self.store
            .update_scan_request(id, ScanRequestState::Done, "", &codec::encode(&outcome))
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(id, repository = %repo, %digest, findings = outcome.findings.len(), layers_read = outcome.layers_read, "scan finished");
        Ok(())
    }
}

fn validate(target: &ScanTarget) -> Result<()> {
    RepositoryName::parse(&target.repository)
        .map_err(|e| Error::Invalid(format!("artifact.repository: {e}")))?;
    Digest::parse(&target.digest).map_err(|e| Error::Invalid(format!("artifact.digest: {e}")))?;
    let url = url::Url::parse(&target.registry_url).map_err(|e| {
        Error::Invalid(format!(
            "registry.url is not a URL: {:?}: {e}",
            target.registry_url
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(Error::Invalid(format!(
            "registry.url must be an http or https URL with a host: {:?}",
            target.registry_url
        )));
    }
    if let Some(mime) = &target.mime_type
        && !mime.is_empty()
        && !harbor_scanner_consumes(mime)
    {
        return Err(Error::Unsupported(format!(
            "cannot scan artifacts of type {mime}: only image manifests"
        )));
    }
    Ok(())
}

/// The OCI image manifest and the Docker v2 manifest, as the spec's `consumes_mime_types`.
pub const CONSUMES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

fn harbor_scanner_consumes(mime: &str) -> bool {
    CONSUMES.contains(&harbor_core::manifest::essence(mime))
}
