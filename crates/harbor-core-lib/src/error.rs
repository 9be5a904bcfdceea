//! The registry's errors, each knowing its OCI error code.

use crate::digest::Digest;

/// A boxed error from a storage adapter or other back end.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias for the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Error codes of the OCI distribution spec (and Docker's registry API) that the
/// registry answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OciCode {
    /// `BLOB_UNKNOWN`
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID`
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_UNKNOWN`
    BlobUploadUnknown,
    /// `DIGEST_INVALID`
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID`
    ManifestInvalid,
    /// `MANIFEST_UNKNOWN`
    ManifestUnknown,
    /// `NAME_INVALID`
    NameInvalid,
    /// `NAME_UNKNOWN`
    NameUnknown,
    /// `SIZE_INVALID`
    SizeInvalid,
    /// `TAG_INVALID` (Docker registry API)
    TagInvalid,
    /// `RANGE_INVALID` (Docker registry API)
    RangeInvalid,
    /// `PAGINATION_NUMBER_INVALID` (Docker registry API)
    PaginationInvalid,
    /// `UNSUPPORTED`
    Unsupported,
    /// `UNAUTHORIZED`: authentication required.
    Unauthorized,
    /// `DENIED`: authenticated, but not allowed.
    Denied,
    /// `PRECONDITION` (Harbor): refused by a rule, such as tag immutability.
    Precondition,
    /// `PROJECTPOLICYVIOLATION` (Harbor): a pull refused by a project policy, such as
    /// "prevent vulnerable images from running" (HTTP 412).
    ProjectPolicyViolation,
    /// `TOOMANYREQUESTS`: the client must slow down (HTTP 429).
    TooManyRequests,
    /// `UNAVAILABLE`: the server is at one of its bounds for a moment (HTTP 503).
    Unavailable,
    /// `STORAGE_FULL`: the disk or database holding the registry is full (HTTP 507).
    StorageFull,
    /// `UNKNOWN`: an internal error, details withheld from the client.
    Unknown,
}

impl OciCode {
    /// The wire form of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            OciCode::BlobUnknown => "BLOB_UNKNOWN",
            OciCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            OciCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            OciCode::DigestInvalid => "DIGEST_INVALID",
            OciCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            OciCode::ManifestInvalid => "MANIFEST_INVALID",
            OciCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            OciCode::NameInvalid => "NAME_INVALID",
            OciCode::NameUnknown => "NAME_UNKNOWN",
            OciCode::SizeInvalid => "SIZE_INVALID",
            OciCode::TagInvalid => "TAG_INVALID",
            OciCode::RangeInvalid => "RANGE_INVALID",
            OciCode::PaginationInvalid => "PAGINATION_NUMBER_INVALID",
            OciCode::Unsupported => "UNSUPPORTED",
            OciCode::Unauthorized => "UNAUTHORIZED",
            OciCode::Denied => "DENIED",
            OciCode::Precondition => "PRECONDITION",
            OciCode::ProjectPolicyViolation => "PROJECTPOLICYVIOLATION",
            OciCode::TooManyRequests => "TOOMANYREQUESTS",
            OciCode::Unavailable => "UNAVAILABLE",
            OciCode::StorageFull => "STORAGE_FULL",
            OciCode::Unknown => "UNKNOWN",
        }
    }
}

/// Everything that can go wrong in a registry operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The blob is not known in this repository.
    #[error("blob unknown to registry: {0}")]
    BlobUnknown(Digest),
    /// The upload session does not exist (or belongs to another repository).
    #[error("blob upload unknown to registry")]
    BlobUploadUnknown,
    /// Garbage collection took the blob while it was being uploaded or linked; the
    /// client must upload it again (docs/gc.md).
    #[error("blob {0} was garbage-collected while it was uploaded: upload it again")]
    BlobChanged(Digest),
    /// The upload request is malformed or the body could not be read.
    #[error("blob upload invalid: {0}")]
    BlobUploadInvalid(String),
    /// Another request is writing to the same upload session right now.
    #[error("blob upload is being written by another request")]
    UploadBusy,
    /// A chunk did not start where the upload ends.
    #[error(
        "chunk out of order: the upload holds {offset} bytes, so the next chunk must start at {offset}"
    )]
    ChunkOutOfOrder {
        /// Bytes the upload holds.
        offset: u64,
    },
    /// A digest string is malformed or uses an unsupported algorithm.
    #[error("invalid digest: {0}")]
    DigestInvalid(String),
    /// Content does not hash to the digest the client gave.
    #[error("provided digest {expected} does not match the content's digest {actual}")]
    DigestMismatch {
        /// What the client claimed.
        expected: Digest,
        /// What the content hashes to.
        actual: Digest,
    },
    /// A manifest references a blob or manifest the repository does not hold.
    #[error("manifest references {0}, which is unknown to this repository")]
    ManifestBlobUnknown(Digest),
    /// A manifest is malformed or of an unsupported type.
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    /// No manifest under this reference.
    #[error("manifest unknown: {0}")]
    ManifestUnknown(String),
    /// A manifest body exceeds the configured limit.
    #[error("manifest is larger than the {limit}-byte limit")]
    ManifestTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The repository name is invalid.
    #[error("invalid repository name: {0}")]
    NameInvalid(String),
    /// The repository does not exist.
    #[error("repository name not known to registry: {0}")]
    NameUnknown(String),
    /// A tag is invalid.
    #[error("{0}")]
    TagInvalid(String),
    /// A length disagrees with the content.
    #[error("size invalid: {0}")]
    SizeInvalid(String),
    /// A requested byte range lies outside the blob.
    #[error("requested range not satisfiable for a blob of {size} bytes")]
    RangeNotSatisfiable {
        /// The blob's size.
        size: u64,
    },
    /// A pagination parameter is malformed.
    #[error("invalid pagination: {0}")]
    PaginationInvalid(String),
    /// The operation is not supported.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A request field breaks a rule (a name, a password policy, a malformed value).
    #[error("{0}")]
    Invalid(String),
    /// The operation needs a signed-in caller (HTTP 401).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but not allowed to do this (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// A record (user, project, member, robot, ...) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A record with the same unique key exists already.
    #[error("{0}")]
    Conflict(String),
    /// The operation is refused by a rule on the current state, such as a tag immutability
    /// rule (HTTP 412, `PRECONDITION`).
    #[error("{0}")]
    Precondition(String),
    /// A pull is refused by a project policy, such as "prevent vulnerable images from
    /// running" (HTTP 412, `PROJECTPOLICYVIOLATION`); the message is Harbor's.
    #[error("{0}")]
    PolicyViolation(String),
    /// A storage quota would be exceeded (HTTP 403, `DENIED`); the message is Harbor's
    /// ("adding 1.0 MiB of storage resource, which when updated to ...").
    #[error("{0}")]
    QuotaExceeded(String),
    /// Too many failed sign-ins from this client or for this account: the caller must
    /// wait `retry_after_secs` (HTTP 429 with `Retry-After`).
    #[error("too many failed sign-in attempts: try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until an attempt is accepted again.
        retry_after_secs: u64,
    },
    /// The server is at one of its bounds (such as concurrent password checks) for a
    /// moment; the request may be retried shortly (HTTP 503 with `Retry-After`).
    #[error("{0}")]
    Busy(String),
    /// The disk or database holding the registry is full: nothing was changed, and writes
    /// resume once space is freed (HTTP 507).
    #[error("the registry's storage is full: {0}")]
    StorageFull(String),
    /// A back end failed; the message is logged, not shown to clients.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

impl Error {
    /// Wraps a back-end error.
    pub fn internal(e: impl Into<BoxError>) -> Self {
        Error::Internal(e.into())
    }

    /// The OCI error code for this error.
    pub fn code(&self) -> OciCode {
        match self {
            Error::BlobUnknown(_) => OciCode::BlobUnknown,
            Error::BlobUploadUnknown | Error::BlobChanged(_) => OciCode::BlobUploadUnknown,
            Error::BlobUploadInvalid(_) | Error::UploadBusy | Error::ChunkOutOfOrder { .. } => {
                OciCode::BlobUploadInvalid
            }
            Error::DigestInvalid(_) | Error::DigestMismatch { .. } => OciCode::DigestInvalid,
            Error::ManifestBlobUnknown(_) => OciCode::ManifestBlobUnknown,
            Error::ManifestInvalid(_) => OciCode::ManifestInvalid,
            Error::ManifestUnknown(_) => OciCode::ManifestUnknown,
            Error::ManifestTooLarge { .. } | Error::SizeInvalid(_) => OciCode::SizeInvalid,
            Error::NameInvalid(_) => OciCode::NameInvalid,
            Error::NameUnknown(_) => OciCode::NameUnknown,
            Error::TagInvalid(_) => OciCode::TagInvalid,
            Error::RangeNotSatisfiable { .. } => OciCode::RangeInvalid,
            Error::PaginationInvalid(_) => OciCode::PaginationInvalid,
            Error::Unsupported(_) | Error::Invalid(_) | Error::Conflict(_) => OciCode::Unsupported,
            Error::Precondition(_) => OciCode::Precondition,
            Error::PolicyViolation(_) => OciCode::ProjectPolicyViolation,
            Error::QuotaExceeded(_) | Error::Forbidden(_) => OciCode::Denied,
            Error::Unauthorized(_) => OciCode::Unauthorized,
            Error::NotFound(_) => OciCode::NameUnknown,
            Error::Throttled { .. } => OciCode::TooManyRequests,
            Error::Busy(_) => OciCode::Unavailable,
            Error::StorageFull(_) => OciCode::StorageFull,
            Error::Internal(_) => OciCode::Unknown,
        }
    }

    /// The message shown to clients: internal details are withheld.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "internal server error".to_owned(),
            other => other.to_string(),
        }
    }
}
