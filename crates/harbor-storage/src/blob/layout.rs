//! Where blobs and upload staging live inside the object store.
//!
//! Under an optional prefix (e.g. the path part of `s3://bucket/prefix`):
//! `blobs/<algorithm>/<first two hex chars>/<hex>` holds committed blobs, the layout CNCF
//! Distribution made familiar; `_uploads/<id>/...` holds upload staging. Both path parts
//! come from validated digests and upload ids, so no client input can escape them.

use harbor_core::Digest;
use harbor_core::model::UploadId;
use object_store::path::Path;

/// Directory of committed blobs.
pub const BLOBS: &str = "blobs";
/// Directory of upload staging.
pub const UPLOADS: &str = "_uploads";

/// Object paths under a prefix.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    prefix: Path,
}

impl Layout {
    /// A layout under `prefix` (empty for the store's root).
    pub fn new(prefix: Path) -> Self {
        Layout { prefix }
    }

    fn join<'a>(&self, parts: impl IntoIterator<Item = &'a str>) -> Path {
        let mut p = self.prefix.clone();
        for part in parts {
            p = p.join(part);
        }
        p
    }

    /// Object path of a committed blob.
    pub fn blob(&self, digest: &Digest) -> Path {
        let hex = digest.hex();
        self.join([BLOBS, digest.algorithm().as_str(), &hex[..2], hex])
    }

    /// Directory holding all upload staging.
    pub fn uploads(&self) -> Path {
        self.join([UPLOADS])
    }

    /// Object path of an upload's staged data (multipart target).
    pub fn upload_data(&self, id: &UploadId) -> Path {
        self.join([UPLOADS, id.as_str(), "data"])
    }

    /// Object path of an upload's buffered tail (bytes not yet forming a full part).
    pub fn upload_tail(&self, id: &UploadId) -> Path {
        self.join([UPLOADS, id.as_str(), "tail"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_are_sharded_by_digest() {
        let d = Digest::sha256(b"");
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            Layout::default().blob(&d).as_ref(),
            format!("blobs/sha256/e3/{hex}")
        );
        let l = Layout::new(Path::from("team/registry"));
        assert_eq!(
            l.blob(&d).as_ref(),
            format!("team/registry/blobs/sha256/e3/{hex}")
        );
        let id = UploadId::parse("abc").unwrap();
        assert_eq!(
            l.upload_tail(&id).as_ref(),
            "team/registry/_uploads/abc/tail"
        );
        assert_eq!(l.uploads().as_ref(), "team/registry/_uploads");
    }
}
