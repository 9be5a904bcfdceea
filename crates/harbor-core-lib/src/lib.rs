//! The Harbor-rs domain core.
//!
//! Pure rules (digests, names, manifests) and the [`Registry`] service that implements
//! every OCI distribution operation on top of two ports, [`ports::BlobStore`] and
//! [`ports::MetadataStore`]. No HTTP, SQL or object-storage code lives here: adapters
//! come from `harbor-storage`, the HTTP shell from `harbor-server`.

#![warn(missing_docs)]

pub mod artifact;
pub mod digest;
pub mod doublestar;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod gc;
pub mod groups;
pub mod identity;
pub mod immutable;
pub mod jobs;
pub mod labels;
pub mod manifest;
pub mod model;
pub mod names;
pub mod oidc;
pub mod ports;
pub mod project_meta;
pub mod quota;
pub mod rbac;
pub mod registry;
pub mod replication;
pub mod retention;
pub mod scan;
pub mod signature;
pub mod webhook;

pub use digest::{Algorithm, Digest, Hasher};
pub use error::{Error, OciCode, Result};
pub use names::{Reference, RepositoryName, Tag};
pub use registry::{Registry, RegistryConfig};
