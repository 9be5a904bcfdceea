//! Version ordering per ecosystem: dpkg, apk, RPM, SemVer, Go, PEP 440 and Maven.

use std::cmp::Ordering;

/// How an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian and Ubuntu (Debian Policy 5.6.12).
    Dpkg,
    /// Alpine and Wolfi (apk-tools `version.c`).
    Apk,
    /// RPM distributions (`rpmvercmp`, epoch and release).
    Rpm,
    /// Semantic Versioning 2.0 (crates.io, npm).
    SemVer,
    /// Go modules: SemVer with a `v` prefix, pseudo-versions.
    Go,
    /// Python (PEP 440).
    Pep440,
    /// Maven's ComparableVersion.
    Maven,
}

/// Orders `a` and `b` under `scheme`; `None` when either is not a version of the scheme.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Option<Ordering> {
    let _ = (scheme, a, b);
    todo!("version comparison")
}
