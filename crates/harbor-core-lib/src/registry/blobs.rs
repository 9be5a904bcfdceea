//! Blob reads, deletes and cross-repository mounts.

use std::ops::Range;

use super::Registry;
use super::uploads::UploadStatus;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::model::{BlobInfo, now_ms};
use crate::names::RepositoryName;
use crate::ports::ByteStream;

/// A single byte range as a client asks for it (`Range: bytes=...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// `first-last`, inclusive.
    FromTo(u64, u64),
    /// `first-`: to the end.
    From(u64),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The half-open range this selects in a blob of `size` bytes, or
    /// [`Error::RangeNotSatisfiable`].
    pub fn resolve(self, size: u64) -> Result<Range<u64>> {
        let unsatisfiable = Error::RangeNotSatisfiable { size };
        match self {
            ByteRange::FromTo(first, last) if first <= last && first < size => {
                Ok(first..last.saturating_add(1).min(size))
            }
            ByteRange::From(first) if first < size => Ok(first..size),
            ByteRange::Suffix(n) if n > 0 && size > 0 => Ok(size - n.min(size)..size),
            _ => Err(unsatisfiable),
        }
    }
}

/// A blob being read.
pub struct BlobRead {
    /// The blob.
    pub info: BlobInfo,
    /// The bytes being sent (the whole blob unless a range was asked for).
    pub range: Range<u64>,
    /// Whether a range was asked for (a 206 answer).
    pub partial: bool,
    /// The bytes.
    pub body: ByteStream,
}

/// Outcome of a mount request.
#[derive(Debug)]
pub enum Mount {
    /// The blob is now linked to the repository.
    Mounted(BlobInfo),
    /// The blob could not be mounted; an ordinary upload session was started instead.
    Started(UploadStatus),
}

impl Registry {
    /// A blob linked to `repo`, or [`Error::BlobUnknown`].
    pub async fn stat_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<BlobInfo> {
        match self.meta.repository_blob(repo, digest).await? {
            Some(size) => Ok(BlobInfo {
                digest: digest.clone(),
                size,
            }),
            None => Err(Error::BlobUnknown(digest.clone())),
        }
    }

    /// A blob linked to `repo` (or [`Error::BlobUnknown`]), for a client asking whether
    /// to upload it (HEAD): it will reference the blob in a manifest soon, so the blob's
    /// GC time window restarts (at most once a minute), as Harbor's HEAD does.
    pub async fn probe_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<BlobInfo> {
        let Some((size, touched)) = self.meta.linked_blob(repo, digest).await? else {
            return Err(Error::BlobUnknown(digest.clone()));
        };
        let now = now_ms();
        if touched < now - super::gc::TOUCH_PERIOD_MS {
            self.meta
                .touch_blob(digest, now, now - super::gc::TOUCH_PERIOD_MS)
                .await?;
        }
        Ok(BlobInfo {
            digest: digest.clone(),
            size,
        })
    }

    /// Opens a blob of `repo` for reading, whole or one range of it.
    pub async fn read_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> Result<BlobRead> {
        let info = self.stat_blob(repo, digest).await?;
        let (range, partial) = match range {
            Some(r) => (r.resolve(info.size)?, true),
            None => (0..info.size, false),
        };
        let body = self.blobs.read(digest, range.clone()).await?;
        Ok(BlobRead {
            info,
            range,
            partial,
            body,
        })
    }

    /// Unlinks a blob from `repo`. The bytes stay until garbage collection finds them
    /// unreferenced everywhere.
    pub async fn delete_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<()> {
        if self.meta.unlink_blob(repo, digest).await? {
            Ok(())
        } else {
            Err(Error::BlobUnknown(digest.clone()))
        }
    }

    /// Links an existing blob into `repo` without moving bytes. With `from`, the blob must
    /// be linked to that repository; without it, to any. When the blob cannot be mounted
    /// an upload session is started, as the spec requires.
    pub async fn mount_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        from: Option<&RepositoryName>,
    ) -> Result<Mount> {
        let size = match from {
            Some(source) => self.meta.repository_blob(source, digest).await?,
            None => self.meta.blob_size(digest).await?,
        };
        match size {
            Some(size) => match self.meta.link_blob(repo, digest, size).await {
                Ok(()) => Ok(Mount::Mounted(BlobInfo {
                    digest: digest.clone(),
                    size,
                })),
                // Garbage collection took it meanwhile: the client uploads it instead.
                Err(Error::BlobChanged(_)) => Ok(Mount::Started(self.start_upload(repo).await?)),
                Err(e) => Err(e),
            },
            None => Ok(Mount::Started(self.start_upload(repo).await?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_ranges() {
        assert_eq!(ByteRange::FromTo(0, 9).resolve(100).unwrap(), 0..10);
        assert_eq!(ByteRange::FromTo(90, 200).resolve(100).unwrap(), 90..100);
        assert_eq!(ByteRange::From(99).resolve(100).unwrap(), 99..100);
        assert_eq!(ByteRange::Suffix(10).resolve(100).unwrap(), 90..100);
        assert_eq!(ByteRange::Suffix(1000).resolve(100).unwrap(), 0..100);
        for bad in [
            ByteRange::FromTo(100, 200),
            ByteRange::FromTo(10, 5),
            ByteRange::From(100),
            ByteRange::Suffix(0),
        ] {
            assert!(matches!(
                bad.resolve(100),
                Err(Error::RangeNotSatisfiable { size: 100 })
            ));
        }
        assert!(ByteRange::From(0).resolve(0).is_err());
        assert!(ByteRange::Suffix(5).resolve(0).is_err());
    }
}
