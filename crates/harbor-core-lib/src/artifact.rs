//! Artifacts as Harbor's REST API shows them: records, listing filters, and the rules that
//! derive an artifact's type, media type, size and accessories from its manifest.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::digest::Digest;
use crate::identity::Match;
use crate::manifest::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};

/// OCI image configuration.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker image configuration.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Helm chart configuration.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// CNAB configuration.
pub const CNAB_CONFIG: &str = "application/vnd.cnab.manifest.v1";
/// Cosign signature artifact type (OCI 1.1 referrers).
pub const COSIGN_SIGNATURE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// Notation signature artifact type.
pub const NOTATION_SIGNATURE: &str = "application/vnd.cncf.notary.signature";
/// Harbor's SBOM artifact type.
pub const HARBOR_SBOM: &str = "application/vnd.goharbor.harbor.sbom.v1";

/// A manifest of a repository, as an artifact.
#[derive(Clone, Debug)]
pub struct ArtifactRecord {
    /// The manifest's row id (Harbor's artifact id).
    pub id: i64,
    /// The repository's id.
    pub repository_id: i64,
    /// The repository's project, if that project exists.
    pub project_id: Option<i64>,
    /// Full repository name.
    pub repository_name: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest's media type.
    pub manifest_media_type: String,
    /// Stored `artifactType` (or the config media type of an image manifest).
    pub artifact_type: Option<String>,
    /// The `subject` of the manifest.
    pub subject: Option<Digest>,
    /// Size as Harbor counts it: the manifest plus its blobs, or for an index the
    /// manifest plus the sizes of its children.
    pub size: u64,
    /// Top-level annotations.
    pub annotations: BTreeMap<String, String>,
    /// The manifest bytes.
    pub content: Bytes,
    /// Push time (ms since epoch).
    pub pushed_ms: i64,
    /// Last recorded pull (ms since epoch).
    pub pulled_ms: Option<i64>,
}

/// A tag, as the REST API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagRecord {
    /// The tag's id.
    pub id: i64,
    /// The repository's id.
    pub repository_id: i64,
    /// The artifact the tag points at.
    pub artifact_id: i64,
    /// The tag.
    pub name: String,
    /// When the tag was last pushed or moved (ms).
    pub pushed_ms: i64,
    /// Last recorded pull through this tag (ms).
    pub pulled_ms: Option<i64>,
}

/// An accessory (signature, SBOM, OCI referrer) attached to a subject artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessoryRecord {
    /// The accessory manifest's id (also Harbor's accessory id here).
    pub artifact_id: i64,
    /// The subject artifact's id.
    pub subject_artifact_id: i64,
    /// The subject's digest.
    pub subject_digest: Digest,
    /// The accessory's digest.
    pub digest: Digest,
    /// The accessory manifest's size.
    pub size: u64,
    /// Harbor's accessory type (`signature.cosign`, `subject.accessory`, ...).
    pub kind: String,
    /// Push time of the accessory (ms).
    pub created_ms: i64,
}

/// The `tags` filter of an artifact listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagFilter {
    /// `tags=*`: tagged artifacts.
    Tagged,
    /// `tags=nil`: untagged artifacts.
    Untagged,
    /// `tags=v` or `tags=~v`.
    Name(Match),
}

/// What an artifact listing can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtifactSortKey {
    /// Push time.
    PushTime,
    /// Last pull time.
    PullTime,
    /// Digest.
    Digest,
    /// Size.
    Size,
}

/// Filters and order of an artifact listing.
#[derive(Clone, Debug, Default)]
pub struct ArtifactQuery {
    /// Tag filter.
    pub tags: Option<TagFilter>,
    /// Digest filter.
    pub digest: Option<Match>,
    /// Media type (Harbor's `media_type`: the config media type of an image).
    pub media_type: Option<Match>,
    /// Harbor's type (`IMAGE`, `CHART`, ...).
    pub kind: Option<String>,
    /// Pushed at or after (ms).
    pub pushed_from_ms: Option<i64>,
    /// Pushed at or before (ms).
    pub pushed_to_ms: Option<i64>,
    /// Pulled at or after (ms).
    pub pulled_from_ms: Option<i64>,
    /// Pulled at or before (ms).
    pub pulled_to_ms: Option<i64>,
    /// Only artifacts carrying every one of these labels (ids).
    pub label_ids: Vec<i64>,
    /// Sort keys, `true` = descending; empty = newest push first.
    pub sort: Vec<(ArtifactSortKey, bool)>,
}

/// Pulls of one repository gathered in memory, written in one batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryPulls {
    /// The repository.
    pub repository: crate::names::RepositoryName,
    /// Manifest pulls to add to its pull count.
    pub count: u64,
    /// Last pull time (ms) of each manifest pulled.
    pub manifests: Vec<(Digest, i64)>,
    /// Last pull time (ms) of each tag pulled through.
    pub tags: Vec<(crate::names::Tag, i64)>,
}

/// What an artifact's type derives from: its stored artifact type or manifest media type.
pub fn kind_of(manifest_media_type: &str, artifact_type: Option<&str>) -> String {
    if manifest_media_type == OCI_INDEX || manifest_media_type == DOCKER_MANIFEST_LIST {
        return match artifact_type {
            Some(t) if !t.is_empty() => kind_of_media_type(t),
            _ => "IMAGE".to_owned(),
        };
    }
    kind_of_media_type(artifact_type.unwrap_or_default())
}

/// Harbor's type for an artifact media type (`processor/*`, and its default processor's
/// `application/vnd.<x>.<type>.config.<v>+json` rule); `UNKNOWN` otherwise.
pub fn kind_of_media_type(media_type: &str) -> String {
    let known = match media_type {
        OCI_CONFIG | DOCKER_CONFIG | OCI_INDEX | DOCKER_MANIFEST_LIST => "IMAGE",
        HELM_CONFIG => "CHART",
        CNAB_CONFIG => "CNAB",
        "application/vnd.wasm.config.v1+json" | "application/vnd.module.wasm.config.v1+json" => {
            "WASM"
        }
        COSIGN_SIGNATURE | NOTATION_SIGNATURE => "SIGNATURE",
        HARBOR_SBOM | "application/vnd.cyclonedx+json" | "application/spdx+json" => "SBOM",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    // application/vnd.<vendor>.<type>.config.<version>+json
    let Some(rest) = media_type.strip_prefix("application/vnd.") else {
        return "UNKNOWN".to_owned();
    };
    let Some(rest) = rest.strip_suffix("+json") else {
        return "UNKNOWN".to_owned();
    };
    let Some((_vendor, rest)) = rest.split_once('.') else {
        return "UNKNOWN".to_owned();
    };
    match rest.rsplit_once(".config.") {
        Some((t, version)) if !t.is_empty() && !version.contains('.') => t.to_uppercase(),
        _ => "UNKNOWN".to_owned(),
    }
}

/// The media types stored for artifacts of a Harbor type, to filter on in SQL; `None` for
/// types known only by the `application/vnd.<x>.<type>.config.<v>+json` rule.
pub fn media_types_of_kind(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "IMAGE" => &[OCI_CONFIG, DOCKER_CONFIG, OCI_INDEX, DOCKER_MANIFEST_LIST],
        "CHART" => &[HELM_CONFIG],
        "CNAB" => &[CNAB_CONFIG],
        "SIGNATURE" => &[COSIGN_SIGNATURE, NOTATION_SIGNATURE],
        "SBOM" => &[
            HARBOR_SBOM,
            "application/vnd.cyclonedx+json",
            "application/spdx+json",
        ],
        _ => return None,
    })
}

/// Harbor's `media_type` of an artifact: the config media type of an image manifest, the
/// manifest media type of an index.
pub fn media_type_of(manifest_media_type: &str, content: &[u8]) -> String {
    if manifest_media_type == OCI_MANIFEST || manifest_media_type == DOCKER_MANIFEST {
        let v: Value = serde_json::from_slice(content).unwrap_or(Value::Null);
        if let Some(t) = v["config"]["mediaType"].as_str() {
            return t.to_owned();
        }
    }
    manifest_media_type.to_owned()
}

/// The config descriptor `(digest, size, media type)` of an image manifest.
pub fn config_of(content: &[u8]) -> Option<(Digest, u64, String)> {
    let v: Value = serde_json::from_slice(content).ok()?;
    let c = &v["config"];
    let digest = Digest::parse(c["digest"].as_str()?).ok()?;
    Some((
        digest,
        c["size"].as_u64()?,
        c["mediaType"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// One child of an index, as Harbor's `Reference`.
#[derive(Clone, Debug)]
pub struct IndexChild {
    /// The child's digest.
    pub digest: Digest,
    /// The child's artifact id in the same repository (filled when listed).
    pub id: Option<i64>,
    /// Its platform object, as pushed.
    pub platform: Option<Value>,
    /// Its annotations, as pushed.
    pub annotations: Option<Value>,
    /// Its `urls`.
    pub urls: Option<Value>,
}

/// The children of an index manifest (empty for anything else).
pub fn children_of(content: &[u8]) -> Vec<IndexChild> {
    let v: Value = serde_json::from_slice(content).unwrap_or(Value::Null);
    v["manifests"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|m| {
                    Some(IndexChild {
                        digest: Digest::parse(m["digest"].as_str()?).ok()?,
                        id: None,
                        platform: m.get("platform").cloned(),
                        annotations: m.get("annotations").cloned(),
                        urls: m.get("urls").cloned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The subject digest a cosign-style tag (`<alg>-<hex>.sig|.att|.sbom`) names, and the
/// accessory type Harbor gives it.
pub fn cosign_tag(tag: &str) -> Option<(Digest, &'static str)> {
    let (stem, kind) = if let Some(s) = tag.strip_suffix(".sig") {
        (s, "signature.cosign")
    } else if let Some(s) = tag.strip_suffix(".att") {
        (s, "subject.accessory")
    } else if let Some(s) = tag.strip_suffix(".sbom") {
        (s, "subject.accessory")
    } else {
        return None;
    };
    let (alg, hex) = stem.split_once('-')?;
    let digest = Digest::parse(&format!("{alg}:{hex}")).ok()?;
    Some((digest, kind))
}

/// The accessory type of a manifest with a `subject`, from its artifact type.
pub fn subject_accessory_kind(artifact_type: Option<&str>) -> &'static str {
    match artifact_type {
        Some(COSIGN_SIGNATURE | crate::signature::SIGSTORE_BUNDLE) => "signature.cosign",
        Some(NOTATION_SIGNATURE) => "signature.notation",
        Some(HARBOR_SBOM) => "harbor.sbom",
        _ => "subject.accessory",
    }
}

/// Keys of an image config copied into `extra_attrs`, as Harbor's image processor does.
const EXTRA_KEYS: [&str; 5] = ["architecture", "os", "created", "author", "config"];

/// `extra_attrs` from an image config: `architecture`, `os`, `created`, `author`,
/// `config`, plus `variant`/`os.version` when present. `None` if the config is not JSON.
pub fn extra_attrs(config: &[u8]) -> Option<Map<String, Value>> {
    let v: Value = serde_json::from_slice(config).ok()?;
    let obj = v.as_object()?;
    let mut out = Map::new();
    for k in EXTRA_KEYS.iter().chain(["variant", "os.version"].iter()) {
        if let Some(x) = obj.get(*k) {
            out.insert((*k).to_owned(), x.clone());
        }
    }
    Some(out)
}

/// The config's `history` array (the `build_history` addition), if it has one.
pub fn build_history(config: &[u8]) -> Option<Value> {
    let v: Value = serde_json::from_slice(config).ok()?;
    match v.get("history") {
        Some(h @ Value::Array(_)) => Some(h.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_types_as_harbor() {
        assert_eq!(kind_of(OCI_MANIFEST, Some(OCI_CONFIG)), "IMAGE");
        assert_eq!(kind_of(DOCKER_MANIFEST, Some(DOCKER_CONFIG)), "IMAGE");
        assert_eq!(kind_of(OCI_INDEX, None), "IMAGE");
        assert_eq!(kind_of(DOCKER_MANIFEST_LIST, None), "IMAGE");
        assert_eq!(kind_of(OCI_MANIFEST, Some(HELM_CONFIG)), "CHART");
        assert_eq!(kind_of(OCI_MANIFEST, Some(COSIGN_SIGNATURE)), "SIGNATURE");
        assert_eq!(kind_of(OCI_MANIFEST, Some(HARBOR_SBOM)), "SBOM");
        assert_eq!(
            kind_of(
                OCI_MANIFEST,
                Some("application/vnd.acme.model.config.v1+json")
            ),
            "MODEL"
        );
        assert_eq!(kind_of(OCI_MANIFEST, Some("text/plain")), "UNKNOWN");
        assert_eq!(kind_of(OCI_MANIFEST, None), "UNKNOWN");
    }

    #[test]
    fn reads_cosign_tags() {
        let hex = "a".repeat(64);
        let (d, k) = cosign_tag(&format!("sha256-{hex}.sig")).unwrap();
        assert_eq!(d.as_str(), format!("sha256:{hex}"));
        assert_eq!(k, "signature.cosign");
        assert!(cosign_tag(&format!("sha256-{hex}.att")).is_some());
        assert!(cosign_tag("latest").is_none());
        assert!(cosign_tag("sha256-abc.sig").is_none());
    }

    #[test]
    fn extracts_extra_attrs_and_history() {
        let cfg = br#"{"architecture":"amd64","os":"linux","created":"2020-01-01T00:00:00Z",
            "config":{"Env":["A=1"]},"rootfs":{},"history":[{"created_by":"RUN x"}]}"#;
        let a = extra_attrs(cfg).unwrap();
        assert_eq!(a["architecture"], "amd64");
        assert_eq!(a["config"]["Env"][0], "A=1");
        assert!(!a.contains_key("rootfs"));
        assert_eq!(build_history(cfg).unwrap()[0]["created_by"], "RUN x");
        assert!(build_history(b"{}").is_none());
        assert!(extra_attrs(b"not json").is_none());
    }
}
