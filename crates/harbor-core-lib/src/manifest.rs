//! Manifest media types, parsing and validation.
//!
//! Manifests are parsed with `oci-spec` only to validate them and to extract what they
//! reference; the bytes the client sent are what is stored, digested and served, so
//! unknown fields (such as descriptor `data` or custom fields) survive untouched.

use std::collections::BTreeMap;

use oci_spec::image::{Descriptor as OciDescriptor, ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::digest::Digest;
use crate::error::Error;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema 1 manifests, which are rejected.
pub const DOCKER_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
/// The media types accepted on manifest PUT.
pub const SUPPORTED: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// Whether a manifest is a single image/artifact or a list of manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    /// OCI image manifest or Docker schema 2 manifest.
    Image,
    /// OCI image index or Docker manifest list.
    Index,
}

/// A descriptor as the registry needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// The target's media type.
    pub media_type: String,
    /// The target's digest.
    pub digest: Digest,
    /// The target's size in bytes.
    pub size: u64,
}

/// A blob a manifest references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobRef {
    /// The blob.
    pub descriptor: Descriptor,
    /// False for foreign / non-distributable layers, which need not be in the registry.
    pub distributable: bool,
}

/// What the registry learns from a valid manifest.
#[derive(Clone, Debug)]
pub struct ParsedManifest {
    /// The effective media type (one of [`SUPPORTED`]).
    pub media_type: String,
    /// Image or index.
    pub kind: ManifestKind,
    /// Config and layers of an image manifest, in manifest order.
    pub blobs: Vec<BlobRef>,
    /// Child manifests of an index, in manifest order.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 `subject`).
    pub subject: Option<Descriptor>,
    /// `artifactType`, falling back to `config.mediaType` for image manifests.
    pub artifact_type: Option<String>,
    /// Top-level annotations.
    pub annotations: BTreeMap<String, String>,
}

/// The fields read before choosing a parser.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<serde_json::Value>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    config: Option<serde::de::IgnoredAny>,
    manifests: Option<serde::de::IgnoredAny>,
    #[serde(rename = "fsLayers")]
    fs_layers: Option<serde::de::IgnoredAny>,
}

/// Strips parameters (`; charset=...`) and whitespace from a Content-Type value.
pub fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::ManifestInvalid(msg.into())
}

/// Parses and validates a manifest body sent with `content_type`.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<ParsedManifest, Error> {
    let probe: Probe = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("manifest is not a valid JSON object: {e}")))?;
    let declared = content_type.map(essence).filter(|ct| {
        !ct.is_empty() && *ct != "application/json" && *ct != "application/octet-stream"
    });
    let in_body = probe.media_type.as_deref();

    for mt in [declared, in_body].into_iter().flatten() {
        if DOCKER_SCHEMA1.contains(&mt) {
            return Err(invalid(
                "Docker schema 1 manifests are not supported; push schema 2 or OCI",
            ));
        }
    }
    if probe.fs_layers.is_some() {
        return Err(invalid(
            "Docker schema 1 manifests are not supported; push schema 2 or OCI",
        ));
    }
    match &probe.schema_version {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(2) => {}
        Some(v) => return Err(invalid(format!("schemaVersion must be 2, not {v}"))),
        None => return Err(invalid("schemaVersion is missing")),
    }

    let media_type = match (declared, in_body) {
        (Some(ct), Some(body)) if ct != body => {
            return Err(invalid(format!(
                "Content-Type {ct:?} does not match the manifest's mediaType {body:?}"
            )));
        }
        (Some(ct), _) => ct.to_owned(),
        (None, Some(body)) => body.to_owned(),
        (None, None) if probe.manifests.is_some() => OCI_INDEX.to_owned(),
        (None, None) if probe.config.is_some() => OCI_MANIFEST.to_owned(),
        (None, None) => {
            return Err(invalid(
                "cannot tell the manifest type: set Content-Type or mediaType",
            ));
        }
    };

    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => parse_image(media_type, body),
        OCI_INDEX | DOCKER_MANIFEST_LIST => parse_index(media_type, body),
        other => Err(invalid(format!(
            "unsupported manifest media type {other:?}; supported: {}",
            SUPPORTED.join(", ")
        ))),
    }
}

fn parse_image(media_type: String, body: &[u8]) -> Result<ParsedManifest, Error> {
    let m: ImageManifest = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("invalid image manifest: {e}")))?;
    let config = descriptor(m.config(), "config")?;
    let mut blobs = Vec::with_capacity(m.layers().len() + 1);
    let artifact_type = m
        .artifact_type()
        .as_ref()
        .map(|t| t.to_string())
        .or_else(|| Some(config.media_type.clone()));
    blobs.push(BlobRef {
        descriptor: config,
        distributable: true,
    });
    for (i, layer) in m.layers().iter().enumerate() {
        let d = descriptor(layer, &format!("layers[{i}]"))?;
        let distributable = !is_foreign(&d.media_type);
        blobs.push(BlobRef {
            descriptor: d,
            distributable,
        });
    }
    Ok(ParsedManifest {
        media_type,
        kind: ManifestKind::Image,
        blobs,
        manifests: Vec::new(),
        subject: m
            .subject()
            .as_ref()
            .map(|s| descriptor(s, "subject"))
            .transpose()?,
        artifact_type,
        annotations: m
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
    })
}

fn parse_index(media_type: String, body: &[u8]) -> Result<ParsedManifest, Error> {
    let m: ImageIndex =
        serde_json::from_slice(body).map_err(|e| invalid(format!("invalid image index: {e}")))?;
    let manifests = m
        .manifests()
        .iter()
        .enumerate()
        .map(|(i, d)| descriptor(d, &format!("manifests[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ParsedManifest {
        media_type,
        kind: ManifestKind::Index,
        blobs: Vec::new(),
        manifests,
        subject: m
            .subject()
            .as_ref()
            .map(|s| descriptor(s, "subject"))
            .transpose()?,
        artifact_type: m.artifact_type().as_ref().map(|t| t.to_string()),
        annotations: m
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
    })
}

fn descriptor(d: &OciDescriptor, field: &str) -> Result<Descriptor, Error> {
    let digest =
        Digest::parse(d.digest().as_ref()).map_err(|e| invalid(format!("{field}: {e}")))?;
    Ok(Descriptor {
        media_type: d.media_type().to_string(),
        digest,
        size: d.size(),
    })
}

/// Foreign (Docker) and non-distributable (OCI) layers live outside the registry.
fn is_foreign(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.nondistributable.")
        || media_type == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    const D2: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn image(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}",
            "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":2}},
            "layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{D2}","size":0}}]{extra}}}"#
        )
    }

    #[test]
    fn parses_oci_image_manifest() {
        let p = parse(Some(OCI_MANIFEST), image("").as_bytes()).unwrap();
        assert_eq!(p.kind, ManifestKind::Image);
        assert_eq!(p.media_type, OCI_MANIFEST);
        assert_eq!(p.blobs.len(), 2);
        assert_eq!(p.blobs[0].descriptor.digest.as_str(), D1);
        assert_eq!(p.blobs[1].descriptor.digest.as_str(), D2);
        assert!(p.blobs.iter().all(|b| b.distributable));
        assert_eq!(
            p.artifact_type.as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
        assert!(p.subject.is_none());
    }

    #[test]
    fn reads_subject_artifact_type_and_annotations() {
        let body = image(&format!(
            r#","artifactType":"application/vnd.example+type",
            "subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{D2}","size":7}},
            "annotations":{{"org.example":"yes"}},"customField":{{"x":1}}"#
        ));
        let p = parse(Some(OCI_MANIFEST), body.as_bytes()).unwrap();
        assert_eq!(
            p.artifact_type.as_deref(),
            Some("application/vnd.example+type")
        );
        assert_eq!(p.subject.unwrap().digest.as_str(), D2);
        assert_eq!(
            p.annotations.get("org.example").map(String::as_str),
            Some("yes")
        );
    }

    #[test]
    fn detects_type_from_body_when_content_type_is_generic() {
        let p = parse(Some("application/json"), image("").as_bytes()).unwrap();
        assert_eq!(p.media_type, OCI_MANIFEST);
        let p = parse(None, image("").as_bytes()).unwrap();
        assert_eq!(p.media_type, OCI_MANIFEST);
        let no_mt = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":2}}]}}"#
        );
        let p = parse(None, no_mt.as_bytes()).unwrap();
        assert_eq!(p.kind, ManifestKind::Index);
        let p = parse(
            Some(&format!("{OCI_INDEX}; charset=utf-8")),
            no_mt.as_bytes(),
        )
        .unwrap();
        assert_eq!(p.media_type, OCI_INDEX);
        assert_eq!(p.manifests.len(), 1);
        assert!(p.artifact_type.is_none());
    }

    #[test]
    fn parses_docker_schema2_and_manifest_list() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}",
            "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{D1}","size":2}},
            "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{D2}","size":0,"urls":["https://example.com/l"]}}]}}"#
        );
        let p = parse(Some(DOCKER_MANIFEST), m.as_bytes()).unwrap();
        assert_eq!(p.kind, ManifestKind::Image);
        assert!(!p.blobs[1].distributable);
        let l = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_LIST}","manifests":[{{"mediaType":"{DOCKER_MANIFEST}","digest":"{D1}","size":2,"platform":{{"architecture":"amd64","os":"linux","os.version":"10.0"}}}}]}}"#
        );
        let p = parse(Some(DOCKER_MANIFEST_LIST), l.as_bytes()).unwrap();
        assert_eq!(p.kind, ManifestKind::Index);
        assert_eq!(p.manifests[0].digest.as_str(), D1);
    }

    #[test]
    fn rejects_invalid_manifests() {
        let cases: Vec<(Option<&str>, String)> = vec![
            (Some(OCI_MANIFEST), "not json".into()),
            (Some(OCI_MANIFEST), "[]".into()),
            (Some(OCI_MANIFEST), "{}".into()),
            (Some(OCI_INDEX), image("")),
            (
                Some(DOCKER_SCHEMA1[0]),
                r#"{"schemaVersion":1,"fsLayers":[]}"#.into(),
            ),
            (
                Some(DOCKER_SCHEMA1[1]),
                r#"{"schemaVersion":1,"fsLayers":[]}"#.into(),
            ),
            (
                None,
                r#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#.into(),
            ),
            (
                Some(OCI_MANIFEST),
                image("").replace(r#""schemaVersion":2"#, r#""schemaVersion":3"#),
            ),
            (
                Some(OCI_MANIFEST),
                image("").replace(r#""schemaVersion":2"#, r#""schemaVersion":"2""#),
            ),
            (Some(OCI_MANIFEST), image("").replace(D2, "sha256:abc")),
            (Some(OCI_MANIFEST), image("").replace(D2, "foo:bar")),
            (
                Some(OCI_MANIFEST),
                image("").replace(r#""size":0"#, r#""size":-1"#),
            ),
            (
                Some(OCI_MANIFEST),
                image("").replace(r#""config""#, r#""notconfig""#),
            ),
            (
                Some("application/vnd.oci.artifact.manifest.v1+json"),
                image(""),
            ),
            (Some("text/plain"), image("")),
            (None, r#"{"schemaVersion":2}"#.into()),
        ];
        for (ct, body) in cases {
            let err = parse(ct, body.as_bytes()).unwrap_err();
            assert!(
                matches!(err, Error::ManifestInvalid(_)),
                "{ct:?} {body}: {err:?}"
            );
        }
    }
}
