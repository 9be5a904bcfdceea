//! Signatures made in the tests exactly as the tools make them: cosign's key-pair
//! signatures (an ECDSA P-256 key, the simple-signing payload, a `sha256-<hex>.sig`
//! manifest with one layer per signature and the base64 DER signature annotation) and
//! Notation's JWS envelopes (an X.509 chain with the code-signing usage, an OCI 1.1
//! referrer of artifact type `application/vnd.cncf.notary.signature`). Included by the
//! API and end-to-end suites (`#[path]`), beside `common`.

#![allow(dead_code)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SigningKey as _,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

/// A cosign key pair (`cosign generate-key-pair` makes ECDSA P-256 keys).
pub struct CosignKey(KeyPair);

impl CosignKey {
    pub fn generate() -> Self {
        Self(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap())
    }

    /// The public key as `cosign.pub` holds it.
    pub fn public_pem(&self) -> String {
        self.0.public_key_pem()
    }

    /// cosign's signature annotation: base64 of the DER ECDSA signature over the bytes.
    pub fn sign(&self, payload: &[u8]) -> String {
        STANDARD.encode(self.0.sign(payload).unwrap())
    }

    /// The private key as PEM (PKCS#8).
    pub fn private_pem(&self) -> String {
        self.0.serialize_pem()
    }
}

/// cosign's simple-signing payload for `digest` of `reference` (`host/project/repo`),
/// byte for byte as cosign marshals it (Go's field order, no spaces).
pub fn cosign_payload(reference: &str, digest: &str) -> Vec<u8> {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{reference}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
    )
    .into_bytes()
}

/// The cosign tag of a digest: `sha256-<hex>.sig`.
pub fn cosign_tag(digest: &str) -> String {
    format!("{}.sig", digest.replace(':', "-"))
}

/// Pushes a cosign signature manifest signing `payload` with `key` to `repo`, tagged for
/// `subject` (`sha256-<hex>.sig`), as cosign does; returns its digest.
pub async fn push_cosign_signature(
    s: &TestServer,
    repo: &str,
    subject: &str,
    payload: &[u8],
    key: &CosignKey,
) -> String {
    let payload_digest = push_blob(s, repo, payload).await;
    let config = serde_json::to_vec(&json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [payload_digest]},
        "config": {},
    }))
    .unwrap();
    let config_digest = push_blob(s, repo, &config).await;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": config.len(), "digest": config_digest},
        "layers": [{
            "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "size": payload.len(),
            "digest": payload_digest,
            "annotations": {"dev.cosignproject.cosign/signature": key.sign(payload)},
        }],
    }))
    .unwrap();
    let r = put_manifest(s, repo, &cosign_tag(subject), OCI_MANIFEST, &manifest).await;
    assert_eq!(r.status(), StatusCode::CREATED, "push the cosign signature");
    sha256(&manifest)
}

/// A Notation signing chain: a root CA (what a project trusts) and a leaf with the
/// code-signing usage.
pub struct NotationChain {
    pub root_pem: String,
    leaf_der: Vec<u8>,
    leaf_key: Vec<u8>,
}

impl NotationChain {
    pub fn generate() -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        Self {
            root_pem: ca_cert.pem(),
            leaf_der: leaf_cert.der().to_vec(),
            leaf_key: leaf_key.serialize_der(),
        }
    }

    /// A JWS envelope (ES256) signing `digest` (`size` bytes of `media_type`).
    pub fn envelope(&self, media_type: &str, digest: &str, size: usize) -> Vec<u8> {
        let protected = URL_SAFE_NO_PAD.encode(
            json!({
                "alg": "ES256",
                "crit": ["io.cncf.notary.signingScheme"],
                "cty": "application/vnd.cncf.notary.payload.v1+json",
                "io.cncf.notary.signingScheme": "notary.x509",
                "io.cncf.notary.signingTime": "2026-01-01T00:00:00Z",
            })
            .to_string(),
        );
        let payload = URL_SAFE_NO_PAD.encode(
            json!({"targetArtifact": {"mediaType": media_type, "digest": digest, "size": size}})
                .to_string(),
        );
        let kp =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.leaf_key).unwrap();
        let sig = kp
            .sign(
                &SystemRandom::new(),
                format!("{protected}.{payload}").as_bytes(),
            )
            .unwrap();
        serde_json::to_vec(&json!({
            "payload": payload,
            "protected": protected,
            "header": {
                "x5c": [STANDARD.encode(&self.leaf_der)],
                "io.cncf.notary.signingAgent": "harbor-rs-test",
            },
            "signature": URL_SAFE_NO_PAD.encode(sig.as_ref()),
        }))
        .unwrap()
    }
}

/// Pushes a Notation signature of `subject` (an OCI image manifest of `size` bytes) as
/// an OCI 1.1 referrer whose envelope says it signs `signed` (the subject, or another
/// digest for a tampered one); returns its digest.
pub async fn push_notation_signature(
    s: &TestServer,
    repo: &str,
    subject: &str,
    size: usize,
    signed: &str,
    chain: &NotationChain,
) -> String {
    let envelope = chain.envelope(OCI_MANIFEST, signed, size);
    let envelope_digest = push_blob(s, repo, &envelope).await;
    let empty = b"{}";
    let empty_digest = push_blob(s, repo, empty).await;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.cncf.notary.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest, "size": 2},
        "layers": [{"mediaType": "application/jose+json", "digest": envelope_digest, "size": envelope.len()}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": size},
        "annotations": {"io.cncf.notary.x509chain.thumbprint#S256": "[]"},
    }))
    .unwrap();
    let digest = sha256(&manifest);
    let r = put_manifest(s, repo, &digest, OCI_MANIFEST, &manifest).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "push the notation signature"
    );
    digest
}
