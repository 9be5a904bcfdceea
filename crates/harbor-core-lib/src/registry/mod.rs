//! The registry service: every OCI distribution operation, composed from the ports.

mod blobs;
mod listing;
mod manifests;
mod pump;
mod uploads;

use std::sync::Arc;
use std::time::Duration;

pub use blobs::{BlobRead, ByteRange, Mount};
pub use listing::{Page, Referrers};
pub use manifests::PushedManifest;
pub use uploads::{ChunkRange, UploadStatus};

use crate::ports::{BlobStore, MetadataStore};

/// Tunables of the registry service.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// Largest manifest accepted, in bytes (at least 4 MiB per the spec).
    pub max_manifest_bytes: usize,
    /// An upload request that sends no data for this long is aborted.
    pub upload_idle_timeout: Duration,
    /// How long one request may hold an upload session before others may take it over;
    /// renewed while data flows.
    pub upload_lease: Duration,
    /// The most entries one tags-list or catalog page returns.
    pub max_page_size: usize,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            max_manifest_bytes: 4 * 1024 * 1024,
            upload_idle_timeout: Duration::from_secs(60),
            upload_lease: Duration::from_secs(120),
            max_page_size: 10_000,
        }
    }
}

/// The OCI registry service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Registry {
    blobs: Arc<dyn BlobStore>,
    meta: Arc<dyn MetadataStore>,
    config: RegistryConfig,
}

impl Registry {
    /// A registry over the given stores.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        meta: Arc<dyn MetadataStore>,
        config: RegistryConfig,
    ) -> Self {
        Registry {
            blobs,
            meta,
            config,
        }
    }

    /// The configuration in effect.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// The blob store.
    pub fn blob_store(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// The metadata store.
    pub fn metadata(&self) -> &Arc<dyn MetadataStore> {
        &self.meta
    }
}
