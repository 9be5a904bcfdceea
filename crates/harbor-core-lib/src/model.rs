//! Records the registry keeps about blobs, uploads and manifests.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Serialize;

use crate::digest::Digest;
use crate::error::Error;
use crate::names::RepositoryName;

/// Milliseconds since the Unix epoch, the timestamp unit of every record.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The identifier of a blob upload session: 1 to 64 characters of `[A-Za-z0-9_-]`,
/// so it is always safe inside a URL and a storage path.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UploadId(String);

impl UploadId {
    /// A new random id.
    pub fn generate() -> Self {
        UploadId(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Validates an id taken from a URL.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(UploadId(s.to_owned()))
        } else {
            Err(Error::BlobUploadUnknown)
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A blob upload in progress, as persisted in the metadata store.
#[derive(Clone, Debug)]
pub struct UploadSession {
    /// The session id.
    pub id: UploadId,
    /// The repository the blob is being pushed to.
    pub repository: RepositoryName,
    /// Bytes received so far.
    pub offset: u64,
    /// Saved hasher state covering the first `offset` bytes ([`crate::digest::Hasher::save`]).
    pub hash_state: Vec<u8>,
    /// Opaque state of the blob store's staging area (e.g. multipart part ids).
    pub store_state: String,
    /// Creation time (ms since epoch).
    pub created_at: i64,
    /// Last update time (ms since epoch).
    pub updated_at: i64,
}

/// A short exclusive claim on an upload session by one request.
#[derive(Clone, Debug)]
pub struct Lease {
    /// Random token identifying the holder.
    pub token: String,
    /// Claim time (ms since epoch).
    pub now: i64,
    /// Expiry (ms since epoch); an expired lease may be taken over.
    pub until: i64,
}

/// Outcome of trying to claim an upload session.
#[derive(Debug)]
pub enum Claim {
    /// The session is ours until the lease expires.
    Claimed(UploadSession),
    /// No such session in this repository.
    Unknown,
    /// Another request holds an unexpired lease.
    Busy,
    /// The session's offset differs from the one expected.
    OffsetMismatch(u64),
}

/// Where a blob's row stands with garbage collection (docs/gc.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobState {
    /// No row: the digest was never stored.
    Absent,
    /// Stored and usable.
    Live,
    /// Garbage collection marked it and is removing its bytes.
    Deleting,
    /// Its bytes were removed; a push may store them again.
    Deleted,
}

/// A blob row's state and version; the version moves on each time garbage collection
/// marks or finishes the blob, so "still the version I saw" means "GC did not touch it".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobVersion {
    /// The state.
    pub state: BlobState,
    /// The version (0 when absent).
    pub version: i64,
}

/// A committed blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// A manifest ready to be recorded.
#[derive(Clone, Debug)]
pub struct NewManifest {
    /// Digest of `content`.
    pub digest: Digest,
    /// Effective media type.
    pub media_type: String,
    /// `artifactType` (or the config media type for image manifests).
    pub artifact_type: Option<String>,
    /// Digest of the `subject` manifest.
    pub subject: Option<Digest>,
    /// Top-level annotations.
    pub annotations: BTreeMap<String, String>,
    /// The manifest bytes exactly as pushed.
    pub content: Bytes,
    /// Blobs that must already be linked to the repository (config and distributable layers).
    pub blobs: Vec<Digest>,
    /// Manifests that must already exist in the repository (index children).
    pub manifests: Vec<Digest>,
    /// `manifests` need not exist yet: an index cached by a proxy-cache project, whose
    /// children are cached one by one as clients pull them.
    pub children_pending: bool,
}

/// A stored manifest.
#[derive(Clone, Debug)]
pub struct StoredManifest {
    /// Its digest.
    pub digest: Digest,
    /// The media type it was pushed with.
    pub media_type: String,
    /// The bytes exactly as pushed.
    pub content: Bytes,
}

/// A manifest that names another as its `subject`, as listed by the referrers API.
#[derive(Clone, Debug, Serialize)]
pub struct Referrer {
    /// Media type of the referrer.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Digest of the referrer.
    pub digest: Digest,
    /// Size of the referrer manifest.
    pub size: u64,
    /// Its artifact type.
    #[serde(rename = "artifactType", skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Its annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A repository as the REST API shows it (Harbor's `Repository`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryRecord {
    /// Database id.
    pub id: i64,
    /// The project it belongs to (the first segment of its name).
    pub project_id: i64,
    /// Full name, `<project>/<repo>`.
    pub name: String,
    /// Free text set through the API ("" until then).
    pub description: String,
    /// Top-level artifacts: manifests that are tagged or are not a child of an index in
    /// the same repository.
    pub artifact_count: u64,
    /// Manifest pulls (`GET`) recorded so far (recorded in batches, so slightly behind).
    pub pull_count: u64,
    /// Creation time (ms since epoch).
    pub created_ms: i64,
    /// Last push of a manifest or tag, or last recorded pull (ms since epoch).
    pub updated_ms: i64,
}

/// Which projects' repositories a listing may show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RepositoryVisibility {
    /// Every project (system administrators).
    #[default]
    All,
    /// Public projects only (anonymous callers and robots).
    Public,
    /// Public projects and the projects this user is a member of.
    PublicOrMember(i64),
}

/// What a repository listing can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepositorySortKey {
    /// The database id.
    Id,
    /// The full name.
    Name,
    /// Creation time.
    CreationTime,
    /// Update time.
    UpdateTime,
    /// Pull count.
    PullCount,
}

/// Filters and order of the repository listing.
#[derive(Clone, Debug, Default)]
pub struct RepositoryQuery {
    /// Which projects are visible.
    pub visibility: RepositoryVisibility,
    /// Only repositories of this project.
    pub project_id: Option<i64>,
    /// Filter on the full name.
    pub name: Option<crate::identity::Match>,
    /// Only repositories created at or after this time (ms).
    pub created_from_ms: Option<i64>,
    /// Only repositories created at or before this time (ms).
    pub created_to_ms: Option<i64>,
    /// Only repositories updated at or after this time (ms).
    pub updated_from_ms: Option<i64>,
    /// Only repositories updated at or before this time (ms).
    pub updated_to_ms: Option<i64>,
    /// Sort keys, `true` = descending; empty = Harbor's default (newest first).
    pub sort: Vec<(RepositorySortKey, bool)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_are_path_safe() {
        assert!(UploadId::parse(UploadId::generate().as_str()).is_ok());
        assert!(UploadId::parse("0b6f5e8a-1c2d-4e5f-8a9b-0c1d2e3f4a5b").is_ok());
        for bad in ["", "../x", "a/b", "a.b", "x%2f", &"a".repeat(65)] {
            assert!(
                matches!(UploadId::parse(bad), Err(Error::BlobUploadUnknown)),
                "{bad}"
            );
        }
    }
}
