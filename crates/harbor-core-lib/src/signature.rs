//! Signature policies (Harbor's "content trust", `server/middleware/contenttrust`), without
//! I/O: whether a project requires cosign (`enable_content_trust_cosign`) or Notation
//! (`enable_content_trust`) signatures, which pulls are exempt, Harbor's refusals word for
//! word, the cosign simple-signing payload check, and the trusted keys a project may
//! configure (our extension: signatures must then verify with one of them) with their
//! store port. The service that loads accessories and verifies is
//! `harbor_platform::signatures`.

use async_trait::async_trait;
use serde_json::Value;

use crate::artifact::{COSIGN_SIGNATURE, NOTATION_SIGNATURE, cosign_tag};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::events::NewEvent;
use crate::identity::Project;
use crate::manifest::essence;

/// The layer media type of a cosign signature (one layer per signature).
pub const COSIGN_SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The annotation of a cosign signature layer holding the base64 signature.
pub const COSIGN_SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The artifact type of cosign v3 signatures (sigstore bundles as OCI 1.1 referrers).
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The `critical.type` of a cosign simple-signing payload.
pub const COSIGN_PAYLOAD_TYPE: &str = "cosign container image signature";
/// The layer media type of a Notation JWS signature envelope.
pub const NOTATION_JWS: &str = "application/jose+json";

/// A kind of signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignatureKind {
    /// cosign (sigstore).
    Cosign,
    /// Notation (Notary Project).
    Notation,
}

impl SignatureKind {
    /// Both kinds.
    pub const ALL: [SignatureKind; 2] = [SignatureKind::Cosign, SignatureKind::Notation];

    /// Its name (`cosign`, `notation`), as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureKind::Cosign => "cosign",
            SignatureKind::Notation => "notation",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "cosign" => Ok(SignatureKind::Cosign),
            "notation" => Ok(SignatureKind::Notation),
            other => Err(Error::Invalid(format!(
                "unknown signature kind {other:?}: use cosign or notation"
            ))),
        }
    }

    /// Harbor's accessory type of signatures of this kind.
    pub fn accessory_type(self) -> &'static str {
        match self {
            SignatureKind::Cosign => "signature.cosign",
            SignatureKind::Notation => "signature.notation",
        }
    }

    /// The kind of a Harbor accessory type, if it is a signature.
    pub fn of_accessory(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.accessory_type() == kind)
    }

    /// The project metadata key that requires this kind.
    pub fn metadata_key(self) -> &'static str {
        match self {
            SignatureKind::Cosign => "enable_content_trust_cosign",
            SignatureKind::Notation => "enable_content_trust",
        }
    }

    /// Harbor's refusal of a pull of an artifact without a (valid) signature of this kind.
    pub fn not_signed(self) -> Error {
        Error::PolicyViolation(format!("The image is not signed by {}.", self.as_str()))
    }
}

/// The signature kinds a project requires on pulls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ContentTrust {
    /// `enable_content_trust_cosign` is `true`.
    pub cosign: bool,
    /// `enable_content_trust` is `true` (Notation; Notary v1 is gone from Harbor).
    pub notation: bool,
}

impl ContentTrust {
    /// The project's policy; `None` unless one of the two keys is `true`. Reads only the
    /// project record: no I/O.
    pub fn of(project: &Project) -> Option<Self> {
        let on = |k: SignatureKind| {
            project
                .metadata
                .get(k.metadata_key())
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        };
        let t = Self {
            cosign: on(SignatureKind::Cosign),
            notation: on(SignatureKind::Notation),
        };
        (t.cosign || t.notation).then_some(t)
    }

    /// The kinds required, cosign first (Harbor's order of checks).
    pub fn required(self) -> impl Iterator<Item = SignatureKind> {
        [
            (self.cosign, SignatureKind::Cosign),
            (self.notation, SignatureKind::Notation),
        ]
        .into_iter()
        .filter_map(|(on, k)| on.then_some(k))
    }
}

/// Whether a client's `User-Agent` names a signing tool (`cosign`, `notation`): such a
/// client with push permission pulls unsigned artifacts (it must, to sign them).
pub fn signing_client(user_agent: &str) -> bool {
    user_agent.contains("cosign") || user_agent.contains("notation")
}

/// Whether a manifest (pulled as `reference`) is itself an accessory as its bytes show:
/// it has a `subject`, it is pulled by a cosign tag (`<alg>-<hex>.sig|.att|.sbom`), its
/// artifact or config type is a signature's, or it carries cosign or DSSE layers. Such
/// pulls are never held by the policy (Harbor exempts accessories). An accessory known
/// only by a cosign tag while pulled by digest is found by the caller's tag check.
pub fn is_accessory(media_type: &str, content: &[u8], reference: &str) -> bool {
    if cosign_tag(reference).is_some() {
        return true;
    }
    let media_type = essence(media_type);
    if media_type == NOTATION_SIGNATURE {
        return true;
    }
    let Ok(v) = serde_json::from_slice::<Value>(content) else {
        return false;
    };
    if v.get("subject").is_some_and(|s| !s.is_null()) {
        return true;
    }
    let signature_type = |t: Option<&str>| {
        matches!(
            t,
            Some(COSIGN_SIGNATURE | NOTATION_SIGNATURE | SIGSTORE_BUNDLE)
        )
    };
    if signature_type(v["artifactType"].as_str())
        || signature_type(v["config"]["mediaType"].as_str())
    {
        return true;
    }
    v["layers"].as_array().is_some_and(|layers| {
        layers.iter().any(|l| {
            l["mediaType"].as_str().is_some_and(|t| {
                t.starts_with("application/vnd.dev.cosign.")
                    || t == "application/vnd.dsse.envelope.v1+json"
            })
        })
    })
}

/// One signature of a cosign signature manifest: its payload layer and the base64
/// signature annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignLayer {
    /// The payload blob.
    pub payload: Digest,
    /// Its declared size.
    pub size: u64,
    /// The `dev.cosignproject.cosign/signature` annotation (base64 DER ECDSA).
    pub signature: String,
}

/// The simple-signing layers of a cosign signature manifest (layers of another type or
/// without the signature annotation are left out).
pub fn cosign_layers(manifest: &[u8]) -> Vec<CosignLayer> {
    let Ok(v) = serde_json::from_slice::<Value>(manifest) else {
        return Vec::new();
    };
    v["layers"]
        .as_array()
        .map(|layers| {
            layers
                .iter()
                .filter(|l| l["mediaType"].as_str() == Some(COSIGN_SIMPLESIGNING))
                .filter_map(|l| {
                    Some(CosignLayer {
                        payload: Digest::parse(l["digest"].as_str()?).ok()?,
                        size: l["size"].as_u64()?,
                        signature: l["annotations"][COSIGN_SIGNATURE_ANNOTATION]
                            .as_str()?
                            .to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a cosign simple-signing payload: `critical.type` is cosign's and
/// `critical.image.docker-manifest-digest` names `subject` (else the signature is of
/// another image, or not a cosign signature at all). The text says what is wrong.
pub fn check_cosign_payload(payload: &[u8], subject: &Digest) -> std::result::Result<(), String> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
    let critical = &v["critical"];
    if critical["type"].as_str() != Some(COSIGN_PAYLOAD_TYPE) {
        return Err(format!("critical.type is not {COSIGN_PAYLOAD_TYPE:?}"));
    }
    match critical["image"]["docker-manifest-digest"].as_str() {
        Some(d) if d == subject.as_str() => Ok(()),
        Some(d) => Err(format!("the payload signs {d}, not {subject}")),
        None => Err("critical.image.docker-manifest-digest is missing".into()),
    }
}

/// The most a project may trust.
pub const MAX_KEYS: usize = 50;
/// The largest PEM accepted (a certificate chain of a few certificates).
pub const MAX_PEM_BYTES: usize = 64 * 1024;

/// A public key (cosign) or root certificate (Notation) a project trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    /// Database id.
    pub id: i64,
    /// The project.
    pub project_id: i64,
    /// What it verifies.
    pub kind: SignatureKind,
    /// Its name, unique in the project.
    pub name: String,
    /// The PEM as given.
    pub pem: String,
    /// SHA-256 of its DER (`sha256:<hex>`), unique per project.
    pub fingerprint: String,
    /// Who added it.
    pub created_by: String,
    /// When (ms).
    pub created_ms: i64,
}

/// A key to add, checked by the service (PEM parsed, fingerprint computed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTrustedKey {
    /// What it verifies.
    pub kind: SignatureKind,
    /// Its name.
    pub name: String,
    /// The PEM.
    pub pem: String,
    /// SHA-256 of its DER.
    pub fingerprint: String,
}

/// Checks a key name: 1 to 64 characters, letters, digits, `.`, `_`, `-`.
pub fn validate_key_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "invalid key name {name:?}: 1 to 64 letters, digits, '.', '_' or '-'"
        )))
    }
}

/// Storage of trusted keys. A project's keys are deleted with the project.
#[async_trait]
pub trait SignatureKeyStore: Send + Sync {
    /// The keys of a project, by id (one indexed query).
    async fn signature_keys(&self, project_id: i64) -> Result<Vec<TrustedKey>>;
    /// Adds a key, appending `events` in its transaction; [`Error::Conflict`] when the
    /// project has one of that name or fingerprint, [`Error::NotFound`] when the project
    /// is gone (then nothing is written).
    async fn add_signature_key_emitting(
        &self,
        project_id: i64,
        key: &NewTrustedKey,
        by: &str,
        events: &[NewEvent],
    ) -> Result<TrustedKey>;
    /// Deletes a key of the project, appending `events` in its transaction; whether it
    /// existed (when not, nothing is written).
    async fn delete_signature_key_emitting(
        &self,
        project_id: i64,
        id: i64,
        events: &[NewEvent],
    ) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn project(meta: &[(&str, &str)]) -> Project {
        Project {
            id: 1,
            name: "p".into(),
            owner_id: 1,
            owner_name: "admin".into(),
            public: false,
            metadata: meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            registry_id: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_policy_is_read_from_metadata() {
        assert_eq!(ContentTrust::of(&project(&[])), None);
        assert_eq!(
            ContentTrust::of(&project(&[
                ("enable_content_trust", "false"),
                ("enable_content_trust_cosign", "false")
            ])),
            None
        );
        let t = ContentTrust::of(&project(&[("enable_content_trust_cosign", "true")])).unwrap();
        assert_eq!(t.required().collect::<Vec<_>>(), [SignatureKind::Cosign]);
        let t = ContentTrust::of(&project(&[
            ("enable_content_trust", "TRUE"),
            ("enable_content_trust_cosign", "true"),
        ]))
        .unwrap();
        assert_eq!(
            t.required().collect::<Vec<_>>(),
            [SignatureKind::Cosign, SignatureKind::Notation]
        );
    }

    #[test]
    fn harbors_messages_word_for_word() {
        assert_eq!(
            SignatureKind::Cosign.not_signed().to_string(),
            "The image is not signed by cosign."
        );
        assert_eq!(
            SignatureKind::Notation.not_signed().to_string(),
            "The image is not signed by notation."
        );
        assert!(matches!(
            SignatureKind::Cosign.not_signed(),
            Error::PolicyViolation(_)
        ));
        assert_eq!(
            SignatureKind::of_accessory("signature.notation"),
            Some(SignatureKind::Notation)
        );
        assert_eq!(SignatureKind::of_accessory("subject.accessory"), None);
    }

    #[test]
    fn signing_clients_are_named_by_their_user_agent() {
        assert!(signing_client("cosign/v2.2.4 (linux; amd64)"));
        assert!(signing_client("notation/v1.1.0"));
        assert!(!signing_client(
            "containers/5.29 (github.com/containers/image)"
        ));
    }

    #[test]
    fn accessories_are_recognised_from_their_bytes() {
        let image = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[]}"#;
        let oci = crate::manifest::OCI_MANIFEST;
        assert!(!is_accessory(oci, image, "latest"));
        assert!(is_accessory(oci, image, &format!("sha256-{HEX}.sig")));
        let sig = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"}]}"#;
        assert!(is_accessory(oci, sig, "sha256:x"));
        let referrer = format!(
            r#"{{"schemaVersion":2,"artifactType":"application/vnd.cncf.notary.signature","subject":{{"digest":"sha256:{HEX}"}},"layers":[]}}"#
        );
        assert!(is_accessory(oci, referrer.as_bytes(), "sha256:x"));
        let bundle = br#"{"schemaVersion":2,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","layers":[]}"#;
        assert!(is_accessory(oci, bundle, "sha256:x"));
        assert!(!is_accessory(oci, b"not json", "latest"));
    }

    #[test]
    fn cosign_layers_need_the_signature_annotation() {
        let m = format!(
            r#"{{"layers":[
              {{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"sha256:{HEX}","size":3,
                "annotations":{{"dev.cosignproject.cosign/signature":"MEUC"}}}},
              {{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"sha256:{HEX}","size":3}},
              {{"mediaType":"application/octet-stream","digest":"sha256:{HEX}","size":3,
                "annotations":{{"dev.cosignproject.cosign/signature":"MEUC"}}}}]}}"#
        );
        let layers = cosign_layers(m.as_bytes());
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].signature, "MEUC");
        assert_eq!(layers[0].size, 3);
        assert!(cosign_layers(b"[]").is_empty());
    }

    #[test]
    fn the_payload_must_name_the_subject() {
        let d = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        let payload = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"h/p/r"}},"image":{{"docker-manifest-digest":"sha256:{HEX}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        assert_eq!(check_cosign_payload(payload.as_bytes(), &d), Ok(()));
        let other = payload.replace("sha256:0123", "sha256:ffff");
        let e = check_cosign_payload(other.as_bytes(), &d).unwrap_err();
        assert!(e.contains("not sha256:0123"), "{e}");
        let wrong_type = payload.replace("cosign container image signature", "x");
        assert!(check_cosign_payload(wrong_type.as_bytes(), &d).is_err());
        assert!(check_cosign_payload(b"{", &d).is_err());
        assert!(check_cosign_payload(b"{}", &d).is_err());
    }

    #[test]
    fn key_names_are_checked() {
        for ok in ["ci", "release-2026.key", "a_b"] {
            validate_key_name(ok).unwrap();
        }
        for bad in ["", "has space", "../x", &"a".repeat(65)] {
            assert!(validate_key_name(bad).is_err(), "{bad:?}");
        }
    }
}
