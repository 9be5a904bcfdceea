//! The registry service: every OCI distribution operation, composed from the ports.

mod artifacts;
mod blobs;
mod gc;
mod housekeeping;
mod immutable;
mod labels;
mod listing;
mod manifests;
mod pulls;
mod pump;
mod quotas;
mod repositories;
mod retention;
mod uploads;

use std::sync::Arc;
use std::time::Duration;

pub use artifacts::{Artifact, ArtifactDeletion, ArtifactOptions, MAX_CONFIG_BYTES};
pub use blobs::{BlobRead, ByteRange, Mount};
pub use gc::{GcObserver, QuietGc};
pub use listing::{Page, Referrers};
pub use manifests::PushedManifest;
pub use retention::RetentionOutcome;
pub use uploads::{ChunkRange, UploadStatus};

use crate::events::{DomainEvent, EventSignal, NewEvent};
use crate::ports::{BlobStore, MetadataStore};

/// Tunables of the registry service.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// Largest manifest accepted, in bytes (at least 4 MiB per the spec).
    pub max_manifest_bytes: usize,
    /// An upload request that sends no data for this long is aborted.
    pub upload_idle_timeout: Duration,
    /// How long one request may hold an upload session before others may take it over;
    /// renewed every third of it while the request lives, so a crashed process blocks an
    /// upload for at most this long.
    pub upload_lease: Duration,
    /// Who this process is in lease tokens (`<owner>.<random>`): a process that knows it
    /// took over an owner (a restart on the same data directory) releases that owner's
    /// leases at once with [`Registry::release_leases`]. Letters and digits only.
    pub lease_owner: String,
    /// The most entries one tags-list or catalog page returns.
    pub max_page_size: usize,
    /// How long pull counts gather in memory before they are written in one batch.
    pub pull_flush_interval: Duration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            max_manifest_bytes: 4 * 1024 * 1024,
            upload_idle_timeout: Duration::from_secs(60),
            upload_lease: Duration::from_secs(30),
            lease_owner: uuid::Uuid::new_v4().simple().to_string(),
            max_page_size: 10_000,
            pull_flush_interval: Duration::from_secs(1),
        }
    }
}

/// The OCI registry service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Registry {
    blobs: Arc<dyn BlobStore>,
    meta: Arc<dyn MetadataStore>,
    config: RegistryConfig,
    pulls: pulls::PullCounter,
    signal: EventSignal,
}

impl Registry {
    /// A registry over the given stores.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        meta: Arc<dyn MetadataStore>,
        config: RegistryConfig,
    ) -> Self {
        let signal = EventSignal::default();
        let pulls =
            pulls::PullCounter::new(meta.clone(), config.pull_flush_interval, signal.clone());
        Registry {
            blobs,
            meta,
            config,
            pulls,
            signal,
        }
    }

    /// Fires whenever this registry has committed domain events: hand it to the
    /// [`Dispatcher`](crate::events::Dispatcher) so subscribers wake at once.
    /// Records `event` by `by` in a transaction of its own: for what is not a change of
    /// its own (a push refused by the quota) or was committed by a store method that
    /// takes no events (a quota repair). A failure is logged; the change stands.
    pub async fn record_event(&self, by: &str, event: DomainEvent) {
        match self.meta.append_events(&[NewEvent::now(by, event)]).await {
            Ok(()) => self.signal.written(),
            Err(e) => tracing::warn!(error = %e, "cannot record an event"),
        }
    }

    /// The signal the dispatcher waits on.
    pub fn event_signal(&self) -> &EventSignal {
        &self.signal
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
