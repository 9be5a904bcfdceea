//! OSV advisories: reading records, storing them compactly, matching packages.

pub mod advisory;
pub mod import;
pub mod matcher;
pub mod memory;
pub mod record;
pub mod severity;

pub use advisory::{Advisory, Event, PackageKey, Range};
pub use matcher::{Finding, find, lookup_keys};
pub use severity::{Cvss, Severity};
