//! Mapping `/v2/...` paths to API endpoints.
//!
//! Repository names contain slashes (`a/b/c/d`), so the path is read from the right: the
//! endpoint is recognised by its last segments and everything before them is the name.

/// An endpoint of the OCI API, with the raw (not yet validated) parts of its path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags { name: &'a str },
    /// `/v2/<name>/manifests/<reference>`
    Manifest { name: &'a str, reference: &'a str },
    /// `/v2/<name>/blobs/<digest>`
    Blob { name: &'a str, digest: &'a str },
    /// `/v2/<name>/blobs/uploads/`
    Uploads { name: &'a str },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload { name: &'a str, id: &'a str },
    /// `/v2/<name>/referrers/<digest>`
    Referrers { name: &'a str, digest: &'a str },
}

impl<'a> Route<'a> {
    /// The endpoint's name in metrics.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Route::Catalog => "catalog",
            Route::Tags { .. } => "tags",
            Route::Manifest { .. } => "manifest",
            Route::Blob { .. } => "blob",
            Route::Uploads { .. } => "upload_start",
            Route::Upload { .. } => "upload",
            Route::Referrers { .. } => "referrers",
        }
    }

    /// Parses the part of the path after `/v2/`.
    pub(crate) fn parse(path: &'a str) -> Option<Self> {
        if path == "_catalog" {
            return Some(Route::Catalog);
        }
        if let Some(name) = path.strip_suffix("/tags/list") {
            return Some(Route::Tags { name });
        }
        if let Some(name) = path
            .strip_suffix("/blobs/uploads/")
            .or_else(|| path.strip_suffix("/blobs/uploads"))
        {
            return Some(Route::Uploads { name });
        }
        let (head, last) = path.rsplit_once('/')?;
        if let Some(name) = head.strip_suffix("/blobs/uploads") {
            return Some(Route::Upload { name, id: last });
        }
        let (name, kind) = head.rsplit_once('/')?;
        match kind {
            "manifests" => Some(Route::Manifest {
                name,
                reference: last,
            }),
            "blobs" => Some(Route::Blob { name, digest: last }),
            "referrers" => Some(Route::Referrers { name, digest: last }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_from_the_right() {
        assert_eq!(Route::parse("_catalog"), Some(Route::Catalog));
        assert_eq!(
            Route::parse("a/b/c/d/tags/list"),
            Some(Route::Tags { name: "a/b/c/d" })
        );
        assert_eq!(
            Route::parse("a/manifests/b/manifests/latest"),
            Some(Route::Manifest {
                name: "a/manifests/b",
                reference: "latest"
            })
        );
        assert_eq!(
            Route::parse("x/blobs/sha256:abc"),
            Some(Route::Blob {
                name: "x",
                digest: "sha256:abc"
            })
        );
        assert_eq!(
            Route::parse("x/y/blobs/uploads/"),
            Some(Route::Uploads { name: "x/y" })
        );
        assert_eq!(
            Route::parse("x/y/blobs/uploads"),
            Some(Route::Uploads { name: "x/y" })
        );
        assert_eq!(
            Route::parse("x/blobs/uploads/blobs/uploads/abc"),
            Some(Route::Upload {
                name: "x/blobs/uploads",
                id: "abc"
            })
        );
        assert_eq!(
            Route::parse("x/referrers/sha256:abc"),
            Some(Route::Referrers {
                name: "x",
                digest: "sha256:abc"
            })
        );
        assert_eq!(Route::parse("x/unknown/y"), None);
        assert_eq!(Route::parse("x"), None);
        assert_eq!(Route::parse(""), None);
        assert_eq!(Route::parse("manifests/latest"), None);
    }
}
