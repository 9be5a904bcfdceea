//! The local-filesystem fast path: in-place appends, rename on commit, big reads.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use harbor_core::model::UploadId;
use harbor_core::ports::{ByteStream, UploadWriter};
use harbor_core::{Digest, Error, Result};
use object_store::local::LocalFileSystem;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::layout::{UPLOADS, blob_path};
use crate::error::{StorageError, internal};

/// Read size for blob downloads.
const READ_CHUNK: usize = 256 * 1024;
/// Chunks read ahead of the network.
const READ_AHEAD: usize = 2;
/// Chunks queued for the writer thread.
const WRITE_QUEUE: usize = 8;
/// Write buffer of the writer thread.
const WRITE_BUFFER: usize = 256 * 1024;

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
            .path_to_filesystem(&blob_path(digest))
            .map_err(internal)
    }

    pub(crate) async fn open(&self, id: &UploadId, offset: u64) -> Result<Box<dyn UploadWriter>> {
        let path = self.staging_path(id);
        let file = tokio::task::spawn_blocking(move || -> io::Result<File> {
            let mut f = OpenOptions::new()
                .create(offset == 0)
                .write(true)
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
            f.seek(SeekFrom::Start(offset))?;
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
        let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
        let task = tokio::task::spawn_blocking(move || -> io::Result<()> {
            let mut w = BufWriter::with_capacity(WRITE_BUFFER, file);
            while let Some(chunk) = rx.blocking_recv() {
                w.write_all(&chunk)?;
            }
            w.flush()
        });
        Ok(Box::new(LocalWriter { tx: Some(tx), task }))
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
                    File::create(&staging)?
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
            std::fs::create_dir_all(dir)?;
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
            Ok(f) => Ok(file_stream(f, range)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::error!(digest = %d, "blob is recorded but missing from storage");
                Err(Error::BlobUnknown(d))
            }
            Err(e) => Err(internal(e)),
        }
    }
}

/// Streams `range` of a file, read ahead by a blocking thread in large chunks.
fn file_stream(mut file: File, range: Range<u64>) -> ByteStream {
    let len = range.end.saturating_sub(range.start);
    if len == 0 {
        return futures::stream::empty().boxed();
    }
    if len <= READ_CHUNK as u64 {
        // One read: no thread to keep around.
        return futures::stream::once(async move {
            tokio::task::spawn_blocking(move || read_chunk(&mut file, range.start, len as usize))
                .await
                .map_err(io::Error::other)?
        })
        .boxed();
    }
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut pos = range.start;
        if let Err(e) = file.seek(SeekFrom::Start(pos)) {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        while pos < range.end {
            let want = ((range.end - pos) as usize).min(READ_CHUNK);
            let mut buf = BytesMut::zeroed(want);
            let result = file.read_exact(&mut buf).map(|()| buf.freeze());
            let failed = result.is_err();
            if tx.blocking_send(result).is_err() || failed {
                return; // The client went away, or the read failed.
            }
            pos += want as u64;
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

fn read_chunk(file: &mut File, start: u64, len: usize) -> io::Result<Bytes> {
    file.seek(SeekFrom::Start(start))?;
    let mut buf = BytesMut::zeroed(len);
    file.read_exact(&mut buf)?;
    Ok(buf.freeze())
}

/// Appends to a staging file through a dedicated blocking thread.
struct LocalWriter {
    tx: Option<mpsc::Sender<Bytes>>,
    task: JoinHandle<io::Result<()>>,
}

impl LocalWriter {
    async fn join(self) -> Result<()> {
        let LocalWriter { tx, task } = self;
        drop(tx);
        task.await
            .map_err(|e| Error::internal(format!("writer thread failed: {e}")))?
            .map_err(internal)
    }
}

#[async_trait]
impl UploadWriter for LocalWriter {
    async fn write(&mut self, chunk: Bytes) -> Result<()> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| Error::internal("writer closed"))?;
        if tx.send(chunk).await.is_err() {
            // The thread stopped: it failed. Surface its error.
            self.tx = None;
            let task = std::mem::replace(&mut self.task, tokio::spawn(async { Ok(()) }));
            task.await
                .map_err(|e| Error::internal(format!("writer thread failed: {e}")))?
                .map_err(internal)?;
            return Err(Error::internal("writer thread stopped"));
        }
        Ok(())
    }

    async fn finish(self: Box<Self>) -> Result<String> {
        self.join().await?;
        Ok(String::new())
    }

    async fn abort(self: Box<Self>) {
        let _ = self.join().await;
    }
}
