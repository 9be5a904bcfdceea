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
}

impl From<StorageError> for harbor_core::Error {
    fn from(e: StorageError) -> Self {
        harbor_core::Error::internal(e)
    }
}

/// Shorthand for converting adapter errors into core errors.
pub(crate) fn internal(e: impl Into<StorageError>) -> harbor_core::Error {
    harbor_core::Error::from(e.into())
}
