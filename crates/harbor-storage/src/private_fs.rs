//! Files readable by their owner only: directories `0700`, files `0600`. The registry's
//! data (the database, blobs, keys) is created this way, since it holds password hashes,
//! sessions and private images.

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::Path;

/// Creates `dir` and missing parents, those it creates with mode `0700`.
pub fn dir(dir: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
}

/// `opts` creating files with mode `0600`.
pub fn options(opts: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts
}

/// Creates the file `path` (which must not exist) with `contents`, flushed to disk.
pub fn create(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut f = options(OpenOptions::new().write(true).create_new(true)).open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}
