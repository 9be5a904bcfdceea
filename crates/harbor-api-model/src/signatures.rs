//! Signature keys and statuses: our extension of Harbor's content trust (Harbor has no
//! such definitions, so `tests/swagger.rs` has nothing to compare them with; the routes
//! are `/projects/{project_name_or_id}/signature/keys[/{id}]`, documented in
//! docs/signatures.md and docs/api.md).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A key a project trusts: a cosign public key or a Notation root certificate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SignatureKey {
    /// Id.
    pub id: i64,
    /// `cosign` or `notation`.
    pub kind: String,
    /// Its name, unique in the project.
    pub name: String,
    /// `sha256:<hex>` of its DER.
    pub fingerprint: String,
    /// The PEM as stored.
    pub pem: String,
    /// Who added it.
    #[serde(default)]
    pub creator: String,
    /// When.
    #[serde(default)]
    pub creation_time: String,
}

/// A key to trust (`POST .../signature/keys`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SignatureKeyReq {
    /// `cosign` (a PEM `PUBLIC KEY`, ECDSA P-256) or `notation` (a PEM root
    /// `CERTIFICATE`).
    pub kind: String,
    /// Its name: 1 to 64 letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// The PEM.
    pub pem: String,
}

/// An artifact's signatures (`signature_status` of an artifact, with `with_signature`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SignatureStatus {
    /// It has a cosign or Notation signature accessory.
    pub signed: bool,
    /// One of them verified with a key the project trusts.
    pub verified: bool,
    /// The kinds of its signatures (`cosign`, `notation`).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// The name of the trusted key that verified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}
