//! Package inventories: which files of an image name installed packages, and their parsers.
//!
//! [`scan_layer`] streams one layer (plain, gzip or zstd tar) and keeps what its files name;
//! [`merge`] stacks the layers of an image, applying whiteouts, into an [`ImageInventory`].
//! A layer's inventory depends on its bytes only, so callers can cache it by digest.

pub mod apk;
pub mod cargo;
pub mod dpkg;
pub mod golang;
pub mod java;
mod layer;
pub mod npm;
pub mod os_release;
pub mod python;
pub mod rpm;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use layer::{Limits, scan_layer};
pub use os_release::OsRelease;

use crate::Package;

/// What one layer adds and removes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerInventory {
    /// Files that name packages (or the OS release), by absolute path.
    pub files: BTreeMap<String, FileFinding>,
    /// Paths this layer deletes from the layers below (whiteouts, and known files replaced
    /// by something that is not a regular file).
    pub deleted: Vec<String>,
    /// Directories whose lower-layer content this layer hides (opaque whiteouts).
    pub opaque: Vec<String>,
    /// Files that looked like package databases but could not be read.
    pub warnings: Vec<String>,
}

/// What one file names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileFinding {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsRelease>,
}

/// The packages of a whole image, after whiteouts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageInventory {
    pub os: Option<OsRelease>,
    /// Sorted and without duplicates.
    pub packages: Vec<Package>,
    pub warnings: Vec<String>,
}

/// Stacks layer inventories, lowest first, as the container's file system would.
pub fn merge<'a>(layers: impl IntoIterator<Item = &'a LayerInventory>) -> ImageInventory {
    let mut files: BTreeMap<&str, &FileFinding> = BTreeMap::new();
    let mut warnings = Vec::new();
    for layer in layers {
        for dir in &layer.opaque {
            let prefix = format!("{}/", dir.trim_end_matches('/'));
            files.retain(|path, _| !path.starts_with(&prefix));
        }
        for gone in &layer.deleted {
            let prefix = format!("{gone}/");
            files.retain(|path, _| *path != gone && !path.starts_with(&prefix));
        }
        for (path, finding) in &layer.files {
            files.insert(path, finding);
        }
        warnings.extend(layer.warnings.iter().cloned());
    }
    let os = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| files.get(p).and_then(|f| f.os.clone()));
    let mut packages: Vec<Package> = files
        .values()
        .flat_map(|f| f.packages.iter().cloned())
        .collect();
    packages.sort();
    packages.dedup();
    ImageInventory {
        os,
        packages,
        warnings,
    }
}

/// Which parser reads a file, decided from its path (and mode and size for binaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parser {
    OsRelease,
    Dpkg,
    Apk,
    Rpm,
    CargoLock,
    NpmLock,
    NpmPackage,
    Python,
    Jar,
    GoBinary,
}

impl Parser {
    /// The parser for a path regardless of the file's mode; `None` for other files.
    pub(crate) fn for_path(path: &str) -> Option<Self> {
        Some(if os_release::matches(path) {
            Self::OsRelease
        } else if dpkg::matches(path) {
            Self::Dpkg
        } else if apk::matches(path) {
            Self::Apk
        } else if rpm::matches(path) {
            Self::Rpm
        } else if cargo::matches(path) {
            Self::CargoLock
        } else if npm::matches_lock(path) {
            Self::NpmLock
        } else if npm::matches_package_json(path) {
            Self::NpmPackage
        } else if python::matches(path) {
            Self::Python
        } else if java::matches(path) {
            Self::Jar
        } else {
            return None;
        })
    }

    /// The parser for a regular file.
    pub(crate) fn for_file(path: &str, mode: u32, size: u64) -> Option<Self> {
        Self::for_path(path)
            .or_else(|| golang::matches_candidate(mode, size).then_some(Self::GoBinary))
    }
}
