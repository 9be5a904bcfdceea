//! This process's name in upload leases.
//!
//! A lease token is `<owner>.<random>`. The owner is kept in `<data_dir>/instance-id`,
//! and the process that holds an exclusive lock on that file is the only one using it: so
//! when a process starts and gets the lock, any lease of that owner was left by an earlier
//! run on the same data directory that died (kill -9, a crash, a power cut), and is
//! released at once instead of blocking the client's resume until it expires. A second
//! process on the same data directory does not get the lock and uses a fresh owner of
//! its own, whose leases only expire.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;

use harbor_storage::private_fs;

/// This process's lease owner.
#[derive(Debug)]
pub struct Instance {
    /// The owner name (hex).
    pub owner: String,
    /// This process holds the data directory's instance lock: leases of `owner` found at
    /// start-up are left over from a previous run.
    pub exclusive: bool,
    /// The locked file; the lock lives as long as it is open.
    _lock: Option<File>,
}

fn fresh() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Instance {
    /// Takes the instance lock of `data_dir` (creating the directory and file as needed).
    pub fn claim(data_dir: &Path) -> std::io::Result<Self> {
        private_fs::dir(data_dir)?;
        let path = data_dir.join("instance-id");
        let mut file = private_fs::options(OpenOptions::new().read(true).write(true).create(true))
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                tracing::warn!(
                    path = %path.display(),
                    "another process is using this data directory; this one's upload leases \
                     get an owner of their own"
                );
                return Ok(Instance {
                    owner: fresh(),
                    exclusive: false,
                    _lock: None,
                });
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        let mut id = String::new();
        file.read_to_string(&mut id)?;
        let id = id.trim();
        let owner = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            id.to_owned()
        } else {
            let id = fresh();
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(id.as_bytes())?;
            file.sync_all()?;
            id
        };
        Ok(Instance {
            owner,
            exclusive: true,
            _lock: Some(file),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_kept_and_exclusive_to_one_holder() {
        let dir = tempfile::tempdir().unwrap();
        let a = Instance::claim(dir.path()).unwrap();
        assert!(a.exclusive);
        assert_eq!(a.owner.len(), 32);
        // A second process (here: a second open file) gets an owner of its own.
        let b = Instance::claim(dir.path()).unwrap();
        assert!(!b.exclusive);
        assert_ne!(a.owner, b.owner);
        let owner = a.owner.clone();
        drop(a);
        drop(b);
        // The next run takes over the same owner.
        let c = Instance::claim(dir.path()).unwrap();
        assert!(c.exclusive);
        assert_eq!(c.owner, owner);
    }
}
