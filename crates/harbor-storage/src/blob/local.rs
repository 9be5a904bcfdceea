//! The local-filesystem fast path: in-place appends, rename on commit, big reads.

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use harbor_core::model::UploadId;
use harbor_core::ports::{ByteStream, UploadWriter};
use harbor_core::{Digest, Error, Result};
use object_store::local::LocalFileSystem;
use tokio::task::JoinHandle;

use super::layout::{Layout, UPLOADS};
use super::read::{blob_stream, file_stream};
use crate::error::{StorageError, internal};
use crate::private_fs;

/// Bytes gathered before one positioned write on the blocking pool.
const WRITE_BATCH: usize = 256 * 1024;

pub(crate) struct LocalStaging {
    root: PathBuf,
    fs: Arc<LocalFileSystem>,
    fsync: bool,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("blocking task failed: {e}")))?
        .map_err(Error::from)
}

impl LocalStaging {
    pub(crate) fn new(root: PathBuf, fs: Arc<LocalFileSystem>, fsync: bool) -> Self {
        LocalStaging { root, fs, fsync }
    }

    fn staging_path(&self, id: &UploadId) -> PathBuf {
        self.root.join(UPLOADS).join(id.as_str())
    }

    fn blob_file(&self, digest: &Digest) -> Result<PathBuf> {
        self.fs
            .path_to_filesystem(&Layout::default().blob(digest))
            .map_err(internal)
    }

    pub(crate) async fn open(&self, id: &UploadId, offset: u64) -> Result<Box<dyn UploadWriter>> {
        let path = self.staging_path(id);
        let file = tokio::task::spawn_blocking(move || -> io::Result<File> {
            let f = private_fs::options(OpenOptions::new().create(offset == 0).write(true))
                .truncate(false)
                .open(&path)?;
            let len = f.metadata()?.len();
            if len < offset {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("staged upload has {len} bytes, expected {offset}"),
                ));
            }
            if len > offset {
                f.set_len(offset)?; // Discard what a failed request left behind.
            }
            Ok(f)
        })
        .await
        .map_err(|e| Error::internal(format!("blocking task failed: {e}")))?;
        let file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::warn!(upload = %id, error = %e, "staged upload data is missing");
                return Err(Error::BlobUploadInvalid(
                    "the upload's staged data is missing; start a new upload".into(),
                ));
            }
            Err(e) => return Err(internal(e)),
        };
        Ok(Box::new(LocalWriter {
            file: Arc::new(file),
            pos: offset,
            batch: Vec::new(),
            batch_len: 0,
            in_flight: None,
        }))
    }

    pub(crate) async fn read_staged(&self, id: &UploadId, len: u64) -> Result<ByteStream> {
        let path = self.staging_path(id);
        if len == 0 {
            return Ok(futures::stream::empty().boxed());
        }
        let file = blocking(move || Ok(File::open(path)?)).await?;
        Ok(file_stream(file, 0..len))
    }

    pub(crate) async fn commit(&self, id: &UploadId, len: u64, digest: &Digest) -> Result<()> {
        let staging = self.staging_path(id);
        let target = self.blob_file(digest)?;
        let fsync = self.fsync;
        blocking(move || {
            let f = match OpenOptions::new().write(true).open(&staging) {
                Ok(f) => f,
                // An empty upload that never received a byte has no staging file yet.
                Err(e) if e.kind() == io::ErrorKind::NotFound && len == 0 => {
                    private_fs::options(OpenOptions::new().write(true).create(true))
                        .open(&staging)?
                }
                Err(e) => return Err(e.into()),
            };
            let have = f.metadata()?.len();
            if have < len {
                return Err(StorageError::Inconsistent(format!(
                    "staged upload has {have} bytes, expected {len}"
                )));
            }
            if have > len {
                f.set_len(len)?;
            }
            if fsync {
                f.sync_all()?;
            }
            drop(f);
            let dir = target
                .parent()
                .ok_or_else(|| StorageError::Inconsistent("blob path has no parent".into()))?;
            private_fs::dir(dir)?;
            std::fs::rename(&staging, &target)?;
            if fsync {
                File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn abort(&self, id: &UploadId) -> Result<()> {
        let path = self.staging_path(id);
        blocking(move || match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }

    pub(crate) async fn read_blob(&self, digest: &Digest, range: Range<u64>) -> Result<ByteStream> {
        let path = self.blob_file(digest)?;
        let d = digest.clone();
        let file = tokio::task::spawn_blocking(move || File::open(&path))
            .await
            .map_err(|e| Error::internal(format!("blocking task failed: {e}")))?;
        match file {
            Ok(f) => Ok(blob_stream(f, range)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::error!(digest = %d, "blob is recorded but missing from storage");
                Err(Error::BlobUnknown(d))
            }
            Err(e) => Err(internal(e)),
        }
    }
}

/// Appends to a staging file: chunks are gathered into batches, and each batch is
/// written with positioned writes on the blocking pool while the next one fills.
struct LocalWriter {
    file: Arc<File>,
    /// File offset of the next batch.
    pos: u64,
    batch: Vec<Bytes>,
    batch_len: usize,
    in_flight: Option<JoinHandle<io::Result<()>>>,
}

impl LocalWriter {
    async fn wait(&mut self) -> Result<()> {
        match self.in_flight.take() {
            Some(task) => task
                .await
                .map_err(|e| Error::internal(format!("write task failed: {e}")))?
                .map_err(internal),
            None => Ok(()),
        }
    }

    async fn flush(&mut self) -> Result<()> {
        self.wait().await?;
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let file = self.file.clone();
        let mut pos = self.pos;
        self.pos += self.batch_len as u64;
        self.batch_len = 0;
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            for b in &batch {
                file.write_all_at(b, pos)?;
                pos += b.len() as u64;
            }
            Ok(())
        }));
        Ok(())
    }
}

#[async_trait]
impl UploadWriter for LocalWriter {
    async fn write(&mut self, chunk: Bytes) -> Result<()> {
        self.batch_len += chunk.len();
        self.batch.push(chunk);
        if self.batch_len >= WRITE_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<String> {
        self.flush().await?;
        self.wait().await?;
        Ok(String::new())
    }

    async fn abort(mut self: Box<Self>) {
        let _ = self.wait().await;
    }
}
