//! Signature policies on pulls and the keys a project trusts.
//!
//! Harbor's rule (`enable_content_trust_cosign`, `enable_content_trust`): a manifest
//! `GET`/`HEAD` of an artifact without a cosign (or Notation) signature accessory is
//! refused with `412 PROJECTPOLICYVIOLATION` and Harbor's message. Exempt, as in Harbor:
//! robots holding `scanner-pull` (the scan robot), clients that may push and name
//! `cosign`/`notation` in their `User-Agent` (to sign, they must read), and accessories
//! themselves. Beyond Harbor: when the project trusts keys of a kind
//! ([`Signatures::add_key`]), a signature of that kind counts only if it verifies with
//! one of them ([`verify`], [`notation`]); verdicts are cached per (signature, subject,
//! key set), so a pull verifies once. Nothing is read unless a key is on. Adding and
//! removing a key writes a [`DomainEvent::SignatureKeyChanged`] with it (the audit log).

pub mod notation;
pub mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt as _;
use harbor_auth::Principal;
use harbor_auth::principal::robot_grants;
use harbor_core::artifact::{AccessoryRecord, cosign_tag};
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::Project;
use harbor_core::model::StoredManifest;
use harbor_core::rbac::{Action, Resource};
use harbor_core::registry::ArtifactOptions;
use harbor_core::signature::{
    self as rules, ContentTrust, MAX_KEYS, NOTATION_JWS, NewTrustedKey, SignatureKind, TrustedKey,
};
use harbor_core::{Digest, Error, Registry, RepositoryName, Result};

use crate::access::ProjectRef;
use crate::projects::Projects;

/// The largest signature payload or envelope read (cosign payloads are a few hundred
/// bytes; a Notation envelope carries its certificate chain).
const MAX_SIGNATURE_BYTES: u64 = 1024 * 1024;
/// The most signature layers of one cosign manifest, and signatures of one artifact,
/// looked at.
const MAX_SIGNATURES: usize = 32;
/// Cached verdicts kept before the cache starts over.
const CACHE_ENTRIES: usize = 10_000;

/// An artifact's signatures as the API and the portal show them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureStatus {
    /// It has a signature accessory (cosign or Notation).
    pub signed: bool,
    /// One of its signatures verified with a key the project trusts.
    pub verified: bool,
    /// The kinds of its signatures.
    pub kinds: Vec<SignatureKind>,
    /// The trusted key that verified it.
    pub key: Option<String>,
}

/// (signature digest, subject digest, key-set fingerprint) → the key that verified it.
type Cache = HashMap<(String, String, String), Option<String>>;

/// The signature service.
#[derive(Clone)]
pub struct Signatures {
    registry: Registry,
    projects: Projects,
    cache: Arc<Mutex<Cache>>,
}

impl Signatures {
    /// The service over `registry`, with projects (and permissions) from `projects`.
    pub fn new(registry: Registry, projects: Projects) -> Self {
        Self {
            registry,
            projects,
            cache: Arc::default(),
        }
    }

    /// The keys project `r` trusts (any member: `project:read`).
    pub async fn keys(&self, by: &Principal, r: &ProjectRef) -> Result<Vec<TrustedKey>> {
        let (project, _) = self
            .projects
            .open_for(by, r, Resource::Project, Action::Read)
            .await?;
        self.registry.metadata().signature_keys(project.id).await
    }

    /// Trusts a key (project administrators: `metadata:update`): a PEM `PUBLIC KEY`
    /// (ECDSA P-256) for cosign, a PEM root `CERTIFICATE` for Notation. Bad keys are
    /// [`Error::Invalid`] saying why; a name or key the project has is
    /// [`Error::Conflict`].
    pub async fn add_key(
        &self,
        by: &Principal,
        r: &ProjectRef,
        kind: SignatureKind,
        name: &str,
        pem: &str,
    ) -> Result<TrustedKey> {
        let (project, _) = self
            .projects
            .open_for(by, r, Resource::Metadata, Action::Update)
            .await?;
        rules::validate_key_name(name)?;
        let fingerprint = verify::fingerprint(kind, pem)
            .map_err(|e| Error::Invalid(format!("invalid {} key: {e}", kind.as_str())))?;
        let store = self.registry.metadata();
        if store.signature_keys(project.id).await?.len() >= MAX_KEYS {
            return Err(Error::Invalid(format!(
                "a project trusts at most {MAX_KEYS} keys"
            )));
        }
        let new = NewTrustedKey {
            kind,
            name: name.to_owned(),
            pem: pem.trim().to_owned() + "\n",
            fingerprint,
        };
        let event = key_event(by, &project, &new.name, kind, &new.fingerprint, "create");
        let added = store
            .add_signature_key_emitting(project.id, &new, by.name(), &event)
            .await?;
        self.registry.event_signal().written();
        Ok(added)
    }

    /// Stops trusting key `id` (project administrators).
    pub async fn delete_key(&self, by: &Principal, r: &ProjectRef, id: i64) -> Result<()> {
        let (project, _) = self
            .projects
            .open_for(by, r, Resource::Metadata, Action::Update)
            .await?;
        let not_found = || {
            Error::NotFound(format!(
                "signature key {id} not found in project {}",
                project.name
            ))
        };
        let store = self.registry.metadata();
        let key = store
            .signature_keys(project.id)
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(not_found)?;
        let event = key_event(
            by,
            &project,
            &key.name,
            key.kind,
            &key.fingerprint,
            "delete",
        );
        if !store
            .delete_signature_key_emitting(project.id, id, &event)
            .await?
        {
            return Err(not_found()); // Deleted meanwhile.
        }
        self.registry.event_signal().written();
        Ok(())
    }

    /// Whether `by` may pull `manifest` (asked for as `reference`) of `repo` in
    /// `project`: [`Error::PolicyViolation`] with Harbor's message if not. `signer`: the
    /// client names a signing tool and may push. Reads nothing unless the project
    /// requires signatures; then the artifact's accessories (indexed queries), the
    /// project's keys if it has signatures, and (once per signature and key set) the
    /// signatures themselves.
    pub async fn check_pull(
        &self,
        by: &Principal,
        signer: bool,
        project: &Project,
        repo: &RepositoryName,
        reference: &str,
        manifest: &StoredManifest,
    ) -> Result<()> {
        let Some(trust) = ContentTrust::of(project) else {
            return Ok(());
        };
        if signer
            || scanner_pull(by, project)
            || rules::is_accessory(&manifest.media_type, &manifest.content, reference)
        {
            return Ok(());
        }
        let accessories = self
            .registry
            .artifact_accessories(repo, manifest.digest.as_str())
            .await?;
        let mut keys: Option<Vec<TrustedKey>> = None;
        for kind in trust.required() {
            let signatures = of_kind(&accessories, kind);
            if signatures.is_empty() {
                if self.tagged_as_accessory(repo, &manifest.digest).await? {
                    return Ok(());
                }
                return Err(kind.not_signed());
            }
            if keys.is_none() {
                keys = Some(self.registry.metadata().signature_keys(project.id).await?);
            }
            let trusted = of_key_kind(keys.as_deref().unwrap_or_default(), kind);
            if trusted.is_empty() {
                continue; // Harbor's rule: a signature exists.
            }
            if self
                .verified_by(kind, repo, &manifest.digest, &signatures, &trusted)
                .await?
                .is_none()
            {
                return Err(kind.not_signed());
            }
        }
        Ok(())
    }

    /// The signature status of the artifact `digest` of `repo` in `project`: for
    /// callers that have checked the caller may read it.
    pub async fn status(
        &self,
        project: &Project,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<SignatureStatus> {
        let accessories = self
            .registry
            .artifact_accessories(repo, digest.as_str())
            .await?;
        let mut all = self
            .statuses(project, repo, &[(digest.clone(), accessories)])
            .await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// The signature status of each artifact of a page, given with its accessories (as
    /// a listing loads them, in one query): the project's keys are read once, and only
    /// if an artifact is signed; verdicts come from the cache when decided before.
    pub async fn statuses(
        &self,
        project: &Project,
        repo: &RepositoryName,
        artifacts: &[(Digest, Vec<AccessoryRecord>)],
    ) -> Result<Vec<SignatureStatus>> {
        let mut keys: Option<Vec<TrustedKey>> = None;
        let mut out = Vec::with_capacity(artifacts.len());
        for (digest, accessories) in artifacts {
            let mut status = SignatureStatus::default();
            for kind in SignatureKind::ALL {
                if !of_kind(accessories, kind).is_empty() {
                    status.signed = true;
                    status.kinds.push(kind);
                }
            }
            if status.signed && keys.is_none() {
                keys = Some(self.registry.metadata().signature_keys(project.id).await?);
            }
            for kind in status.kinds.clone() {
                let trusted = of_key_kind(keys.as_deref().unwrap_or_default(), kind);
                if trusted.is_empty() {
                    continue;
                }
                let signatures = of_kind(accessories, kind);
                if let Some(name) = self
                    .verified_by(kind, repo, digest, &signatures, &trusted)
                    .await?
                {
                    status.verified = true;
                    status.key = Some(name);
                    break;
                }
            }
            out.push(status);
        }
        Ok(out)
    }

    /// Whether the manifest is an accessory by a cosign tag (`sha256-<hex>.sig`) while
    /// pulled by digest; read only before a refusal.
    async fn tagged_as_accessory(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool> {
        let opts = ArtifactOptions {
            with_tags: true,
            ..ArtifactOptions::default()
        };
        let a = self.registry.artifact(repo, digest.as_str(), opts).await?;
        Ok(a.tags.iter().any(|t| cosign_tag(t.name.as_str()).is_some()))
    }

    /// The name of the first of `keys` that verifies one of `signatures` of `subject`,
    /// from the cache when it was decided before.
    async fn verified_by(
        &self,
        kind: SignatureKind,
        repo: &RepositoryName,
        subject: &Digest,
        signatures: &[&AccessoryRecord],
        keys: &[&TrustedKey],
    ) -> Result<Option<String>> {
        let key_set = keys
            .iter()
            .map(|k| format!("{}={}", k.fingerprint, k.name))
            .collect::<Vec<_>>()
            .join(",");
        for sig in signatures.iter().take(MAX_SIGNATURES) {
            let cache_key = (sig.digest.to_string(), subject.to_string(), key_set.clone());
            let cached = self
                .cache
                .lock()
                .ok()
                .and_then(|c| c.get(&cache_key).cloned());
            let verdict = match cached {
                Some(v) => v,
                None => {
                    let v = match kind {
                        SignatureKind::Cosign => self.verify_cosign(repo, subject, sig, keys).await,
                        SignatureKind::Notation => {
                            self.verify_notation(repo, subject, sig, keys).await
                        }
                    };
                    let v = match v {
                        Ok(v) => v,
                        // A signature whose parts are gone or unreadable verifies nothing;
                        // the next one may.
                        Err(
                            Error::NotFound(_)
                            | Error::BlobUnknown(_)
                            | Error::ManifestUnknown(_)
                            | Error::Invalid(_),
                        ) => None,
                        Err(e) => return Err(e),
                    };
                    if let Ok(mut c) = self.cache.lock() {
                        if c.len() >= CACHE_ENTRIES {
                            c.clear();
                        }
                        c.insert(cache_key, v.clone());
                    }
                    v
                }
            };
            if verdict.is_some() {
                return Ok(verdict);
            }
        }
        Ok(None)
    }

    async fn verify_cosign(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        sig: &AccessoryRecord,
        keys: &[&TrustedKey],
    ) -> Result<Option<String>> {
        let parsed: Vec<(&TrustedKey, verify::CosignKey)> = keys
            .iter()
            .filter_map(|k| Some((*k, verify::CosignKey::from_pem(&k.pem).ok()?)))
            .collect();
        let m = self
            .registry
            .get_manifest(repo, sig.digest.as_str())
            .await?;
        for layer in rules::cosign_layers(&m.content)
            .into_iter()
            .take(MAX_SIGNATURES)
        {
            if layer.size > MAX_SIGNATURE_BYTES {
                continue;
            }
            let payload = self.small_blob(repo, &layer.payload).await?;
            if let Err(why) = rules::check_cosign_payload(&payload, subject) {
                tracing::info!(signature = %sig.digest, %subject, "cosign signature refused: {why}");
                continue;
            }
            if let Some((k, _)) = parsed
                .iter()
                .find(|(_, key)| key.verifies(&payload, &layer.signature))
            {
                return Ok(Some(k.name.clone()));
            }
        }
        Ok(None)
    }

    async fn verify_notation(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        sig: &AccessoryRecord,
        keys: &[&TrustedKey],
    ) -> Result<Option<String>> {
        let (names, certs): (Vec<&str>, Vec<notation::RootCert>) = keys
            .iter()
            .filter_map(|k| Some((k.name.as_str(), notation::RootCert::from_pem(&k.pem).ok()?)))
            .unzip();
        let m = self
            .registry
            .get_manifest(repo, sig.digest.as_str())
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&m.content).unwrap_or_default();
        let Some(layers) = v["layers"].as_array() else {
            return Ok(None);
        };
        for l in layers.iter().take(MAX_SIGNATURES) {
            if l["mediaType"].as_str() != Some(NOTATION_JWS)
                || l["size"].as_u64().is_none_or(|s| s > MAX_SIGNATURE_BYTES)
            {
                continue;
            }
            let Some(digest) = l["digest"].as_str().and_then(|d| Digest::parse(d).ok()) else {
                continue;
            };
            let envelope = self.small_blob(repo, &digest).await?;
            match notation::verify_jws(&envelope, subject, &certs) {
                Ok(i) => return Ok(names.get(i).map(|n| (*n).to_owned())),
                Err(why) => {
                    tracing::info!(signature = %sig.digest, %subject, "notation signature refused: {why}")
                }
            }
        }
        Ok(None)
    }

    /// A blob of at most [`MAX_SIGNATURE_BYTES`], whole.
    async fn small_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<Vec<u8>> {
        let read = self.registry.read_blob(repo, digest, None).await?;
        if read.info.size > MAX_SIGNATURE_BYTES {
            return Err(Error::Invalid(format!(
                "signature blob {digest} is too large"
            )));
        }
        let chunks: Vec<bytes::Bytes> = read.body.try_collect().await.map_err(Error::internal)?;
        Ok(chunks.concat())
    }
}

/// The event of a key change, written with it.
fn key_event(
    by: &Principal,
    project: &Project,
    name: &str,
    kind: SignatureKind,
    fingerprint: &str,
    change: &str,
) -> [NewEvent; 1] {
    [NewEvent::now(
        by.name(),
        DomainEvent::SignatureKeyChanged {
            project: project.name.clone(),
            project_id: project.id,
            name: name.to_owned(),
            kind: kind.as_str().to_owned(),
            fingerprint: fingerprint.to_owned(),
            change: change.to_owned(),
        },
    )]
}

/// The signature accessories of `kind`.
fn of_kind(accessories: &[AccessoryRecord], kind: SignatureKind) -> Vec<&AccessoryRecord> {
    accessories
        .iter()
        .filter(|a| SignatureKind::of_accessory(&a.kind) == Some(kind))
        .collect()
}

/// The trusted keys of `kind`.
fn of_key_kind(keys: &[TrustedKey], kind: SignatureKind) -> Vec<&TrustedKey> {
    keys.iter().filter(|k| k.kind == kind).collect()
}

/// Robots holding `scanner-pull` in the project (the robot of a scan) are exempt, as in
/// Harbor; administrators are not (Harbor holds them too).
fn scanner_pull(by: &Principal, project: &Project) -> bool {
    match by {
        Principal::Robot { robot, .. } => robot_grants(&robot.permissions, project)
            .contains(&(Resource::Repository, Action::ScannerPull)),
        _ => false,
    }
}
