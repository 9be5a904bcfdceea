//! Scanning one image from a registry: the manifest, then each layer's inventory (cached by
//! layer digest, so a base layer shared by many images is read once), merged, matched.

use std::sync::Arc;

use futures::TryStreamExt;
use harbor_core::manifest::{self, ManifestKind};
use harbor_core::ports::MetadataStore;
use harbor_core::{Digest, Error, Reference, RepositoryName, Result};
use harbor_scanner::codec;
use harbor_scanner::inventory::{self, ImageInventory, LayerInventory, Limits};
use harbor_scanner::osv::{self, Finding};
use serde::{Deserialize, Serialize};

use super::vulndb::VulnDb;

/// Changes whenever the inventory parsers change what they find, so cached layer
/// inventories of an older scanner are recomputed.
pub const INVENTORY_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+inventory.1");

/// Image configuration types the scanner reads; other artifacts (charts, signatures) are
/// not images.
const IMAGE_CONFIGS: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// What one scan found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanOutcome {
    /// When the scan finished (ms).
    pub generated_ms: i64,
    /// The image's packages.
    pub inventory: ImageInventory,
    /// Its vulnerabilities.
    pub findings: Vec<Finding>,
    /// The database's version (newest record time), empty without a database.
    pub db_version: String,
    /// Layers read from the registry (not from the inventory cache).
    pub layers_read: usize,
    /// Layers in the image.
    pub layers: usize,
}

/// Scans images.
#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn MetadataStore>,
    db: VulnDb,
    limits: Limits,
}

impl Engine {
    /// An engine caching inventories in `store` and matching against `db`.
    pub fn new(store: Arc<dyn MetadataStore>, db: VulnDb) -> Self {
        Self {
            store,
            db,
            limits: Limits::default(),
        }
    }

    /// Scans `repo@digest` through `client`: an image manifest (an index's platforms are
    /// scanned one by one, as Harbor does). Errors name what failed.
    pub async fn scan(
        &self,
        client: &harbor_remote::Client,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<ScanOutcome> {
        let pulled = client
            .get_manifest(repo, &Reference::Digest(digest.clone()))
            .await
            .map_err(|e| {
                Error::Invalid(format!("cannot pull the manifest of {repo}@{digest}: {e}"))
            })?;
        let parsed = manifest::parse(Some(&pulled.media_type), &pulled.bytes)?;
        if parsed.kind == ManifestKind::Index {
            return Err(Error::Unsupported(format!(
                "{repo}@{digest} is an index: scan each of its {} manifests",
                parsed.manifests.len()
            )));
        }
        let Some((config, layers)) = parsed.blobs.split_first() else {
            return Err(Error::Unsupported(format!("{repo}@{digest} has no config")));
        };
        if !IMAGE_CONFIGS.contains(&manifest::essence(&config.descriptor.media_type)) {
            return Err(Error::Unsupported(format!(
                "{repo}@{digest} is not an image (config type {}): nothing to scan",
                config.descriptor.media_type
            )));
        }
        let digests: Vec<Digest> = layers
            .iter()
            .filter(|l| l.distributable)
            .map(|l| l.descriptor.digest.clone())
            .collect();
        self.scan_layers(&digests, |layer| async move {
            let blob = client
                .get_blob(repo, &layer)
                .await
                .map_err(|e| Error::Invalid(format!("cannot pull layer {layer}: {e}")))?;
            Ok(tokio_util::io::StreamReader::new(
                blob.stream.map_err(std::io::Error::other),
            ))
        })
        .await
    }

    /// Scans an image given its layer digests, lowest first: each layer's inventory comes
    /// from the cache, or from `fetch` (the blob's bytes, whose digest the reader must
    /// verify by failing at the end when they do not match), then is cached.
    pub async fn scan_layers<F, Fut, R>(&self, layers: &[Digest], fetch: F) -> Result<ScanOutcome>
    where
        F: Fn(Digest) -> Fut,
        Fut: std::future::Future<Output = Result<R>>,
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
    {
        let mut scanned = Vec::with_capacity(layers.len());
        let mut read = 0;
        for layer_digest in layers {
            let cached = self
                .store
                .layer_inventory(layer_digest, INVENTORY_VERSION)
                .await?;
            if let Some(inventory) =
                cached.and_then(|bytes| codec::decode::<LayerInventory>(&bytes).ok())
            {
                scanned.push(inventory);
                continue;
            }
            let reader = fetch(layer_digest.clone()).await?;
            let inventory = self.read_layer(reader, layer_digest).await?;
            read += 1;
            self.store
                .put_layer_inventory(layer_digest, INVENTORY_VERSION, &codec::encode(&inventory))
                .await?;
            scanned.push(inventory);
        }
        let inventory = inventory::merge(&scanned);
        let advisories = self.db.lookup(osv::lookup_keys(&inventory)).await?;
        let findings = osv::find(&inventory, &advisories);
        let db_version = self.db.info().await?.map(|i| i.newest).unwrap_or_default();
        Ok(ScanOutcome {
            generated_ms: harbor_core::model::now_ms(),
            inventory,
            findings,
            db_version,
            layers_read: read,
            layers: layers.len(),
        })
    }

    /// Streams one layer into the inventory reader on a blocking thread. The whole blob is
    /// read, so a verifying reader fails before the inventory is trusted and cached.
    async fn read_layer<R>(&self, reader: R, digest: &Digest) -> Result<LayerInventory>
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
    {
        let mut bridge = tokio_util::io::SyncIoBridge::new(reader);
        let (name, limits) = (digest.to_string(), self.limits.clone());
        tokio::task::spawn_blocking(move || {
            let inventory = inventory::scan_layer(&name, &mut bridge, &limits)?;
            std::io::copy(&mut bridge, &mut std::io::sink())?;
            Ok::<_, harbor_scanner::ScanError>(inventory)
        })
        .await
        .map_err(Error::internal)?
        .map_err(|e| Error::Invalid(e.to_string()))
    }
}
