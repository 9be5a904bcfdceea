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

    /// Directory holding all committed blobs.
    pub fn blobs_dir(&self) -> Path {
        self.join([BLOBS])
    }

    /// The digest a committed blob's object path names (the inverse of [`Layout::blob`]),
    /// or `None` for any other path.
    pub fn digest_of(&self, path: &Path) -> Option<Digest> {
        let rest: Vec<_> = path.prefix_match(&self.blobs_dir())?.collect();
        match rest.as_slice() {
            [alg, shard, hex] if hex.as_ref().get(..2) == Some(shard.as_ref()) => {
                Digest::parse(&format!("{}:{}", alg.as_ref(), hex.as_ref())).ok()
            }
            _ => None,
        }
    }

    /// The upload a staging object belongs to (`_uploads/<id>` or `_uploads/<id>/...`).
    pub fn upload_of(&self, path: &Path) -> Option<UploadId> {
        let first = path.prefix_match(&self.uploads())?.next()?;
        UploadId::parse(first.as_ref()).ok()
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

    #[test]
    fn paths_map_back_to_digests_and_uploads() {
        let d = Digest::sha256(b"x");
        let l = Layout::new(Path::from("team/registry"));
        assert_eq!(l.digest_of(&l.blob(&d)), Some(d.clone()));
        assert_eq!(Layout::default().digest_of(&l.blob(&d)), None);
        let hex = d.hex();
        for bad in [
            format!("team/registry/blobs/sha256/zz/{hex}"),
            format!("team/registry/blobs/sha256/{hex}"),
            "team/registry/blobs/sha256/ab/abc".to_owned(),
            format!("team/registry/blobs/md5/{}/{hex}", &hex[..2]),
        ] {
            assert_eq!(l.digest_of(&Path::from(bad.as_str())), None, "{bad}");
        }
        let id = UploadId::parse("abc").unwrap();
        assert_eq!(l.upload_of(&l.upload_tail(&id)), Some(id.clone()));
        assert_eq!(
            l.upload_of(&Path::from("team/registry/_uploads/abc")),
            Some(id)
        );
        assert_eq!(l.upload_of(&l.blob(&d)), None);
    }
}
