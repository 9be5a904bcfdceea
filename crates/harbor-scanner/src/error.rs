//! The scanner's errors.

/// Why an inventory, an import or a match failed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A layer is not a readable (optionally gzip or zstd compressed) tar archive.
    #[error("layer {layer}: {reason}")]
    CorruptLayer { layer: String, reason: String },
    /// A limit protecting the scanner was exceeded (entries, bytes, file size).
    #[error("layer {layer}: {what} exceeds the limit of {limit}")]
    LimitExceeded {
        layer: String,
        what: &'static str,
        limit: u64,
    },
    /// A package database or metadata file could not be parsed.
    #[error("{path}: {reason}")]
    BadPackageDb { path: String, reason: String },
    /// An OSV record or archive could not be read.
    #[error("OSV data {source_name}: {reason}")]
    BadAdvisory { source_name: String, reason: String },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl ScanError {
    /// A parse failure of the package database at `path`.
    pub fn bad_db(path: &str, reason: impl std::fmt::Display) -> Self {
        Self::BadPackageDb {
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }
}
