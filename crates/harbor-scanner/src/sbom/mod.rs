//! Software bills of materials: an image inventory as SPDX 2.3 or CycloneDX 1.5 JSON.

mod cyclonedx;
mod purl;
mod spdx;

pub use cyclonedx::cyclonedx;
pub use purl::purl;
pub use spdx::spdx;

/// The SBOM's subject and provenance.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    /// The artifact's repository, `library/nginx`.
    pub repository: &'a str,
    /// The artifact's manifest digest.
    pub digest: &'a str,
    /// When it was generated, RFC 3339 (`2026-12-06T10:00:00Z`).
    pub created: &'a str,
    /// The generating tool, `Harbor-rs scanner`, and its version.
    pub tool: &'a str,
    pub tool_version: &'a str,
}

/// The SPDX media type.
pub const SPDX_JSON: &str = "application/spdx+json";
/// The CycloneDX media type.
pub const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";
