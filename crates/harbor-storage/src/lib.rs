//! Storage adapters for the Harbor-rs ports.
//!
//! - [`ObjectBlobStore`]: the [`harbor_core::ports::BlobStore`] over `object_store`
//!   (local filesystem by default, memory for tests).
//! - [`SqlMetadataStore`]: the [`harbor_core::ports::MetadataStore`] over `sqlx`
//!   (SQLite embedded by default, PostgreSQL for scale-out; migrations run at start-up).
//!
//! SQL lives only in this crate.

#![warn(missing_docs)]

pub mod blob;
mod error;
pub mod private_fs;
pub mod sql;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use blob::ObjectBlobStore;
pub use error::StorageError;
pub use sql::SqlMetadataStore;
