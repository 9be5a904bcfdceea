//! SBOMs stored as Harbor stores its own: an OCI image manifest whose config media type
//! is `application/vnd.goharbor.harbor.sbom.v1`, with one layer holding the SPDX JSON and
//! the scanned artifact as its `subject`, pushed by digest into the artifact's repository
//! (an accessory of type `harbor.sbom`). A new SBOM replaces the older ones.

use bytes::Bytes;
use harbor_core::artifact::HARBOR_SBOM;
use harbor_core::manifest::OCI_MANIFEST;
use harbor_core::{Digest, Error, Registry, RepositoryName, Result};
use serde_json::json;

/// The layer media type Harbor gives the SBOM (the JSON, not a tar).
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// The scanned artifact an SBOM describes.
pub(crate) struct Subject<'a> {
    /// Its repository.
    pub repo: &'a RepositoryName,
    /// Its digest.
    pub digest: &'a str,
    /// Its manifest media type.
    pub media_type: &'a str,
    /// Its manifest size.
    pub size: u64,
}

/// Pushes `spdx` (created at `created`, RFC 3339) as the SBOM accessory of `subject`,
/// as `by`; deletes the subject's older SBOM accessories. Returns the accessory's digest.
pub(crate) async fn store(
    registry: &Registry,
    by: &str,
    subject: &Subject<'_>,
    spdx: Bytes,
    created: &str,
) -> Result<Digest> {
    let layer = Digest::sha256(&spdx);
    let layer_size = spdx.len() as u64;
    upload(registry, subject.repo, &layer, spdx).await?;
    // The config go-containerregistry writes for one static layer (what Harbor pushes).
    let config = serde_json::to_vec(&json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z", "author": "harbor", "created_by": "harbor"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer.as_str()]},
        "config": {},
    }))
    .map_err(Error::internal)?;
    let config_digest = Digest::sha256(&config);
    let config_size = config.len() as u64;
    upload(registry, subject.repo, &config_digest, Bytes::from(config)).await?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": HARBOR_SBOM, "digest": config_digest.as_str(), "size": config_size},
        "layers": [{"mediaType": LAYER, "digest": layer.as_str(), "size": layer_size}],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
        "annotations": {
            "created": created,
            "created-by": "Harbor",
            "org.opencontainers.artifact.created": created,
            "org.opencontainers.artifact.description": "SPDX JSON SBOM",
        },
    }))
    .map_err(Error::internal)?;
    let digest = Digest::sha256(&manifest);
    let older: Vec<Digest> = registry
        .artifact_accessories(subject.repo, subject.digest)
        .await?
        .into_iter()
        .filter(|a| a.kind == "harbor.sbom" && a.digest != digest)
        .map(|a| a.digest)
        .collect();
    registry
        .put_manifest(
            by,
            subject.repo,
            digest.as_str(),
            Some(OCI_MANIFEST),
            Bytes::from(manifest),
            &[],
        )
        .await?;
    for old in older {
        match registry
            .delete_artifact(by, subject.repo, old.as_str())
            .await
        {
            Ok(_) | Err(Error::NotFound(_) | Error::ManifestUnknown(_)) => {}
            Err(e) => {
                tracing::warn!(repository = %subject.repo, digest = %old, error = %e, "could not delete a replaced SBOM")
            }
        }
    }
    Ok(digest)
}

async fn upload(
    registry: &Registry,
    repo: &RepositoryName,
    digest: &Digest,
    bytes: Bytes,
) -> Result<()> {
    let len = bytes.len() as u64;
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    registry
        .upload_blob(repo, digest, Some(len), Box::pin(body))
        .await?;
    Ok(())
}
