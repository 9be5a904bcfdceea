//! Harbor-rs's built-in vulnerability scanner, pure and embeddable.
//!
//! - [`inventory`]: walks an image's layers (streamed, whiteouts applied) and finds the
//!   installed packages: dpkg, apk, RPM, Cargo, npm, Python, Go binaries, Java jars.
//! - [`version`]: version ordering per ecosystem.
//! - [`osv`]: OSV advisories and matching a package against them.
//! - [`sbom`]: the inventory as SPDX 2.3 and CycloneDX 1.5 JSON.

pub mod codec;
pub mod error;
pub mod fixtures;
pub mod inventory;
pub mod osv;
pub mod package;
pub mod sbom;
pub mod version;

pub use error::ScanError;
pub use package::{Package, PackageKind};
