//! Manifests: HEAD, GET (bounded, digest-checked), PUT (keeping the referrers tag schema
//! up to date when the registry does not process `subject` itself) and DELETE.

use bytes::Bytes;
use harbor_core::manifest::{self, Descriptor, OCI_INDEX};
use harbor_core::{Algorithm, Digest, Hasher, Reference, RepositoryName, Tag};
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};

use super::response::read_limited;
use super::{Body, Client};
use crate::error::{Error, Result};

/// The `Accept` header of manifest requests: OCI and Docker schema 2 manifests and indexes.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";
const OCI_SUBJECT: &str = "oci-subject";

/// A manifest as stored: its exact bytes, media type and digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The bytes, exactly as served (the digest is of these).
    pub bytes: Bytes,
    /// The media type (`Content-Type`, or the body's `mediaType`).
    pub media_type: String,
    /// The digest of `bytes`.
    pub digest: Digest,
}

/// The referrers tag schema's tag for `subject`: `<alg>-<hex>` (hex cut to 64 characters).
pub fn referrers_tag(subject: &Digest) -> Result<Tag> {
    let hex = subject.hex();
    let hex = &hex[..hex.len().min(64)];
    Ok(Tag::parse(&format!("{}-{hex}", subject.algorithm()))?)
}

fn header_digest(headers: &HeaderMap) -> Option<Result<Digest>> {
    let v = headers.get(DOCKER_CONTENT_DIGEST)?;
    Some(
        v.to_str()
            .ok()
            .and_then(|s| Digest::parse(s.trim()).ok())
            .ok_or_else(|| Error::protocol("malformed Docker-Content-Digest header")),
    )
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| manifest::essence(v).to_owned())
        .filter(|v| !v.is_empty() && v != "application/json" && v != "application/octet-stream")
}

/// The digest of `bytes` with `algorithm`.
fn digest_of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(bytes);
    h.finalize()
}

impl Client {
    /// `HEAD` a manifest: its descriptor, or `None` if the registry does not have it.
    pub async fn head_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<Descriptor>> {
        let url = self.repo_url(repo, &format!("manifests/{reference}"))?;
        let what = format!("HEAD manifest {repo}:{reference}");
        let req = self
            .req(Method::HEAD, url, Self::pull_scope(repo), what.clone())
            .header(ACCEPT, MANIFEST_ACCEPT);
        let resp = self.send(req).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.error(resp, &what).await);
        }
        let headers = resp.headers();
        let digest = match (header_digest(headers), reference) {
            (Some(d), _) => d?,
            (None, Reference::Digest(d)) => d.clone(),
            // Without the header only the body tells the digest.
            (None, Reference::Tag(_)) => {
                let m = self.get_manifest(repo, reference).await?;
                return Ok(Some(Descriptor {
                    size: m.bytes.len() as u64,
                    media_type: m.media_type,
                    digest: m.digest,
                }));
            }
        };
        if let Reference::Digest(want) = reference
            && *want != digest
        {
            return Err(Error::DigestMismatch {
                expected: want.clone(),
                actual: digest,
            });
        }
        Ok(Some(Descriptor {
            media_type: content_type(headers).unwrap_or_default(),
            digest,
            size: super::response::content_length(&resp).unwrap_or(0),
        }))
    }

    /// `GET` a manifest (at most `max_manifest_size` bytes). Its digest is computed from the
    /// bytes and must equal the digest asked for and the `Docker-Content-Digest` header.
    pub async fn get_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Manifest> {
        let url = self.repo_url(repo, &format!("manifests/{reference}"))?;
        let what = format!("manifest {repo}:{reference}");
        let req = self
            .req(Method::GET, url, Self::pull_scope(repo), what.clone())
            .header(ACCEPT, MANIFEST_ACCEPT);
        let resp = self.send(req).await?;
        if !resp.status().is_success() {
            return Err(self.error(resp, &what).await);
        }
        let announced = header_digest(resp.headers()).transpose()?;
        let declared_type = content_type(resp.headers());
        let bytes = read_limited(resp, self.options().max_manifest_size, &what).await?;
        let algorithm = match (reference, &announced) {
            (Reference::Digest(d), _) => d.algorithm(),
            (_, Some(d)) => d.algorithm(),
            _ => Algorithm::Sha256,
        };
        let digest = digest_of(algorithm, &bytes);
        for expected in [reference_digest(reference), announced.as_ref()]
            .into_iter()
            .flatten()
        {
            if *expected != digest && expected.algorithm() == algorithm {
                return Err(Error::DigestMismatch {
                    expected: expected.clone(),
                    actual: digest,
                });
            }
        }
        let media_type = match declared_type {
            Some(t) => t,
            None => manifest::parse(None, &bytes)
                .map(|p| p.media_type)
                .map_err(|e| Error::UnsupportedManifest(format!("{what}: {e}")))?,
        };
        Ok(Manifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// `PUT` a manifest under a tag or its digest; returns its digest. When it has a
    /// `subject` and the registry does not confirm processing it (`OCI-Subject`), the
    /// subject's referrers tag schema index is updated, as the distribution spec asks of
    /// clients.
    pub async fn put_manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
        bytes: Bytes,
        media_type: &str,
    ) -> Result<Digest> {
        let algorithm = reference_digest(reference).map_or(Algorithm::Sha256, |d| d.algorithm());
        let digest = digest_of(algorithm, &bytes);
        if let Some(want) = reference_digest(reference)
            && *want != digest
        {
            return Err(Error::DigestMismatch {
                expected: want.clone(),
                actual: digest,
            });
        }
        if bytes.len() as u64 > self.options().max_manifest_size {
            return Err(Error::ManifestTooLarge {
                limit: self.options().max_manifest_size,
            });
        }
        let parsed = manifest::parse(Some(media_type), &bytes)
            .map_err(|e| Error::UnsupportedManifest(e.to_string()))?;
        let url = self.repo_url(repo, &format!("manifests/{reference}"))?;
        let what = format!("PUT manifest {repo}:{reference}");
        let mut req = self
            .req(Method::PUT, url, Self::push_scope(repo), what.clone())
            .header(CONTENT_TYPE, media_type)
            .header(CONTENT_LENGTH, &bytes.len().to_string());
        req.body = Body::Bytes(bytes.clone());
        let resp = self.send(req).await?;
        if !resp.status().is_success() {
            return Err(self.error(resp, &what).await);
        }
        if let Some(Ok(d)) = header_digest(resp.headers())
            && d.algorithm() == digest.algorithm()
            && d != digest
        {
            return Err(Error::protocol(format!(
                "{what}: the registry stored digest {d}, the bytes hash to {digest}"
            )));
        }
        if let Some(subject) = &parsed.subject
            && !resp.headers().contains_key(OCI_SUBJECT)
        {
            let entry = referrer_entry(&parsed, media_type, &digest, bytes.len() as u64);
            self.add_to_referrers_tag(repo, &subject.digest, entry)
                .await?;
        }
        Ok(digest)
    }

    /// `DELETE` a manifest by digest (all its tags go with it).
    pub async fn delete_manifest(&self, repo: &RepositoryName, digest: &Digest) -> Result<()> {
        let url = self.repo_url(repo, &format!("manifests/{digest}"))?;
        let what = format!("DELETE manifest {repo}@{digest}");
        let resp = self
            .send(self.req(Method::DELETE, url, Self::push_scope(repo), what.clone()))
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.error(resp, &what).await)
        }
    }

    /// Adds `entry` to the index tagged with `subject`'s referrers tag (created if absent).
    async fn add_to_referrers_tag(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        entry: serde_json::Value,
    ) -> Result<()> {
        let tag = Reference::Tag(referrers_tag(subject)?);
        let mut index = match self.get_manifest(repo, &tag).await {
            Ok(m) => serde_json::from_slice::<serde_json::Value>(&m.bytes)
                .ok()
                .filter(|v| v.get("manifests").is_some_and(|m| m.is_array()))
                .unwrap_or_else(empty_index),
            Err(Error::NotFound(_)) => empty_index(),
            Err(e) => return Err(e),
        };
        let Some(list) = index.get_mut("manifests").and_then(|m| m.as_array_mut()) else {
            return Err(Error::protocol("referrers index without manifests"));
        };
        if list.iter().any(|d| d.get("digest") == entry.get("digest")) {
            return Ok(());
        }
        list.push(entry);
        let bytes = serde_json::to_vec(&index)
            .map_err(|e| Error::protocol(format!("referrers index: {e}")))?;
        Box::pin(self.put_manifest(repo, &tag, Bytes::from(bytes), OCI_INDEX)).await?;
        Ok(())
    }
}

fn reference_digest(r: &Reference) -> Option<&Digest> {
    match r {
        Reference::Digest(d) => Some(d),
        Reference::Tag(_) => None,
    }
}

fn empty_index() -> serde_json::Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [],
    })
}

/// The descriptor of a referrer in a referrers index.
fn referrer_entry(
    parsed: &manifest::ParsedManifest,
    media_type: &str,
    digest: &Digest,
    size: u64,
) -> serde_json::Value {
    let mut d = serde_json::json!({
        "mediaType": media_type,
        "digest": digest.as_str(),
        "size": size,
    });
    if let Some(t) = &parsed.artifact_type {
        d["artifactType"] = serde_json::Value::String(t.clone());
    }
    if !parsed.annotations.is_empty() {
        d["annotations"] = serde_json::json!(parsed.annotations);
    }
    d
}
