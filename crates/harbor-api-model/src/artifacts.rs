//! Artifacts, their tags, accessories and index references.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::labels::Label;

/// Harbor's time for "never" (Go's zero time), shown for artifacts and tags never pulled.
pub const NEVER: &str = "0001-01-01T00:00:00.000Z";

/// Harbor's `Artifact`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Artifact {
    /// Id.
    pub id: i64,
    /// `IMAGE`, `CHART`, `CNAB`, `SIGNATURE.COSIGN`, ... (from the config media type).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The config's media type (the manifest's for an index).
    #[serde(default)]
    pub media_type: String,
    /// The manifest's media type.
    #[serde(default)]
    pub manifest_media_type: String,
    /// The manifest's `artifactType`, empty when it has none.
    #[serde(default)]
    pub artifact_type: String,
    /// The project's id.
    #[serde(default)]
    pub project_id: i64,
    /// The repository's id.
    #[serde(default)]
    pub repository_id: i64,
    /// The repository's full name (`project/repo`).
    #[serde(default)]
    pub repository_name: String,
    /// The manifest's digest.
    pub digest: String,
    /// Bytes: the manifest, its config and layers (an index: its children's too).
    #[serde(default)]
    pub size: u64,
    /// Always empty.
    #[serde(default)]
    pub icon: String,
    /// Push time.
    #[serde(default)]
    pub push_time: String,
    /// Last pull ([`NEVER`] when never pulled).
    #[serde(default)]
    pub pull_time: String,
    /// What the config tells (architecture, OS, author, ...), by artifact type.
    #[serde(default)]
    pub extra_attrs: Map<String, Value>,
    /// The manifest's annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// An index's children; left out for other artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<Vec<Reference>>,
    /// Its tags, with `with_tag` (the default); left out otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// Links to its additions (`build_history` for single-platform images).
    #[serde(default)]
    pub addition_links: BTreeMap<String, AdditionLink>,
    /// Its labels (with `with_label`).
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Signatures and other artifacts attached to it, with `with_accessory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessories: Option<Vec<Accessory>>,
    /// Its vulnerability reports by report type, with `with_scan_overview`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_overview: Option<BTreeMap<String, crate::scans::NativeReportSummary>>,
    /// Its SBOM generation, with `with_sbom_overview`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom_overview: Option<crate::scans::SbomOverview>,
    /// Its signatures and whether one verified, with `with_signature` (our extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_status: Option<crate::signatures::SignatureStatus>,
}

impl Artifact {
    /// Tag names, comma-separated.
    pub fn tag_names(&self) -> String {
        self.tags
            .iter()
            .flatten()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The config's extra attribute `key` as text (`architecture`, `os`, ...).
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.extra_attrs.get(key).and_then(Value::as_str)
    }
}

/// Harbor's `Tag`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tag {
    /// Id.
    #[serde(default)]
    pub id: i64,
    /// The repository's id.
    #[serde(default)]
    pub repository_id: i64,
    /// The artifact it points at.
    #[serde(default)]
    pub artifact_id: i64,
    /// Name.
    pub name: String,
    /// When it was pushed (or last moved).
    #[serde(default)]
    pub push_time: String,
    /// Last pull by this tag ([`NEVER`] when never pulled).
    #[serde(default)]
    pub pull_time: String,
    /// Whether an immutability rule protects it.
    #[serde(default)]
    pub immutable: bool,
}

/// Harbor's `Accessory`: a signature, SBOM or other artifact whose subject is another.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Accessory {
    /// Id (the accessory's artifact id).
    pub id: i64,
    /// The accessory's artifact id.
    #[serde(default)]
    pub artifact_id: i64,
    /// The subject's artifact id.
    #[serde(default)]
    pub subject_artifact_id: i64,
    /// The subject's digest.
    #[serde(default)]
    pub subject_artifact_digest: String,
    /// The subject's repository.
    #[serde(default)]
    pub subject_artifact_repo: String,
    /// Bytes.
    #[serde(default)]
    pub size: u64,
    /// The accessory's digest.
    #[serde(default)]
    pub digest: String,
    /// `signature.cosign`, `signature.notation`, `build.attestation`, `subject` ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Always empty.
    #[serde(default)]
    pub icon: String,
    /// When it was pushed.
    #[serde(default)]
    pub creation_time: String,
}

/// Harbor's `Reference`: one child of an index.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reference {
    /// The index's artifact id.
    pub parent_id: i64,
    /// The child's artifact id, when the child is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_id: Option<i64>,
    /// The child's digest.
    pub child_digest: String,
    /// The child's platform, as the index names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The descriptor's annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The descriptor's URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

/// Harbor's `Platform` (the OCI image index's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, ...).
    #[serde(default)]
    pub architecture: String,
    /// Operating system (`linux`, ...).
    #[serde(default)]
    pub os: String,
    /// OS version.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// OS features.
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    /// CPU variant (`v8`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// Harbor's `AdditionLink`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AdditionLink {
    /// The addition's path.
    pub href: String,
    /// Whether `href` is an absolute URL (always false).
    #[serde(default)]
    pub absolute: bool,
}
