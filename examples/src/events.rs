//! The registry as a library, without HTTP: push, tag and delete through
//! [`harbor_core::Registry`] and receive the domain events those changes wrote, through a
//! subscriber of your own.
//!
//! A subscriber gets every event at least once, in commit order, from a durable outbox: a
//! crash between a push and its delivery only delays the event (docs/architecture.md,
//! "Domain events"). Use the event id to make handling idempotent.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use harbor_core::events::{
    Batch, Delivered, Dispatcher, DispatcherConfig, StartAt, StoredEvent, Subscriber,
};
use harbor_core::{Digest, Registry, RegistryConfig, RepositoryName};
use harbor_storage::sql::PoolConfig;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore};
use tokio::sync::mpsc;

/// Forwards each event to a channel (a webhook sender or a build trigger would act here),
/// as the subscriber `.0`.
pub(crate) struct Forward(pub &'static str, pub mpsc::UnboundedSender<StoredEvent>);

#[async_trait]
impl Subscriber for Forward {
    fn name(&self) -> &str {
        self.0
    }

    fn start_at(&self) -> StartAt {
        // Everything still in the outbox; `Latest` would skip what happened before.
        StartAt::Beginning
    }

    async fn deliver(&self, batch: &Batch<'_>) -> harbor_core::Result<Delivered> {
        for e in batch.events {
            // A closed channel means nobody listens any more: not worth a retry.
            let _ = self.1.send(e.clone());
        }
        Ok(Delivered::Handled)
    }
}

/// Opens a registry on SQLite and files under `dir`, subscribes, pushes an image as
/// `alice`, tags it as `bob`, deletes the tag and the image as `carol`, and returns the
/// events received (within `wait`).
pub async fn push_and_watch(
    dir: &Path,
    wait: Duration,
) -> Result<Vec<StoredEvent>, Box<dyn std::error::Error>> {
    let meta = Arc::new(
        SqlMetadataStore::open_sqlite(&dir.join("registry.db"), &PoolConfig::default()).await?,
    );
    let blobs = Arc::new(ObjectBlobStore::filesystem(dir.join("blobs"), true)?);
    let registry = Registry::new(blobs, meta.clone(), RegistryConfig::default());

    let (tx, mut rx) = mpsc::unbounded_channel();
    let dispatcher = Dispatcher::new(
        meta,
        registry.event_signal().clone(),
        DispatcherConfig::default(),
    );
    dispatcher.start(Arc::new(Forward("example-forwarder", tx)));

    let repo = RepositoryName::parse("demo/app")?;
    let config = Bytes::from_static(br#"{"architecture":"amd64","os":"linux"}"#);
    let digest = Digest::sha256(&config);
    let body = futures::stream::once({
        let config = config.clone();
        async move { Ok(config) }
    });
    registry
        .upload_blob(&repo, &digest, Some(config.len() as u64), Box::pin(body))
        .await?;
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{digest}","size":{}}},"layers":[]}}"#,
        config.len()
    );
    let pushed = registry
        .put_manifest(
            "alice",
            &repo,
            "v1",
            Some("application/vnd.oci.image.manifest.v1+json"),
            Bytes::from(manifest),
            &[],
        )
        .await?;
    registry
        .create_artifact_tag("bob", &repo, pushed.digest.as_str(), "stable")
        .await?;
    registry.delete_manifest("carol", &repo, "stable").await?;
    registry
        .delete_manifest("carol", &repo, pushed.digest.as_str())
        .await?;

    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while events.len() < 4 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) => events.push(e),
            _ => break,
        }
    }
    dispatcher.shutdown(Duration::from_secs(1)).await;
    Ok(events)
}
