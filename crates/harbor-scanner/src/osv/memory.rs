//! An in-memory advisory database, for embedding without a store and for tests.

use std::collections::HashMap;
use std::path::Path;

use super::advisory::{Advisory, PackageKey};
use super::import::{ImportStats, import_path};
use crate::ScanError;

/// Advisories by package key.
#[derive(Debug, Default, Clone)]
pub struct MemoryDb {
    pub advisories: HashMap<PackageKey, Vec<Advisory>>,
}

impl MemoryDb {
    /// Imports a zip archive or a directory of OSV records.
    pub fn import(path: &Path) -> Result<(Self, ImportStats), ScanError> {
        let mut db = Self::default();
        let stats = import_path(path, &mut |batch| {
            db.add(batch);
            Ok(())
        })?;
        Ok((db, stats))
    }

    /// Adds advisories.
    pub fn add(&mut self, batch: Vec<(PackageKey, Advisory)>) {
        for (key, advisory) in batch {
            self.advisories.entry(key).or_default().push(advisory);
        }
    }
}
