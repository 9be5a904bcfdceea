//! Where blobs and upload staging live inside the object store.
//!
//! `blobs/<algorithm>/<first two hex chars>/<hex>` holds committed blobs, the layout CNCF
//! Distribution made familiar; `_uploads/<id>` holds upload staging. Both path parts come
//! from validated digests and upload ids, so no client input can escape them.

use harbor_core::Digest;
use harbor_core::model::UploadId;
use object_store::path::Path;

/// Prefix of committed blobs.
pub const BLOBS: &str = "blobs";
/// Prefix of upload staging.
pub const UPLOADS: &str = "_uploads";

/// Object path of a committed blob.
pub fn blob_path(digest: &Digest) -> Path {
    let hex = digest.hex();
    Path::from_iter([BLOBS, digest.algorithm().as_str(), &hex[..2], hex])
}

/// Object path of an upload's staged data (multipart target).
pub fn upload_data_path(id: &UploadId) -> Path {
    Path::from_iter([UPLOADS, id.as_str(), "data"])
}

/// Object path of an upload's buffered tail (bytes not yet forming a full part).
pub fn upload_tail_path(id: &UploadId) -> Path {
    Path::from_iter([UPLOADS, id.as_str(), "tail"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_are_sharded_by_digest() {
        let d = Digest::sha256(b"");
        assert_eq!(
            blob_path(&d).as_ref(),
            "blobs/sha256/e3/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
