//! Errors of the storage adapters.

/// What can fail inside a storage adapter.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A database error.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An object store error.
    #[error("object store: {0}")]
    Object(#[from] object_store::Error),
    /// A filesystem error.
    #[error("filesystem: {0}")]
    Io(#[from] std::io::Error),
    /// Stored state is not what the adapter expects.
    #[error("inconsistent storage state: {0}")]
    Inconsistent(String),
    /// An unsupported configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// No registry database where one must already exist (a wrong path or an empty
    /// PostgreSQL database given to a maintenance command).
    #[error("{0}")]
    NoDatabase(String),
}

impl StorageError {
    /// Whether the disk or database ran out of space (SQLite's `SQLITE_FULL`,
    /// PostgreSQL's `disk_full`, `ENOSPC` or `EDQUOT` from the filesystem, also when an
    /// object store wraps them).
    pub fn is_storage_full(&self) -> bool {
        match self {
            StorageError::Sql(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("13" | "53100"))
                    || db.message().contains("database or disk is full")
            }
            StorageError::Sql(sqlx::Error::Io(e)) | StorageError::Io(e) => io_full(e),
            other => {
                let mut source = std::error::Error::source(other);
                while let Some(s) = source {
                    if let Some(e) = s.downcast_ref::<std::io::Error>()
                        && io_full(e)
                    {
                        return true;
                    }
                    source = s.source();
                }
                false
            }
        }
    }
}

fn io_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl From<StorageError> for harbor_core::Error {
    /// A full disk or database is a [`harbor_core::Error::StorageFull`] the client is told
    /// about; anything else is internal.
    fn from(e: StorageError) -> Self {
        if e.is_storage_full() {
            tracing::warn!(error = %e, "storage is full");
            return harbor_core::Error::StorageFull(
                "no space left for this change; nothing was stored. Free space or raise the \
                 limit, then retry"
                    .into(),
            );
        }
        harbor_core::Error::internal(e)
    }
}

/// Shorthand for converting adapter errors into core errors.
pub(crate) fn internal(e: impl Into<StorageError>) -> harbor_core::Error {
    harbor_core::Error::from(e.into())
}
