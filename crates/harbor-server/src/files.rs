//! The data directory is private: the server creates it `0700` and its own files `0600`
//! (the database holds password hashes, sessions and the sealed signing key; blobs may be
//! private images), and warns at start-up about anything in it that others may read.

use std::path::{Path, PathBuf};

/// Paths under `dir` (the directory itself, the database and its journals, the storage
/// and key files, not descending into blob directories) that group or others may read,
/// write or enter, with their modes.
pub(crate) fn too_open(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mut check = |p: PathBuf| {
            if let Ok(m) = std::fs::metadata(&p) {
                let mode = m.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    found.push((p, mode));
                }
            }
        };
        check(dir.to_path_buf());
        for name in [
            "registry.db",
            "registry.db-wal",
            "registry.db-shm",
            "secret.key",
            "instance-id",
            "storage",
        ] {
            check(dir.join(name));
        }
    }
    found
}

/// Logs a warning for each path [`too_open`] finds.
pub(crate) fn warn_if_open(dir: &Path) {
    for (path, mode) in too_open(dir) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "others may read this part of the data directory, which holds password hashes, \
             sessions and private images; restrict it with: chmod -R go-rwx {}",
            dir.display()
        );
    }
}
