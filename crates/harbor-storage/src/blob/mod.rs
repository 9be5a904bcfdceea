//! The blob store adapter: committed blobs on `object_store`, with two ways to stage
//! uploads.
//!
//! - **Local filesystem** (the default): an upload is one file appended in place by a
//!   dedicated blocking thread and renamed into `blobs/` on commit, so a blob is written
//!   once and never copied. Committed blobs are read with large sequential reads.
//! - **Any object store with multipart uploads** (memory in tests; S3, GCS, Azure): bytes
//!   are buffered up to one part, written as multipart parts, and a partial last part is
//!   kept as a small `tail` object between requests so every part but the last meets the
//!   store's minimum size. The multipart id and part ids are the upload's staging state,
//!   persisted by the registry, so another process can continue the upload.

mod layout;
mod local;
mod multipart;
mod open;
mod read;

use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use harbor_core::model::UploadId;
use harbor_core::ports::{BlobStore, ByteStream, StoredObject, UploadWriter};
use harbor_core::{Digest, Error, Result};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

pub use layout::{BLOBS, Layout, UPLOADS};
pub use multipart::COPY_LIMIT;
pub use open::{AzureOptions, GcsOptions, S3Options, Secret, StorageOptions};

use crate::error::{StorageError, internal};
use local::LocalStaging;
use multipart::MultipartStaging;

/// Default multipart part size: S3's minimum for every part but the last.
pub const DEFAULT_PART_SIZE: usize = 5 * 1024 * 1024;

enum Staging {
    Local(LocalStaging),
    Multipart(MultipartStaging),
}

/// A content-addressed [`BlobStore`] over an `object_store` backend.
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    layout: Layout,
    staging: Staging,
}

impl ObjectBlobStore {
    /// Blobs in a local directory (created if missing). With `fsync`, committed blobs and
    /// their directory entries are flushed to disk before the commit returns.
    pub fn filesystem(root: impl AsRef<FsPath>, fsync: bool) -> Result<Self, StorageError> {
        let root = root.as_ref();
        crate::private_fs::dir(&root.join(UPLOADS))?;
        crate::private_fs::dir(&root.join(BLOBS))?;
        let root: PathBuf = root.canonicalize()?;
        let fs = Arc::new(LocalFileSystem::new_with_prefix(&root)?);
        Ok(ObjectBlobStore {
            store: fs.clone(),
            layout: Layout::default(),
            staging: Staging::Local(LocalStaging::new(root, fs, fsync)),
        })
    }

    /// Blobs in memory, for tests.
    pub fn memory() -> Self {
        Self::multipart(
            Arc::new(InMemory::new()),
            Path::default(),
            DEFAULT_PART_SIZE,
        )
    }

    /// Blobs in any object store that supports multipart uploads, under `prefix`, with
    /// uploads staged in parts of at least `part_size` bytes.
    pub fn multipart<S>(store: Arc<S>, prefix: Path, part_size: usize) -> Self
    where
        S: ObjectStore + MultipartStore,
    {
        let layout = Layout::new(prefix);
        ObjectBlobStore {
            store: store.clone(),
            staging: Staging::Multipart(MultipartStaging::new(
                store.clone(),
                store,
                layout.clone(),
                part_size,
            )),
            layout,
        }
    }

    /// Lowers the size above which a committed upload is copied by streaming instead of one
    /// server-side copy (5 GiB, S3's limit); for tests of huge blobs with small ones.
    pub fn with_copy_limit(mut self, limit: u64) -> Self {
        if let Staging::Multipart(m) = &mut self.staging {
            m.set_copy_limit(limit);
        }
        self
    }

    /// The underlying object store.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Where things live inside the object store.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Objects currently in the upload staging area (staged uploads and multipart tails).
    pub async fn staged_objects(&self) -> Result<usize, StorageError> {
        let list: Vec<_> = self
            .store
            .list(Some(&self.layout.uploads()))
            .try_collect()
            .await?;
        Ok(list.len())
    }
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    fn provider(&self) -> String {
        if matches!(self.staging, Staging::Local(_)) {
            return "filesystem".into();
        }
        let backend = self.store.to_string();
        [
            ("AmazonS3", "s3"),
            ("GoogleCloudStorage", "gcs"),
            ("MicrosoftAzure", "azure"),
            ("InMemory", "inmemory"),
        ]
        .iter()
        .find(|(prefix, _)| backend.starts_with(prefix))
        .map_or_else(|| "unknown".into(), |(_, name)| (*name).into())
    }

    async fn size(&self, digest: &Digest) -> Result<Option<u64>> {
        match self.store.head(&self.layout.blob(digest)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(internal(e)),
        }
    }

    async fn read(&self, digest: &Digest, range: Range<u64>) -> Result<ByteStream> {
        if let Staging::Local(local) = &self.staging {
            return local.read_blob(digest, range).await;
        }
        if range.is_empty() {
            return Ok(futures::stream::empty().boxed());
        }
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..Default::default()
        };
        match self.store.get_opts(&self.layout.blob(digest), opts).await {
            Ok(r) => Ok(r.into_stream().map_err(std::io::Error::other).boxed()),
            Err(e) if not_found(&e) => Err(Error::BlobUnknown(digest.clone())),
            Err(e) => Err(internal(e)),
        }
    }

    async fn delete(&self, digest: &Digest) -> Result<()> {
        match self.store.delete(&self.layout.blob(digest)).await {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(internal(e)),
        }
    }

    async fn open_upload(
        &self,
        id: &UploadId,
        state: &str,
        offset: u64,
    ) -> Result<Box<dyn UploadWriter>> {
        match &self.staging {
            Staging::Local(l) => l.open(id, offset).await,
            Staging::Multipart(m) => m.open(id, state, offset).await,
        }
    }

    async fn seal_upload(&self, id: &UploadId, state: &str, len: u64) -> Result<String> {
        match &self.staging {
            Staging::Local(_) => Ok(state.to_owned()),
            Staging::Multipart(m) => m.seal(id, state, len).await,
        }
    }

    async fn read_upload(&self, id: &UploadId, state: &str, len: u64) -> Result<ByteStream> {
        match &self.staging {
            Staging::Local(l) => l.read_staged(id, len).await,
            Staging::Multipart(m) => m.read(id, state).await,
        }
    }

    async fn commit_upload(
        &self,
        id: &UploadId,
        state: &str,
        len: u64,
        digest: &Digest,
    ) -> Result<()> {
        match &self.staging {
            Staging::Local(l) => l.commit(id, len, digest).await,
            Staging::Multipart(m) => m.commit(id, state, len, digest).await,
        }
    }

    async fn abort_upload(&self, id: &UploadId, state: &str) -> Result<()> {
        match &self.staging {
            Staging::Local(l) => l.abort(id).await,
            Staging::Multipart(m) => m.abort(id, state).await,
        }
    }

    fn min_chunk_length(&self) -> u64 {
        match &self.staging {
            Staging::Local(_) => 0,
            Staging::Multipart(m) => m.part_size() as u64,
        }
    }

    async fn list_blobs(&self) -> Result<BoxStream<'static, Result<StoredObject>>> {
        let root = self.layout.blobs_dir();
        let layout = self.layout.clone();
        let listed = self.store.list(Some(&root));
        Ok(listed
            .map_err(internal)
            .try_filter_map(move |meta| {
                let found = layout.digest_of(&meta.location).map(|digest| StoredObject {
                    digest,
                    size: meta.size,
                    modified_ms: meta.last_modified.timestamp_millis(),
                });
                futures::future::ready(Ok(found))
            })
            .boxed())
    }

    async fn list_staging(&self) -> Result<Vec<(UploadId, i64)>> {
        let listed: Vec<_> = self
            .store
            .list(Some(&self.layout.uploads()))
            .try_collect()
            .await
            .map_err(internal)?;
        let mut found = std::collections::BTreeMap::new();
        for meta in listed {
            if let Some(id) = self.layout.upload_of(&meta.location) {
                let at = meta.last_modified.timestamp_millis();
                let e = found.entry(id).or_insert(at);
                *e = (*e).max(at);
            }
        }
        Ok(found.into_iter().collect())
    }
}
