//! The client's errors: each says *why* an operation failed, in words an operator can act on.

use harbor_core::Digest;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a remote registry operation failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// A caller-supplied value (URL, repository name, reference, option) is invalid.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The address policy refused to connect to a host.
    #[error("connection to {host} refused by the address policy: {reason}")]
    AddressRefused {
        /// The host name or address as written in the URL.
        host: String,
        /// Why, and which setting would allow it.
        reason: String,
    },
    /// Credentials are missing or wrong (the registry or its token service said so).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The credentials were accepted but do not allow this operation.
    #[error("denied: {0}")]
    Denied(String),
    /// The destination's storage quota refuses the content.
    #[error("quota exceeded at the destination: {0}")]
    QuotaExceeded(String),
    /// The repository, manifest or blob does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The registry kept answering 429 Too Many Requests.
    #[error("rate limited by the registry: {0}")]
    TooManyRequests(String),
    /// Any other error status from the registry.
    #[error("registry answered {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Registry {
        /// HTTP status.
        status: u16,
        /// The first OCI error code of the body, if any.
        code: Option<String>,
        /// The error message of the body, or the status' reason.
        message: String,
    },
    /// The connection failed or broke.
    #[error("network error: {0}")]
    Network(String),
    /// No answer (or no data on a stream) within the configured time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Content did not hash to the digest it was requested or announced by.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest asked for.
        expected: Digest,
        /// The digest of the bytes received.
        actual: Digest,
    },
    /// A body was shorter or longer than announced.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The blob.
        digest: Digest,
        /// Announced size.
        expected: u64,
        /// Bytes received (so far, when longer).
        actual: u64,
    },
    /// A manifest larger than the client accepts.
    #[error("manifest larger than {limit} bytes")]
    ManifestTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A manifest of a type that cannot be copied (such as Docker schema 1).
    #[error("unsupported manifest: {0}")]
    UnsupportedManifest(String),
    /// The registry broke the distribution protocol (missing header, malformed JSON).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The operation was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Whether repeating the same request later may succeed (rate limits, 502/503/504,
    /// connection failures, timeouts, bodies cut short).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::TooManyRequests(_) | Error::Network(_) | Error::Timeout(_) => true,
            Error::Registry { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            Error::SizeMismatch {
                expected, actual, ..
            } => actual < expected,
            _ => false,
        }
    }

    pub(crate) fn protocol(msg: impl Into<String>) -> Self {
        Error::Protocol(msg.into())
    }
}

impl From<harbor_core::Error> for Error {
    fn from(e: harbor_core::Error) -> Self {
        Error::InvalidInput(e.to_string())
    }
}

/// Finds an [`Error`] this crate placed inside a reqwest error (from the resolver, the
/// redirect policy or a request body stream), searching the source chain.
pub(crate) fn find_inner<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(found) = err.downcast_ref::<Error>() {
            return Some(found);
        }
        cur = err.source();
    }
    None
}

/// Maps a reqwest error to ours, keeping an error of ours found inside it.
pub(crate) fn from_reqwest(e: reqwest::Error, what: &str) -> Error {
    if let Some(inner) = find_inner(&e) {
        return inner.clone();
    }
    if e.is_timeout() {
        return Error::Timeout(format!("{what}: {}", chain(&e)));
    }
    Error::Network(format!("{what}: {}", chain(&e)))
}

/// The error and its sources as one line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}
